"""Cutover tracking: a history of reconcile reports per day, the streak of passing days, and sign-offs.

The cutover rule in docs/migration.md ("seven days of parity, signed off by the consumer owners") is
decided here from the JSON reports a scheduled ``sptk reconcile`` leaves behind. Reports carry no run
time (they are deterministic), so a report belongs to the UTC day of its ``as_of``: the time its data
reaches. A day takes the worst verdict of its reports, so a failure found at 14:00 is not erased by a
parity re-run at 15:00. A report is identified by the SHA-256 of its bytes; a sign-off names that
hash, so a report changed after it was signed no longer carries the sign-off.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from migration.reconcile.result import BUCKETS, VERDICTS
from migration.reports.json_report import FORMAT as REPORT_FORMAT

#: the file a sign-off goes to when ``--log`` is not given, in the directory of the report it signs
DEFAULT_LOG_NAME = "signoffs.jsonl"
SIGNOFF_FORMAT = "sptk-signoff/1"
#: verdicts that cannot be signed off without ``--force`` and a note
UNSIGNABLE = ("fail", "undecided")
#: how bad a verdict is when a day has several reports: the worst one is the day's
SEVERITY = {"parity": 0, "warn": 1, "undecided": 2, "fail": 3}
_REPORT_FAMILY = REPORT_FORMAT.split("/")[0] + "/"


class CutoverInputError(Exception):
    """A report or a path the user named cannot be used (exit 2): the message says which and why."""


class NotAReport(CutoverInputError):
    """Valid JSON of another kind: in a folder of reports it is skipped, named on the command line it is an error."""


@dataclass(frozen=True)
class SignOff:
    owner: str
    signed_at: str
    sha256: str
    verdict: str
    note: str | None
    forced: bool
    report: str
    log: Path

    def document(self) -> dict[str, Any]:
        return {"owner": self.owner, "signed_at": self.signed_at, "verdict": self.verdict, "note": self.note,
                "forced": self.forced, "log": str(self.log)}


@dataclass
class Report:
    path: Path
    sha256: str
    document: dict[str, Any]
    signoffs: list[SignOff] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return str(self.document["verdict"])

    @property
    def as_of(self) -> str | None:
        value = self.document.get("as_of")
        return value if isinstance(value, str) else None

    @property
    def day(self) -> date | None:
        if self.as_of is None:
            return None
        try:
            return datetime.fromisoformat(self.as_of.replace("Z", "+00:00")).astimezone(UTC).date()
        except ValueError:
            return None

    def sort_key(self) -> tuple[str, str]:
        return (self.as_of or "", str(self.path))


@dataclass
class Day:
    day: date
    reports: list[Report]

    @property
    def verdict(self) -> str | None:
        return max((r.verdict for r in self.reports), key=SEVERITY.__getitem__) if self.reports else None

    def passing(self, allow_warn: bool) -> bool:
        return self.verdict == "parity" or (allow_warn and self.verdict == "warn")


@dataclass
class History:
    days: list[Day]
    undated: list[Report]
    allow_warn: bool
    logs: list[Path]
    problems: list[str]
    skipped: list[tuple[Path, str]]

    @property
    def streak(self) -> list[Day]:
        """The passing days that end at the latest day, without a gap (a day with no report breaks it)."""
        run: list[Day] = []
        for day in reversed(self.days):
            if not day.passing(self.allow_warn):
                break
            run.append(day)
        return run[::-1]

    @property
    def last_report(self) -> Report | None:
        """The report the gate's sign-offs must be on: the latest of the streak's last day."""
        streak = self.streak
        return max(streak[-1].reports, key=Report.sort_key) if streak else None

    def unmet(self, require_streak: int | None, require_signoff: Sequence[str]) -> list[str]:
        """Why the gate is not met yet (empty: met)."""
        reasons = []
        streak = len(self.streak)
        if require_streak is not None and streak < require_streak:
            reasons.append(f"{streak} of {require_streak} passing days")
        if require_signoff:
            last = self.last_report
            if last is None:
                reasons.append("no passing day, so no report to sign off")
            else:
                signed = {s.owner for s in last.signoffs}
                reasons += [f"no sign-off by {owner} on {last.path.name}" for owner in require_signoff
                            if owner not in signed]
        return reasons


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_report(path: Path) -> Report:
    """One reconcile JSON report; anything else raises :class:`CutoverInputError` naming the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CutoverInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CutoverInputError(f"{path} is not JSON ({exc}); a reconcile report is what "
                                f"`sptk reconcile --json FILE` writes") from None
    if not (isinstance(document, dict) and str(document.get("format", "")).startswith(_REPORT_FAMILY)):
        raise NotAReport(f"{path} is not a reconcile report (no \"format\": \"{REPORT_FORMAT}\"); "
                                f"a reconcile report is what `sptk reconcile --json FILE` writes")
    if document.get("verdict") not in VERDICTS:
        raise CutoverInputError(f"{path}: verdict {document.get('verdict')!r} is not one of {', '.join(VERDICTS)}")
    return Report(path, hashlib.sha256(data).hexdigest(), document)


def collect_reports(paths: Iterable[Path]) -> tuple[list[Report], list[tuple[Path, str]]]:
    """Reports from files and directories (their ``*.json``); JSON in a directory that is no report is skipped."""
    reports: dict[Path, Report] = {}
    skipped: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            for candidate in sorted(path.glob("*.json")):
                try:
                    report = read_report(candidate)
                except NotAReport:
                    skipped.append((candidate, "not a reconcile report"))
                    continue
                reports.setdefault(candidate.resolve(), report)
        elif path.exists():
            reports.setdefault(path.resolve(), read_report(path))
        else:
            raise CutoverInputError(f"{path} does not exist; give report files or directories of them")
    if not reports:
        raise CutoverInputError(f"no reconcile reports in {', '.join(str(p) for p in paths)}; "
                                f"`sptk reconcile --json FILE` writes them")
    return sorted(reports.values(), key=Report.sort_key), skipped


