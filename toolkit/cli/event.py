"""`sptk event`: convert enriched TSV to JSON under a profile, and canonical JSON back to TSV.

Both commands stream: one line in, one line out, in input order, so a file of
any size runs in constant memory. A line that fails becomes a Snowplow bad row
on ``--bad`` (standard error by default) and the exit code is 1; nothing is
dropped silently. An input that cannot be read at all is exit 2 (docs/cli.md).
Progress goes to standard error only where it cannot mix with bad rows a script
reads there: with ``--bad``, a bar on a terminal or a line every few seconds
otherwise; without it, a bar on a terminal only.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

import click

from toolkit.cli.conventions import CommandFailed, write_file
from toolkit.contract.badrows import BadRow, generic_error
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.profiles import PROFILES, ProfileError, to_json
from toolkit.contract.profiles.canonical import parse_canonical
from toolkit.contract.samples import SampleSpec, SampleStats, generate
from toolkit.contract.tsv import ParseFailure, parse_line
from toolkit.progress import Progress, progress

GZIP_MAGIC = b"\x1f\x8b"
#: failures listed one by one on standard error when bad rows go to a file; the rest are counted
LISTED_FAILURES = 20
#: progress is counted every this many lines: per line, its bookkeeping cost a fifth of a conversion
PROGRESS_EVERY = 256


@click.group()
def event() -> None:
    """Parse enriched TSV lines and convert events between TSV and JSON profiles."""


def _open(path: str, stack: ExitStack) -> tuple[BinaryIO, BinaryIO]:
    """The lines' stream (decompressed if gzip) and the file under it, whose position is the input read."""
    raw: BinaryIO = sys.stdin.buffer if path == "-" else stack.enter_context(open(path, "rb"))  # noqa: SIM115
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == GZIP_MAGIC:  # .gz files, and gzip piped into standard input
        return stack.enter_context(gzip.GzipFile(fileobj=buffered, mode="rb")), buffered  # type: ignore[return-value]
    return buffered, buffered  # type: ignore[return-value]


def _lines(paths: tuple[str, ...], shown: Progress) -> Iterator[tuple[str, int, bytes]]:
    """Each line with its input and number; ``shown`` counts input bytes (stdin: the lines' own)."""
    for path in paths or ("-",):
        name = "<stdin>" if path == "-" else path
        with ExitStack() as stack:
            try:
                stream, raw = _open(path, stack)
                at = unshown = 0
                for number, line in enumerate(stream, 1):
                    yield name, number, line
                    unshown += len(line)
                    if number % PROGRESS_EVERY == 0:
                        at, unshown = _count(shown, raw, path, at, unshown)
                _count(shown, raw, path, at, unshown)
            except (OSError, EOFError) as exc:  # includes gzip.BadGzipFile
                raise CommandFailed(f"cannot read {name}: {exc}") from None  # not one bad line: the input


def _count(shown: Progress, raw: BinaryIO, path: str, at: int, unshown: int) -> tuple[int, int]:
    """Advance ``shown`` by the input read since ``at``: the file's position, or on stdin the lines' bytes."""
    if path == "-":
        shown.advance(unshown)
        return at, 0
    here = raw.tell()
    shown.advance(here - at)
    return here, 0


class _Run:
    """Counts, writes and reports one command's lines."""

    def __init__(self, bad_path: str | None, stack: ExitStack) -> None:
        self.out = sys.stdout.buffer
        self.bad_path = bad_path
        self.bad = stack.enter_context(open(bad_path, "wb")) if bad_path else sys.stderr.buffer  # noqa: SIM115
        self.read = self.written = self.failed = 0

    def good(self, data: bytes) -> None:
        self.out.write(data)
        self.out.write(b"\n")
        self.written += 1

    def fail(self, where: str, reason: str, bad_row: BadRow) -> None:
        self.failed += 1
        self.bad.write(bad_row.to_json())
        self.bad.write(b"\n")
        if self.bad_path and self.failed <= LISTED_FAILURES:
            click.echo(f"{where}: {reason}", err=True)

    def finish(self, command: str) -> None:
        self.out.flush()
        self.bad.flush()
        if self.bad_path:
            more = self.failed - LISTED_FAILURES
            if more > 0:
                click.echo(f"... and {more} more failed line{'s' if more != 1 else ''}", err=True)
            click.echo(f"{command}: {self.read} lines read, {self.written} written, {self.failed} failed"
                       + (f" (bad rows in {self.bad_path})" if self.failed else ""), err=True)
        if self.failed:
            sys.exit(1)


