"""The legacy path: archived enriched TSV loaded the way Snowplow's batch loaders did.

Each input file is one legacy *batch* (a run folder's file), so ``in-batch``
deduplication collapses natural duplicates within a file, ``cross-batch`` also
against everything already loaded (the event-manifest mode), and ``none`` keeps
every line. Lines that do not parse become ``loader_parsing_error`` bad rows and
rows the warehouse cannot hold become ``generic_error`` bad rows, both in
``<schema>.bad_rows`` with their file and line, so nothing read is ever lost.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from connectors.warehouse.bad_rows import BadRowRecord
from connectors.warehouse.loader import Dedup, LoadReport, Warehouse
from connectors.warehouse.rows import Provenance
from toolkit.profiles.canonical import to_dict
from toolkit.tsv import ParseFailure, parse_line

TSV_SUFFIXES = (".tsv", ".tsv.gz", ".txt", ".txt.gz", ".gz")
EVENT_ID_POSITION = 6


class InputFailed(RuntimeError):
    """An input file could not be read to the end (a cut-off archive, a permission problem)."""


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


def tsv_files(path: str | Path) -> list[Path]:
    root = Path(path)
    if root.is_dir():
        return sorted(p for p in root.rglob("*") if p.is_file() and p.name.endswith(TSV_SUFFIXES))
    if not root.exists():
        raise InputFailed(f"{root} does not exist")
    return [root]


def tsv_lines(file: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of one file, ``.gz`` too; blank lines are skipped."""
    opener: Any = gzip.open if file.name.endswith(".gz") else open
    try:
        with opener(file, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line.rstrip(b"\r\n")
    except (OSError, EOFError) as exc:
        raise InputFailed(f"{file} could not be read to the end: {exc}") from exc


def _event_id_of(line: bytes) -> str | None:
    fields = line.split(b"\t")
    if len(fields) > EVENT_ID_POSITION and len(fields[EVENT_ID_POSITION]) == 36:
        return fields[EVENT_ID_POSITION].decode("ascii", "replace")
    return None


def parsed_rows(file: Path, failures: list[BadRowRecord]) -> Iterator[tuple[dict[str, Any], Provenance]]:
    """Canonical rows of a TSV file; lines that do not parse are appended to ``failures`` as bad rows."""
    name = str(file)
    for number, line in tsv_lines(file):
        provenance = Provenance.file_line(name, number)
        result = parse_line(line)
        if isinstance(result, ParseFailure):
            failures.append(BadRowRecord(_event_id_of(line), "loader_parsing_error",
                                         orjson.dumps(result.failure()).decode()[:2000], provenance))
            continue
        yield to_dict(result), provenance


def legacy_load(input_path: str | Path, warehouse: Warehouse, dedup: Dedup,
                batch_size: int = 50_000) -> LegacyLoadReport:
    """Load every TSV file under ``input_path`` into ``warehouse``; idempotent by file and line."""
    report = LegacyLoadReport()
    for file in tsv_files(input_path):
        failures: list[BadRowRecord] = []
        counted = _Counted(parsed_rows(file, failures))
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
