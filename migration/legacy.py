"""The legacy path: archived enriched TSV loaded the way Snowplow's batch loaders did.

Each input file is one legacy *batch* (a run folder's file), so ``in-batch``
deduplication collapses natural duplicates within a file, ``cross-batch`` also
against everything already loaded (the event-manifest mode), and ``none`` keeps
every line. Lines that do not parse become ``loader_parsing_error`` bad rows and
rows the warehouse cannot hold become ``generic_error`` bad rows, both in
``<schema>.bad_rows`` with their file and line, so nothing read is ever lost.

Files are chosen and read exactly as the pipeline's ``dir`` source chooses and reads
them (:func:`connectors.sources.discover`, gzip recognised by content), so an archive
the pipeline backfills is the archive the legacy path loads: Snowplow's own layout
names files ``part-00000`` with no suffix, next to ``_SUCCESS`` markers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from connectors.sources import SourceError, discover
from connectors.sources.lines import iter_lines, open_binary
from connectors.warehouse.bad_rows import BadRowRecord
from connectors.warehouse.loader import Dedup, LoadReport, Warehouse
from connectors.warehouse.rows import Provenance
from toolkit.contract.profiles.canonical import to_dict
from toolkit.contract.tsv import ParseFailure, parse_line
from toolkit.progress import Mode, Progress, progress

EVENT_ID_POSITION = 6


class InputFailed(RuntimeError):
    """An input file could not be read to the end (a cut-off archive, a permission problem)."""


class NothingToLoad(InputFailed):
    """The input names no file to load: it does not exist, or no file of the directory matches the pattern."""


@dataclass(slots=True)
class LegacyLoadReport:
    files: int = 0
    lines: int = 0
    parse_failures: int = 0
    load: LoadReport = field(default_factory=LoadReport)
    bad_rows_written: int = 0

    def summary(self) -> str:
        return (f"{self.files} files, {self.lines} lines: {self.load.summary()}; "
                f"unparsable lines {self.parse_failures}; bad rows written {self.bad_rows_written}")


def tsv_files(path: str | Path, pattern: str = "*") -> list[Path]:
    """The files a load reads: ``path`` itself, or the files of directory ``path`` the ``dir`` source would read."""
    root = Path(path)
    if root.is_dir():
        found = discover(root, pattern)
        if not found:
            matching = f" matching {pattern!r}" if pattern != "*" else ""
            raise NothingToLoad(f"no files to load under {root}{matching} (names starting with '.' or '_', such as "
                                f"_SUCCESS, are skipped); check --input and --pattern")
        return found
    if not root.exists():
        raise NothingToLoad(f"{root} does not exist; --input takes a file or a directory of archived enriched TSV")
    return [root]


def file_lines(file: Path, shown: Progress | None = None) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of one file, gzip too (by content); blank lines are skipped.

    ``shown`` is advanced by the input bytes read, so a display can say how far the file is.
    """
    try:
        reader, raw = open_binary(file)
    except SourceError as exc:
        raise InputFailed(str(exc)) from exc
    counted = 0
    try:
        for line in iter_lines(reader, name=str(file)):
            if shown is not None:
                here = raw.tell()
                shown.advance(here - counted)
                counted = here
            if line.raw.strip():
                yield line.number, line.raw.rstrip(b"\r\n")
    except SourceError as exc:
        raise InputFailed(str(exc)) from exc
    finally:
        reader.close()
        raw.close()


def _event_id_of(line: bytes) -> str | None:
    fields = line.split(b"\t")
    if len(fields) > EVENT_ID_POSITION and len(fields[EVENT_ID_POSITION]) == 36:
        return fields[EVENT_ID_POSITION].decode("ascii", "replace")
    return None


def parsed_rows(file: Path, failures: list[BadRowRecord],
                shown: Progress | None = None) -> Iterator[tuple[dict[str, Any], Provenance]]:
    """Canonical rows of a TSV file; lines that do not parse are appended to ``failures`` as bad rows."""
    name = str(file)
    for number, line in file_lines(file, shown):
        provenance = Provenance.file_line(name, number)
        result = parse_line(line)
        if isinstance(result, ParseFailure):
            failures.append(BadRowRecord(_event_id_of(line), "loader_parsing_error",
                                         orjson.dumps(result.failure()).decode()[:2000], provenance))
            continue
        yield to_dict(result), provenance


def legacy_load(files: Sequence[Path], warehouse: Warehouse, dedup: Dedup, batch_size: int = 50_000, *,
                progress_mode: Mode = "off") -> LegacyLoadReport:
    """Load ``files`` (see :func:`tsv_files`) into ``warehouse``, one batch per file; idempotent by file and line.

    ``progress_mode`` shows how far the load is on stderr (see :mod:`toolkit.progress`).
    """
    report = LegacyLoadReport()
    with progress("legacy-load", sum(f.stat().st_size for f in files), unit="bytes", mode=progress_mode,
                  detail=lambda: f"{report.files}/{len(files)} files, {report.lines:,} lines loaded") as shown:
        for file in files:
            failures: list[BadRowRecord] = []
            counted = _Counted(parsed_rows(file, failures, shown))
            loaded = warehouse.load(counted, dedup, batch_size=batch_size, whole_call_is_one_batch=True)
            report.files += 1
            report.lines += counted.count + len(failures)
            report.parse_failures += len(failures)
            report.load.add(loaded)
            failures += [BadRowRecord(p.event_id, "generic_error", "; ".join(p.reasons), p.provenance)
                         for p in loaded.problems]
            report.bad_rows_written += warehouse.load_bad_rows(failures)
    return report


class _Counted:
    def __init__(self, rows: Iterator[tuple[dict[str, Any], Provenance]]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[tuple[dict[str, Any], Provenance]]:
        for row in self.rows:
            self.count += 1
            yield row
