"""The benchmarks run end to end at a tiny size and report what issue 16 asks of them.

Nothing here judges speed (the machine is shared and noisy): the tests check that ``--repeat``
interleaves the sides, that every figure comes as a median with its range, and that the run ends
with the targets table, one verdict per target. bench_pipeline talks to the real broker.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: a median then its range over the rounds, such as ``12.3 µs/event (11.0–14.2)``; tiny runs can give negative
#: steady-state figures (CPU on N events within the noise of CPU on one)
SPREAD = r"-?[\d,.]+[^(\n]* \(-?[\d,.]+–-?[\d,.]+\)"


def bench(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], capture_output=True,
                          text=True, cwd=ROOT, env={**os.environ, **(env or {})}, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def verdicts(out: str) -> dict[str, str]:
    """The targets table: target name -> MET / NOT MET."""
    table = out[out.index("targets (issue 16, item 5):"):].splitlines()[2:]
    return {line.split("  ")[1].strip(): line.rsplit("  ", 1)[1].strip() for line in table if line.strip()}


def test_bench_pipeline_repeats_interleaved_sides_and_prints_medians_ranges_and_targets(kafka_bootstrap: str) -> None:
    out = bench("bench_pipeline.py", "--events", "60", "--repeat", "2",
                env={"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap})
    kafka_order = re.findall(r"^  (ours|floor: client|floor: ours|reference|ref cached) #(\d)", out, re.M)
    assert kafka_order[:10] == [(side, str(n)) for n in (1, 2) for side in
                                ("ours", "floor: client", "floor: ours", "reference", "ref cached")]
    medians = out[out.index("medians (min-max) over 2 round(s):"):]
    for side in ("ours", "floor: client", "floor: ours", "reference", "ref cached"):
        assert re.search(rf"^  {re.escape(side)} .*µs CPU/event", medians, re.M), side
    assert re.search(rf"pipeline work on top of it: {SPREAD} µs CPU/event", out)
    assert re.search(rf"ours vs reference: {SPREAD}x the throughput", out)
    steady = out[out.index("files output (--output files:, no broker)"):]
    assert re.findall(r"^  (ours|reference) #(\d)", steady, re.M)[:4] == [
        ("ours", "1"), ("reference", "1"), ("ours", "2"), ("reference", "2")]
    assert re.search(rf"^  ours +{SPREAD} µs CPU/event", steady, re.M)
    assert re.search(rf"^  reference +{SPREAD} µs CPU/event", steady, re.M)
    assert re.search(rf"ours vs reference \(files\): {SPREAD}x less CPU per event at steady state", steady)
    assert verdicts(out).keys() == {"pipeline work on top of the client floor",
                                    "end to end vs the reference (throughput)",
                                    "files mode: steady-state CPU vs the reference"}
    assert set(verdicts(out).values()) <= {"MET", "NOT MET"}


def test_bench_event_repeats_and_prints_medians_ranges_and_the_codec_target() -> None:
    out = bench("bench_event.py", "--events", "200", "--rounds", "1", "--repeat", "2", "--skip-memory")
    assert "2 repetition(s)" in out
    for path in ("parse_line + canonical.to_json (native)", "SDK transform + json.dumps"):
        assert re.search(rf"^  {re.escape(path)} *: {SPREAD} +[\d,]+ events/s  {SPREAD} the SDK", out, re.M), path
    assert verdicts(out).keys() == {"codec: parse + canonical JSON vs the SDK (samples)"}
    assert set(verdicts(out).values()) <= {"MET", "NOT MET"}
