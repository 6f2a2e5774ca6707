"""Rewrite golden cases' ``expected/`` from what the pipeline writes now: ``scripts/update-golden [CASE...]``.

The only way expected files change (a test run never rewrites them); review ``git diff tests/cases`` after.
A case whose run fails, or whose raw stream is not its input, is left untouched and the command exits 1.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from tests.cases.golden import CASES, case_names, raw_expected, run_case


def update(case: str) -> str | None:
    """Rewrite one case's ``expected/``; the reason it was not rewritten, or None."""
    with tempfile.TemporaryDirectory(prefix=f"golden-{case}-") as tmp:
        run = run_case(case, Path(tmp) / "out")
    if run.returncode != 0:
        return f"sptk pipeline run exited {run.returncode}: {run.stderr.strip()[-2000:]}"
    if run.raw != raw_expected(case):
        return "the raw stream is not the case's input.tsv; fix the pipeline, not the expected files"
    expected_dir = CASES / case / "expected"
    shutil.rmtree(expected_dir, ignore_errors=True)
    expected_dir.mkdir()
    for name, text in run.outputs.items():
        (expected_dir / name).write_text(text, encoding="utf-8")
    return None


def main(argv: list[str] | None = None) -> int:
    known = case_names()
    parser = argparse.ArgumentParser(prog="scripts/update-golden", description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", metavar="CASE", help=f"cases to rewrite (default: all: {', '.join(known)})")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.cases) - set(known))
    if unknown:
        parser.error(f"no such case: {', '.join(unknown)} (cases: {', '.join(known)})")
    failed = 0
    for case in args.cases or known:
        problem = update(case)
        print(f"update-golden: {case}: {problem or 'expected/ rewritten'}", file=sys.stderr if problem else sys.stdout)
        failed += problem is not None
    if not failed:
        print("update-golden: review the change with: git diff tests/cases")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
