"""Golden cases: ``tests/cases/<name>/{config.yaml, input.tsv, expected/}`` through ``sptk pipeline run``.

``SPTK_UPDATE_GOLDEN=1`` rewrites the expected files instead of comparing (review the diff).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.integration.pipeline.conftest import ROOT, sptk

CASES = ROOT / "tests" / "cases"
UPDATE = os.environ.get("SPTK_UPDATE_GOLDEN", "") not in ("", "0")
ENV = {"SPTK_GOLDEN_PSEUDONYMISATION_KEY": "golden-cases-key"}


def normalise(line: str) -> str:
    """A bad row with its run-dependent values (time, toolkit version) replaced by placeholders."""
    row = json.loads(line)
    data = row.get("data", {})
    if "processor" in data:
        data["processor"]["version"] = "<version>"
    failure = data.get("failure", {})
    if "timestamp" in failure:
        failure["timestamp"] = "<timestamp>"
    if "actualSizeBytes" in failure:
        # The size counts the sp.source header, which holds the checkout's absolute path; what must
        # hold everywhere is that the message was over the limit.
        assert failure["actualSizeBytes"] > failure["maximumAllowedSizeBytes"], failure
        failure["actualSizeBytes"] = "<over the limit>"
    for message in failure.get("messages", []) if isinstance(failure.get("messages"), list) else []:
        for history in (message.get("error") or {}).get("lookupHistory", []):
            history["lastAttempt"] = "<timestamp>"
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def outputs(directory: Path) -> dict[str, str]:
    out = {}
    for path in sorted(directory.iterdir()):
        if path.name == "raw.tsv":
            continue
        text = path.read_text(encoding="utf-8")
        if path.name == "bad.jsonl":
            text = "".join(normalise(x) + "\n" for x in text.splitlines())
        out[path.name] = text
    return out


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if (p / "config.yaml").exists()))
def test_golden_case(case: str, tmp_path: Path) -> None:
    folder = CASES / case
    result = sptk("pipeline", "run", "--config", str(folder / "config.yaml"), "--output", f"files:{tmp_path / 'out'}",
                  "--no-serve", env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "out" / "raw.tsv").read_bytes() == _raw_expected(folder)
    got = outputs(tmp_path / "out")
    summary = json.loads(got["summary.json"])
    assert summary["in"] == summary["enriched"] + summary["filtered"] + summary["bad"]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == summary
    expected_dir = folder / "expected"
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        expected_dir.mkdir()
        for name, text in got.items():
            (expected_dir / name).write_text(text, encoding="utf-8")
        return
    expected = {p.name: p.read_text(encoding="utf-8") for p in sorted(expected_dir.iterdir())}
    assert sorted(got) == sorted(expected), "streams written differ from the expected files"
    for name in expected:
        assert got[name] == expected[name], f"{case}/{name} differs from tests/cases/{case}/expected/{name}"


def _raw_expected(folder: Path) -> bytes:
    """Every input line, byte for byte, except those a case's limits keep out of the raw topic."""
    lines = (folder / "input.tsv").read_bytes().split(b"\n")[:-1]
    limit = re.search(r"raw:\s*\n\s*max_message_bytes:\s*(\d+)", (folder / "config.yaml").read_text())
    if limit:
        lines = [x for x in lines if len(x) < int(limit.group(1)) - 500]
    return b"".join(x + b"\n" for x in lines)
