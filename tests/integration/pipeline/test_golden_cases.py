"""Golden cases: ``tests/cases/<name>/{config.yaml, input.tsv, expected/}`` through ``sptk pipeline run``.

This test only compares; ``scripts/update-golden`` rewrites the expected files (review the diff).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cases.golden import CASES, case_names, raw_expected, run_case


@pytest.mark.parametrize("case", case_names())
def test_golden_case(case: str, tmp_path: Path) -> None:
    run = run_case(case, tmp_path / "out")
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.raw == raw_expected(case)
    got = run.outputs
    summary = json.loads(got["summary.json"])
    assert summary["in"] == summary["enriched"] + summary["filtered"] + summary["bad"]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == summary
    expected_dir = CASES / case / "expected"
    expected = {p.name: p.read_text(encoding="utf-8") for p in sorted(expected_dir.iterdir())}
    assert sorted(got) == sorted(expected), "streams written differ from the expected files"
    for name in expected:
        assert got[name] == expected[name], (f"{case}/{name} differs from tests/cases/{case}/expected/{name} "
                                             "(after a deliberate change: scripts/update-golden, review the diff)")