def _stream(command: str, files: tuple[str, ...], bad: str | None,
            convert: Callable[[bytes], EnrichedEvent | ParseFailure], render: Callable[[EnrichedEvent], bytes]
            ) -> None:
    with ExitStack() as stack:
        run = _Run(bad, stack)
        total = None if not files or "-" in files else sum(os.path.getsize(f) for f in files)
        shown = stack.enter_context(progress(command, total, unit="bytes", detail=lambda: f"{run.read:,} lines",
                                             mode="auto" if bad else "terminal"))
        try:
            for name, number, line in _lines(files, shown):
                run.read += 1
                result = convert(line)
                where = f"{name}:{number}"
                if isinstance(result, ParseFailure):
                    run.fail(where, result.reason, result.bad_row())
                    continue
                try:
                    run.good(render(result))
                except ProfileError as exc:
                    run.fail(where, str(exc), generic_error(result.line, [str(exc)]))
            shown.close()
            run.finish(command)
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
            sys.stdout = None  # type: ignore[assignment]  # nothing left to flush at exit
            sys.exit(1 if run.failed else 0)


_FILES = click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
_BAD = click.option("--bad", metavar="FILE", type=click.Path(dir_okay=False, writable=True),
                    help="Write bad rows here (one JSON per line) instead of standard error, and list the "
                         "failed lines with their reasons on standard error.")


@event.command("to-json")
@_FILES
@click.option("--profile", type=click.Choice(list(PROFILES)), default="canonical", show_default=True,
              help="JSON shape: " + "; ".join(f"{p.name}: {p.summary}" for p in PROFILES.values()) + ".")
@_BAD
def to_json_command(files: tuple[str, ...], profile: str, bad: str | None) -> None:
    """Convert enriched TSV (FILES, .gz too, or standard input) to one JSON object per line.

    Output goes to standard output in input order. A line that is not a valid
    enriched event becomes a loader_parsing_error bad row; an event the chosen
    SDK profile could not have written becomes a generic_error bad row. The exit
    code is 1 when any line failed.
    """
    _stream("to-json", files, bad, parse_line, lambda e: to_json(e, profile))


@event.command("to-tsv")
@_FILES
@_BAD
def to_tsv_command(files: tuple[str, ...], bad: str | None) -> None:
    """Convert canonical JSON (one object per line, as `to-json` writes) back to enriched TSV lines.

    The TSV is the original line byte for byte. An object that does not describe
    a valid event (or says something the rebuilt event would not) becomes a
    loader_parsing_error bad row naming the key; the exit code is then 1.
    """
    _stream("to-tsv", files, bad, parse_canonical, lambda e: e.line.encode())


@event.command("sample")
@click.option("--events", type=click.IntRange(min=1), default=1000, show_default=True, help="Events to generate.")
@click.option("--seed", type=int, default=42, show_default=True, help="The same seed gives the same lines.")
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]), default="2026-11-01",
              show_default=True, help="collector_tstamp of the first event (UTC).")
@click.option("--hours", type=click.FloatRange(min=0.001), default=6.0, show_default=True,
              help="Time span the events cover.")
@click.option("--parse-failures", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="Share of lines broken so the parser must reject them.")
@click.option("--schema-failures", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="Share of lines whose entities violate their schema.")
@click.option("--late", type=click.FloatRange(0, 1), default=0.01, show_default=True,
              help="Share of events arriving three hours after their collector_tstamp.")
@click.option("--duplicates", type=click.FloatRange(0, 1), default=0.005, show_default=True,
              help="Share of lines sent twice (natural duplicates).")
@click.option("--stats", "stats_path", type=click.Path(dir_okay=False, writable=True),
              help="Write what the sample contains (counts by event, failure and kind) to this JSON file.")
def sample_command(events: int, seed: int, start: datetime, hours: float, parse_failures: float,
                   schema_failures: float, late: float, duplicates: float, stats_path: str | None) -> None:
    """Write realistic enriched TSV lines to stdout (demo, load tests, benchmarks).

    Events use the project's example schemas (examples/iglu), so
    examples/iglu/resolver.json validates them without a network.
    """
    spec = SampleSpec(events=events, seed=seed, start=start.replace(tzinfo=UTC), duration=timedelta(hours=hours),
                      parse_failure_ratio=parse_failures, schema_failure_ratio=schema_failures,
                      late_ratio=late, duplicate_ratio=duplicates)
    stats = SampleStats()
    out = sys.stdout
    for line in generate(spec, stats):
        out.write(line)
        out.write("\n")
    out.flush()
    if stats_path:
        document = json.dumps(asdict(stats) | {"expected_good": stats.expected_good}, indent=2, sort_keys=True)
        write_file(stats_path, (document + "\n").encode(), "stats")