def _record_line(log: Path, number: int, line: bytes) -> dict[str, Any] | str:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return f"{log} line {number} is not a sign-off record (not JSON: {exc}); it is ignored"
    keys = ("owner", "signed_at", "sha256", "verdict", "report")
    if not isinstance(record, dict) or any(not isinstance(record.get(k), str) for k in keys):
        return f"{log} line {number} is not a sign-off record (it needs {', '.join(keys)}); it is ignored"
    return record


def read_signoffs(log: Path) -> tuple[list[SignOff], list[str]]:
    """The sign-offs of one log, and a line per record that cannot be read (those are left out, not fatal)."""
    try:
        lines = log.read_bytes().splitlines()
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        return [], [f"cannot read the sign-off log {log}: {exc.strerror or exc}"]
    signoffs, problems = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        record = _record_line(log, number, line)
        if isinstance(record, str):
            problems.append(record)
            continue
        note = record.get("note")
        signoffs.append(SignOff(record["owner"], record["signed_at"], record["sha256"], record["verdict"],
                                note if isinstance(note, str) else None, record.get("forced") is True,
                                record["report"], log))
    return signoffs, problems


def _attach(reports: list[Report], signoffs: list[SignOff]) -> list[str]:
    """Put each sign-off on the report with its hash; name those whose report changed after it was signed."""
    by_hash: dict[str, list[Report]] = {}
    by_path = {r.path.resolve(): r for r in reports}
    for report in reports:
        by_hash.setdefault(report.sha256, []).append(report)
    problems = []
    for signoff in signoffs:
        matching = by_hash.get(signoff.sha256)
        if matching:
            for report in matching:
                report.signoffs.append(signoff)
            continue
        changed = by_path.get((signoff.log.parent / signoff.report).resolve())
        if changed is not None:
            problems.append(f"{changed.path}: signed off by {signoff.owner} at {signoff.signed_at} as sha256 "
                            f"{signoff.sha256[:12]}…, but the file now hashes to {changed.sha256[:12]}…: it "
                            f"changed after the sign-off, which therefore does not count")
    return problems


def build_history(paths: Sequence[Path], allow_warn: bool, log: Path | None = None) -> History:
    """The history of the reports under ``paths`` with the sign-offs of ``log`` (default: next to the reports)."""
    reports, skipped = collect_reports(paths)
    logs = [log] if log is not None else sorted({r.path.parent / DEFAULT_LOG_NAME for r in reports})
    problems: list[str] = []
    signoffs: list[SignOff] = []
    for each in logs:
        found, unreadable = read_signoffs(each)
        signoffs += found
        problems += unreadable
    problems += _attach(reports, signoffs)
    dated: dict[date, list[Report]] = {}
    undated = []
    for report in reports:
        if report.day is None:
            undated.append(report)
        else:
            dated.setdefault(report.day, []).append(report)
    days = []
    if dated:
        first, last = min(dated), max(dated)
        days = [Day(first + timedelta(days=n), dated.get(first + timedelta(days=n), []))
                for n in range((last - first).days + 1)]
    return History(days, undated, allow_warn, [p for p in logs if p.exists()], problems, skipped)


def default_log(report: Path) -> Path:
    return report.parent / DEFAULT_LOG_NAME


def _relative(report: Path, log: Path) -> str:
    """The report as the log names it: relative to the log's folder when inside it, so both can move together."""
    try:
        return str(report.resolve().relative_to(log.resolve().parent))
    except ValueError:
        return str(report.resolve())


def sign_off(report_path: Path, owner: str, note: str | None, log: Path, force: bool,
             now: datetime | None = None) -> dict[str, Any]:
    """Append the sign-off of ``owner`` on the report to ``log`` and return the record written."""
    owner = owner.strip()
    if not owner or "\n" in owner:
        raise CutoverInputError("--owner must be a name on one line")
    report = read_report(report_path)
    if report.verdict in UNSIGNABLE:
        if not force:
            raise CutoverInputError(f"{report_path}: its verdict is {report.verdict}, which cannot be signed off; "
                                    f"if the owners accept it anyway, add --force with a --note saying why")
        if not (note and note.strip()):
            raise CutoverInputError(f"{report_path}: --force signs off a {report.verdict} report only with a "
                                    f"--note saying why")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    record = {"format": SIGNOFF_FORMAT, "report": _relative(report_path, log), "sha256": report.sha256,
              "verdict": report.verdict, "as_of": report.as_of,
              "day": report.day.isoformat() if report.day else None, "owner": owner,
              "signed_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "note": note, "forced": force}
    _append(log, orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n")
    return record


def _append(log: Path, line: bytes) -> None:
    """Add one line with one write in append mode (after a newline if a cut-short write left none)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size:
            with log.open("rb") as existing:
                existing.seek(size - 1)
                if existing.read(1) != b"\n":
                    line = b"\n" + line
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def report_entry(report: Report) -> dict[str, Any]:
    """What the history says of one report (its JSON shape)."""
    doc = report.document
    totals = doc.get("totals") or {}
    buckets = {name: int((doc.get(name) or {}).get("count", 0)) for name in BUCKETS}
    return {"path": str(report.path), "sha256": report.sha256, "verdict": report.verdict, "as_of": report.as_of,
            "windows": {"total": totals.get("windows", 0), "diffed": totals.get("windows_diffed", 0)},
            "buckets": buckets, "metrics": doc.get("metrics") or {},
            "signoffs": [s.document() for s in report.signoffs]}
