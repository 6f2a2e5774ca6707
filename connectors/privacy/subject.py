"""The person a request is about, and the row changes that serve it or a retention window.

An identifier is one of the three user columns of ``atomic.events``; the audit table never sees it,
only its salted SHA-256 (:meth:`Subject.audit_hash`), so the record of a deletion cannot itself be
the personal data it deleted. Bad rows keep no user columns: a person's bad rows are the ones whose
event id is one of the person's events, or whose failure text holds the identifier as a JSON string
(``"value"``, quotes included, so a short id does not match inside unrelated text).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import orjson

from connectors.warehouse.changes import TableChange
from connectors.warehouse.columns import literal, quote

#: identifier option -> the events column that holds it
KINDS = ("user_id", "domain_userid", "network_userid")
#: the column each retained table is aged by: the event's own time, and for bad rows the time they were loaded
AGE_COLUMNS = {"events": "collector_tstamp", "bad_rows": "load_tstamp"}


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str
    value: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown identifier kind {self.kind!r}; one of {', '.join(KINDS)}")
        if not self.value.strip():
            raise ValueError(f"the {self.kind} is empty: a request must name one person")

    def audit_hash(self, salt: str) -> str:
        """``sha256(salt, kind, value)``: stable for one salt, so requests about one person can be found."""
        return hashlib.sha256(f"{salt}\x00{self.kind}\x00{self.value}".encode()).hexdigest()

    @property
    def events_where(self) -> str:
        return f"{quote(self.kind)} = {literal(self.value)}"

    @property
    def json_text(self) -> str:
        """How the identifier appears inside a bad row's failure JSON."""
        return orjson.dumps(self.value).decode()


def forget_changes(subject: Subject, event_ids: Sequence[str], pseudonym: str | None) -> list[TableChange]:
    """Bad rows first, then events: a lake commits table by table, and the events are how bad rows are found again.

    ``pseudonym`` None deletes; otherwise the identifier is replaced by it (in the events column and inside
    failure texts); bad rows that only share an event id hold no identifier and stay as they are.
    """
    needle = f"strpos(failure, {literal(subject.json_text)}) > 0"
    if pseudonym is None:
        by_id = f"event_id IN ({', '.join(literal(i) for i in event_ids)}) OR " if event_ids else ""
        return [TableChange("bad_rows", f"{by_id}{needle}"), TableChange("events", subject.events_where)]
    replaced = f"replace(failure, {literal(subject.json_text)}, {literal(orjson.dumps(pseudonym).decode())})"
    return [TableChange("bad_rows", needle, {"failure": replaced}),
            TableChange("events", subject.events_where, {subject.kind: literal(pseudonym)})]


def retention_changes(cutoffs: Mapping[str, datetime]) -> list[TableChange]:
    """Rows older than each table's cutoff (a naive UTC time, as the warehouse stores it)."""
    return [TableChange(table, f"{quote(AGE_COLUMNS[table])} < TIMESTAMP "
                               f"{literal(cutoff.strftime('%Y-%m-%d %H:%M:%S.%f'))}")
            for table, cutoff in cutoffs.items()]
