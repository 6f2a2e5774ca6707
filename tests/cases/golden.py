"""One golden case run: ``tests/cases/<name>/{config.yaml, input.tsv}`` through ``sptk pipeline run``.

Shared by the test that compares the outputs with ``expected/``
(``tests/integration/pipeline/test_golden_cases.py``) and by the command that rewrites ``expected/``
(``scripts/update-golden``), so both see exactly the same normalised outputs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from tests.integration.pipeline.conftest import ROOT, sptk

CASES = ROOT / "tests" / "cases"
ENV = {"SPTK_GOLDEN_PSEUDONYMISATION_KEY": "golden-cases-key"}


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if (p / "config.yaml").exists())


@dataclass(frozen=True)
class CaseRun:
    """What one run of a case wrote: the raw stream's bytes and every other stream file, normalised."""

    returncode: int
    stdout: str
    stderr: str
    raw: bytes
    outputs: dict[str, str]


def run_case(case: str, out_dir: Path) -> CaseRun:
    folder = CASES / case
    result = sptk("pipeline", "run", "--config", str(folder / "config.yaml"), "--output", f"files:{out_dir}",
                  "--no-serve", env=ENV)
    if result.returncode != 0:
        return CaseRun(result.returncode, result.stdout, result.stderr, b"", {})
    return CaseRun(result.returncode, result.stdout, result.stderr, (out_dir / "raw.tsv").read_bytes(),
                   outputs(out_dir))


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


def raw_expected(case: str) -> bytes:
    """Every input line, byte for byte, except those a case's limits keep out of the raw topic."""
    folder = CASES / case
    lines = (folder / "input.tsv").read_bytes().split(b"\n")[:-1]
    limit = re.search(r"raw:\s*\n\s*max_message_bytes:\s*(\d+)", (folder / "config.yaml").read_text())
    if limit:
        lines = [x for x in lines if len(x) < int(limit.group(1)) - 500]
    return b"".join(x + b"\n" for x in lines)
