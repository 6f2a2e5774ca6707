"""Serving one request (a person to forget, or a retention run) over its targets, one audit row per target.

Targets run one after another and each lands in the audit table as soon as it is done, so a run that
fails part-way (a lake that cannot be read, a broker that does not answer) leaves a true record: the
targets that finished stay finished, the one that failed says why, and running the same request id
again skips every target already done (``already-done``, 0 rows) and works only on the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from connectors.privacy.audit import ALREADY_DONE, DONE, DRY_RUN, FAILED, AuditLog, AuditRecord
from connectors.privacy.subject import Subject

Counts = dict[str, int]


class ForgetTarget(Protocol):
    name: str

    def forget(self, subject: Subject, pseudonym: str | None, dry_run: bool, previous: AuditRecord | None = None
               ) -> tuple[Counts, dict[str, Any]]: ...


class RetainTarget(Protocol):
    name: str

    def retain(self, cutoffs: Mapping[str, datetime], dry_run: bool) -> tuple[Counts, dict[str, Any]]: ...


class RequestRefused(ValueError):
    """The request cannot run as given (a request id reused for another person or action); nothing was done."""


@dataclass(frozen=True, slots=True)
class Request:
    request_id: str
    action: str  # forget | retain
    actor: str
    mode: str
    dry_run: bool
    subject_kind: str | None = None
    subject_hash: str | None = None

    def record(self, target: str, counts: Counts, outcome: str, detail: Mapping[str, Any]) -> AuditRecord:
        return AuditRecord(self.request_id, self.action, target, self.actor, self.mode, self.dry_run,
                           self.subject_kind, self.subject_hash, sum(counts.values()), counts, outcome, detail)


def _failure(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if type(exc).__module__.startswith(("connectors", "toolkit")) else f"{type(exc).__name__}: {text}"


def _check_same_request(audit: AuditLog, request: Request) -> None:
    for old in audit.records(request.request_id):
        if (old.action, old.subject_hash) != (request.action, request.subject_hash):
            raise RequestRefused(f"request id {request.request_id!r} already names another {old.action} request "
                                 f"(recorded {old.recorded_at:%Y-%m-%d %H:%M:%S} UTC); give a new --request-id")


def serve(request: Request, targets: Sequence[Any], audit: AuditLog, work: Any) -> list[AuditRecord]:
    """Run ``work(target, previous)`` on each target not yet done by this request; append and return the records.

    ``previous`` is this person's latest finished record on that target by any request (a topic's last
    tombstone), or None.
    """
    _check_same_request(audit, request)
    done = audit.done_targets(request.request_id)
    records = []
    for target in targets:
        if target.name in done:
            record = request.record(target.name, {}, ALREADY_DONE, {"note": "done by an earlier run of this request"})
        else:
            previous = audit.last_done(request.subject_hash, target.name) if request.subject_hash else None
            try:
                counts, detail = work(target, previous)
            except Exception as exc:  # one target's failure is reported as its outcome; the others still run
                record = request.record(target.name, {}, FAILED, {"error": _failure(exc)})
            else:
                record = request.record(target.name, counts, DRY_RUN if request.dry_run else DONE, detail)
        audit.append(record)
        records.append(record)
    return records


def forget(request: Request, subject: Subject, pseudonym: str | None, targets: Sequence[ForgetTarget],
           audit: AuditLog) -> list[AuditRecord]:
    return serve(request, targets, audit,
                 lambda target, previous: target.forget(subject, pseudonym, request.dry_run, previous))


def retain(request: Request, cutoffs: Mapping[str, datetime], targets: Sequence[RetainTarget],
           audit: AuditLog) -> list[AuditRecord]:
    def work(target: RetainTarget, previous: AuditRecord | None) -> tuple[Counts, dict[str, Any]]:
        counts, detail = target.retain(cutoffs, request.dry_run)
        return counts, {**detail, "cutoffs": {t: c.isoformat(sep=" ") for t, c in cutoffs.items()}}

    return serve(request, targets, audit, work)
