"""Parse + canonical JSON against Snowplow's Python analytics SDK, side by side in one run.

For each input set the same lines go through

* ours: ``toolkit.tsv.parse_line`` (the full typed parse: every field checked) then
  ``toolkit.profiles.canonical.to_json`` (orjson), and
* theirs: ``snowplow_analytics_sdk.event_transformer.transform`` then ``json.dumps``,

chunk by chunk, back to back, so both see the same machine load; the figures are
medians over the chunks (CPU time). It prints µs/event, events/s and the ratio, proves the
``python-sdk`` profile still gives the SDK's bytes on every line, and measures
peak memory of ``sptk event to-json`` streaming a small and a large gzip file
(flat memory means the file is streamed, never loaded whole).

    .venv/bin/python benchmarks/bench_event.py             # modest sizes, a minute or two
    .venv/bin/python benchmarks/bench_event.py --big       # adds the 1M-line memory run

Not a test: it prints figures, it does not judge them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from snowplow_analytics_sdk.event_transformer import transform

from toolkit.event import EnrichedEvent
from toolkit.profiles import to_json
from toolkit.profiles.canonical import to_json as canonical_json
from toolkit.samples import SampleSpec, generate
from toolkit.tsv import parse_line

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures" / "enriched"


def input_sets(events: int) -> dict[str, list[str]]:
    """Synthetic web events from the project's generator, and Snowplow's own fixture lines when present."""
    spec = SampleSpec(events=events, parse_failure_ratio=0, schema_failure_ratio=0)
    sets = {"samples (toolkit.samples: 2-4 entities, ~1.2 KB)": list(generate(spec))}
    if SHARED_FIXTURES.is_dir():
        lines = [p.read_text(encoding="utf-8").rstrip("\n") for p in sorted(SHARED_FIXTURES.glob("*.tsv"))]
        lines = [line for line in lines if isinstance(parse_line(line), EnrichedEvent)]
        repeat = max(1, events // max(1, len(lines)))
        sets[f"snowplow fixtures ({len(lines)} real lines: up to 22 entities, ~3 KB)"] = lines * repeat
    return sets


def ours(lines: list[str]) -> None:
    for line in lines:
        canonical_json(parse_line(line))  # type: ignore[arg-type]


def theirs(lines: list[str]) -> None:
    for line in lines:
        json.dumps(transform(line))


def _seconds(fn: Callable[[list[str]], None], lines: list[str]) -> float:
    start = time.process_time()
    fn(lines)
    return time.process_time() - start


def compare(name: str, lines: list[str], rounds: int, chunk: int = 100) -> None:
    """Time both on the same chunk back to back, many times over; report medians.

    The machine is shared, so load drifts over seconds; a ratio taken per chunk
    pairs the two measurements under the same load, and the median of many
    chunks ignores the ones a neighbour's burst spoiled.
    """
    ours_us, theirs_us, ratios = [], [], []
    chunks = [lines[i:i + chunk] for i in range(0, len(lines), chunk)]
    for round_number in range(rounds):
        for part in chunks:
            if round_number % 2:  # alternate who goes first, so neither always finds the lines in a warm cache
                b, a = _seconds(theirs, part), _seconds(ours, part)
            else:
                a, b = _seconds(ours, part), _seconds(theirs, part)
            if a > 0 and b > 0:
                ours_us.append(a / len(part) * 1e6)
                theirs_us.append(b / len(part) * 1e6)
                ratios.append(b / a)
    a, b, ratio = statistics.median(ours_us), statistics.median(theirs_us), statistics.median(ratios)
    print(f"\n{name}: {len(lines)} lines x {rounds} rounds, {len(ratios)} paired chunks of {chunk} (medians, CPU time)")
    print(f"  parse + canonical JSON (orjson): {a:8.1f} us/event {1e6 / a:10,.0f} events/s")
    print(f"  SDK transform + json.dumps     : {b:8.1f} us/event {1e6 / b:10,.0f} events/s")
    print(f"  ratio: {ratio:.2f}x the SDK (quartiles {statistics.quantiles(ratios, n=4)[0]:.2f}"
          f"-{statistics.quantiles(ratios, n=4)[2]:.2f})")
    parity = sum(to_json(parse_line(line), "python-sdk") == json.dumps(transform(line)).encode()  # type: ignore[arg-type]
                 for line in lines)
    print(f"  python-sdk profile parity: {parity}/{len(lines)} lines byte-identical to json.dumps(transform(line))")


def _peak_rss_kib(command: list[str], stdout: int) -> tuple[int, float]:
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed with exit code {process.returncode}")
    return usage.ru_maxrss, time.perf_counter() - start


def memory(sizes: list[int]) -> None:
    print("\nmemory: peak RSS of `sptk event to-json` streaming a gzip file to /dev/null")
    sample = list(generate(SampleSpec(events=1000, parse_failure_ratio=0.01, schema_failure_ratio=0)))
    sptk = str(Path(sys.executable).with_name("sptk"))
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = Path(tmp) / f"{size}.tsv.gz"
            with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
                for i in range(size):
                    out.write(sample[i % len(sample)])
                    out.write("\n")
            with open(os.devnull, "wb") as devnull:
                peak, seconds = _peak_rss_kib([sptk, "event", "to-json", "--bad", os.devnull, str(path)],
                                              devnull.fileno())
            print(f"  {size:>9,} lines: peak RSS {peak / 1024:7.1f} MiB, {seconds:7.1f} s wall "
                  f"({size / seconds:,.0f} lines/s end to end, gzip and I/O included)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000, help="lines per input set (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="passes over each input set (default 5)")
    parser.add_argument("--big", action="store_true", help="also stream a 1,000,000-line file (minutes)")
    args = parser.parse_args()
    for name, lines in input_sets(args.events).items():
        compare(name, lines, args.rounds)
    memory([10_000, 100_000] + ([1_000_000] if args.big else []))


if __name__ == "__main__":
    main()
