"""Parse + canonical JSON against Snowplow's Python analytics SDK, side by side in one run.

For each input set the same lines go through

* native: ``toolkit.contract.tsv.parse_line`` then ``toolkit.contract.profiles.canonical.to_json``, the public
  functions every
  caller uses, which take the compiled fast path (``sptk_native``) when it is installed and fall back to the
  Python parser for the lines it declines;
* pure Python: ``toolkit.contract.tsv.parse_line_python`` then ``canonical.to_json`` (the reference codec: the full
  typed parse, every field checked, orjson);
* the SDK: ``snowplow_analytics_sdk.event_transformer.transform`` then ``json.dumps``,

chunk by chunk, back to back (the order rotates), so all three see the same machine load; the figures are
medians over the chunks (CPU time), the ratios medians of per-chunk ratios. ``--repeat N`` does the whole
comparison N times and gives each figure's median and range (min-max) over them; the run ends with the
issue's target (codec >= 20x the SDK on the samples) next to the measured ratio, MET or NOT MET.
It prints µs/event, events/s and the ratios, how many lines the fast path took, proves on every line
that both paths give the same canonical bytes and that the ``python-sdk`` profile still gives the SDK's
bytes, and measures peak memory of ``sptk event to-json`` streaming a small and a large gzip file (flat
memory means the file is streamed, never loaded whole).

    .venv/bin/python benchmarks/bench_event.py             # modest sizes, a minute or two
    .venv/bin/python benchmarks/bench_event.py --big       # adds the 1M-line memory run
    .venv/bin/python benchmarks/bench_event.py --repeat 3  # medians and ranges of three repetitions

Not a test: it prints figures and says whether they meet the target; it asserts nothing.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figures import Spread, Target, spread, targets_table  # noqa: E402
from toolkit.contract import native_codec
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.profiles import to_json
from toolkit.contract.profiles.canonical import to_json as canonical_json
from toolkit.contract.samples import SampleSpec, generate
from toolkit.contract.tsv import parse_line, parse_line_python

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures" / "enriched"


def input_sets(events: int) -> dict[str, list[str]]:
    """Synthetic web events from the project's generator, and Snowplow's own fixture lines when present."""
    spec = SampleSpec(events=events, parse_failure_ratio=0, schema_failure_ratio=0)
    sets = {"samples (toolkit.contract.samples: 2-4 entities, ~1.2 KB)": list(generate(spec))}
    if SHARED_FIXTURES.is_dir():
        lines = [p.read_text(encoding="utf-8").rstrip("\n") for p in sorted(SHARED_FIXTURES.glob("*.tsv"))]
        lines = [line for line in lines if isinstance(parse_line(line), EnrichedEvent)]
        repeat = max(1, events // max(1, len(lines)))
        sets[f"snowplow fixtures ({len(lines)} real lines: up to 22 entities, ~3 KB)"] = lines * repeat
    return sets


def native(lines: list[str]) -> None:
    for line in lines:
        canonical_json(parse_line(line))  # type: ignore[arg-type]


def pure_python(lines: list[str]) -> None:
    for line in lines:
        canonical_json(parse_line_python(line))  # type: ignore[arg-type]


def sdk(lines: list[str]) -> None:
    for line in lines:
        json.dumps(transform(line))


PATHS: dict[str, Callable[[list[str]], None]] = {
    "parse_line + canonical.to_json (native)": native,
    "pure Python parse + canonical JSON": pure_python,
    "SDK transform + json.dumps": sdk,
}


def _seconds(fn: Callable[[list[str]], None], lines: list[str]) -> float:
    start = time.process_time()
    fn(lines)
    return time.process_time() - start


def measure(lines: list[str], rounds: int, chunk: int = 100) -> tuple[dict[str, float], dict[str, float]]:
    """One repetition: the three paths on the same chunk back to back, many times over; median µs and ratio.

    The machine is shared, so load drifts over seconds; a ratio taken per chunk
    pairs the measurements under the same load, and the median of many chunks
    ignores the ones a neighbour's burst spoiled.
    """
    names = list(PATHS)
    us: dict[str, list[float]] = {n: [] for n in names}
    ratios: dict[str, list[float]] = {n: [] for n in names}
    chunks = [lines[i:i + chunk] for i in range(0, len(lines), chunk)]
    for round_number in range(rounds):
        for part in chunks:
            order = names[round_number % 3:] + names[:round_number % 3]  # rotate who goes first
            seconds = {n: _seconds(PATHS[n], part) for n in order}
            if all(seconds.values()):
                for n in names:
                    us[n].append(seconds[n] / len(part) * 1e6)
                    ratios[n].append(seconds[names[-1]] / seconds[n])
    if not ratios[names[0]]:
        raise SystemExit("every chunk ran too fast for the CPU clock: raise --events")
    return ({n: statistics.median(us[n]) for n in names}, {n: statistics.median(ratios[n]) for n in names})


def compare(name: str, lines: list[str], rounds: int, repeat: int) -> Spread:
    """``repeat`` repetitions of :func:`measure`; each figure's median and range. Returns native's ratio to the SDK."""
    names = list(PATHS)
    runs = [measure(lines, rounds) for _ in range(repeat)]  # the paths already take turns within each
    taken = sum(native_codec.parse(line) is not None for line in lines)
    print(f"\n{name}: {len(lines)} lines x {rounds} rounds in chunks of 100, {repeat} repetition(s) (CPU time; "
          f"each figure the median over the chunks, then the median (min-max) over the repetitions); the fast "
          f"path took {taken}/{len(lines)} lines")
    for n in names:
        us = spread(run[0][n] for run in runs)
        ratio = spread(run[1][n] for run in runs)
        print(f"  {n:40s}: {us.show('.1f', ' us/event')}  {1e6 / us.median:10,.0f} events/s  "
              f"{ratio.show('.2f', 'x')} the SDK")
    same = sum(canonical_json(parse_line(line)) == canonical_json(parse_line_python(line))  # type: ignore[arg-type]
               for line in lines)
    print(f"  canonical parity: {same}/{len(lines)} lines byte-identical between the native and pure-Python paths")
    parity = sum(to_json(parse_line(line), "python-sdk") == json.dumps(transform(line)).encode()  # type: ignore[arg-type]
                 for line in lines)
    print(f"  python-sdk profile parity: {parity}/{len(lines)} lines byte-identical to json.dumps(transform(line))")
    return spread(run[1][names[0]] for run in runs)


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
    parser.add_argument("--repeat", type=int, default=1,
                        help="repetitions of the whole comparison; figures are medians and ranges over them (1)")
    parser.add_argument("--big", action="store_true", help="also stream a 1,000,000-line file (minutes)")
    parser.add_argument("--skip-memory", action="store_true", help="do not measure peak memory of `sptk event to-json`")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    print(native_codec.STATUS)
    codec = None
    for name, lines in input_sets(args.events).items():
        ratio = compare(name, lines, args.rounds, args.repeat)
        codec = codec or ratio  # the target is judged on the samples, the first set
    if not args.skip_memory:
        memory([10_000, 100_000] + ([1_000_000] if args.big else []))
    print(targets_table([Target("codec: parse + canonical JSON vs the SDK (samples)", 20, True, "x", codec)]))


if __name__ == "__main__":
    main()
