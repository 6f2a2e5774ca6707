"""The append-only audit table of privacy requests: what was asked, by whom, when, and what each target did.

One row per target per run (a warehouse, a lake location, a Kafka topic), so a request that failed on
one target shows which targets are done and a re-run with the same request id does only the rest.
Identifiers are never stored, only their salted SHA-256 (:meth:`Subject.audit_hash`).

Append-only is a property of this code path: the only statement ever issued against the table is an
``INSERT`` (plus the ``CREATE ... IF NOT EXISTS`` that makes it); nothing in the toolkit updates or deletes
a row of it, and retention never reaches it (it lives in its own schema, ``sptk_audit``). On PostgreSQL a
trigger also refuses ``UPDATE``, ``DELETE`` and ``TRUNCATE`` from anyone, so a hand-written statement cannot
rewrite history either. A lake-only run keeps the same records as JSON lines in a file opened for
appending only.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from connectors.warehouse.backends import LoadBackend, open_backend
from connectors.warehouse.columns import Column, Dialect, create_table_sql, qualified, quote
from connectors.warehouse.url import BadWarehouseURL, parse_warehouse_url

AUDIT_SCHEMA = "sptk_audit"
AUDIT_TABLE = "privacy_requests"
JSONL_PREFIX = "jsonl:"
#: outcomes of one target in one run
DONE, FAILED, ALREADY_DONE, DRY_RUN = "done", "failed", "already-done", "dry-run"

COLUMNS: tuple[Column, ...] = (
    Column("request_id", None, "VARCHAR", "TEXT", not_null=True),
    Column("action", None, "VARCHAR", "TEXT", not_null=True),
    Column("target", None, "VARCHAR", "TEXT", not_null=True),
    Column("recorded_at", None, "TIMESTAMP", "TIMESTAMP", not_null=True),
    Column("actor", None, "VARCHAR", "TEXT", not_null=True),
    Column("mode", None, "VARCHAR", "TEXT", not_null=True),
    Column("dry_run", None, "BOOLEAN", "BOOLEAN", not_null=True),
    Column("subject_kind", None, "VARCHAR", "TEXT"),
    Column("subject_hash", None, "VARCHAR", "TEXT"),
    Column("affected", None, "BIGINT", "BIGINT", not_null=True),
    Column("counts", None, "VARCHAR", "TEXT", not_null=True),
    Column("outcome", None, "VARCHAR", "TEXT", not_null=True),
    Column("detail", None, "VARCHAR", "TEXT"),
)
NAMES = tuple(c.name for c in COLUMNS)

_PG_GUARD = f"""
CREATE OR REPLACE FUNCTION {quote(AUDIT_SCHEMA)}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{AUDIT_SCHEMA}.{AUDIT_TABLE} is append-only: rows are never updated or deleted';
END $$;
DROP TRIGGER IF EXISTS append_only ON {qualified(AUDIT_SCHEMA, AUDIT_TABLE)};
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {qualified(AUDIT_SCHEMA, AUDIT_TABLE)}
  FOR EACH STATEMENT EXECUTE FUNCTION {quote(AUDIT_SCHEMA)}.refuse_change();
"""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    request_id: str
    action: str  # forget | retain
    target: str
    actor: str
    mode: str  # delete | pseudonymise
    dry_run: bool
    subject_kind: str | None
    subject_hash: str | None
    affected: int
    counts: Mapping[str, int]
    outcome: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    recorded_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))

    def row(self) -> dict[str, Any]:
        out = asdict(self)
        out["counts"] = orjson.dumps(dict(self.counts), option=orjson.OPT_SORT_KEYS).decode()
        out["detail"] = orjson.dumps(dict(self.detail), option=orjson.OPT_SORT_KEYS).decode()
        return out

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AuditRecord:
        values = dict(row)
        values["counts"] = orjson.loads(values["counts"])
        values["detail"] = orjson.loads(values["detail"] or "{}")
        if isinstance(values["recorded_at"], str):
            values["recorded_at"] = datetime.fromisoformat(values["recorded_at"])
        return cls(**values)


class AuditLog(ABC):
    """Where audit records go; appending is the only change it can make."""

    location: str

    @abstractmethod
    def append(self, record: AuditRecord) -> None: ...

    @abstractmethod
    def records(self, request_id: str | None = None) -> list[AuditRecord]:
        """Every record (of one request), oldest first."""

    def close(self) -> None:  # noqa: B027 - a file log holds nothing open
        pass

    def done_targets(self, request_id: str) -> set[str]:
        """Targets a real (not dry) run of this request already finished: a re-run skips them."""
        return {r.target for r in self.records(request_id) if r.outcome == DONE and not r.dry_run}

    def last_done(self, subject_hash: str, target: str) -> AuditRecord | None:
        """The latest finished real run on ``target`` for this person, by any request."""
        done = [r for r in self.records() if r.subject_hash == subject_hash and r.target == target
                and r.outcome == DONE and not r.dry_run]
        return done[-1] if done else None


class SqlAuditLog(AuditLog):
    """``sptk_audit.privacy_requests`` in a DuckDB or PostgreSQL warehouse."""

    def __init__(self, backend: LoadBackend, location: str) -> None:
        self.backend, self.location = backend, location
        table = qualified(AUDIT_SCHEMA, AUDIT_TABLE)
        backend.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(AUDIT_SCHEMA)}")
        backend.execute(create_table_sql(AUDIT_SCHEMA, AUDIT_TABLE, COLUMNS, backend.dialect))
        if backend.dialect is Dialect.POSTGRES:
            backend.execute(_PG_GUARD)
        self._insert = (f"INSERT INTO {table} ({', '.join(quote(n) for n in NAMES)}) "
                        f"VALUES ({', '.join([backend.placeholder] * len(NAMES))})")
        self._select = f"SELECT {', '.join(quote(n) for n in NAMES)} FROM {table}"

    def append(self, record: AuditRecord) -> None:
        row = record.row()
        self.backend.execute(self._insert, [row[n] for n in NAMES])

    def records(self, request_id: str | None = None) -> list[AuditRecord]:
        where = f" WHERE request_id = {self.backend.placeholder}" if request_id is not None else ""
        rows = self.backend.query(f"{self._select}{where} ORDER BY recorded_at",
                                  [request_id] if request_id is not None else None)
        return [AuditRecord.from_row(dict(zip(NAMES, r, strict=True))) for r in rows]

    def close(self) -> None:
        self.backend.close()


class JsonlAuditLog(AuditLog):
    """The same records as JSON lines in a file that is only ever opened for appending (lake-only runs)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = f"{JSONL_PREFIX}{path}"
        path.parent.mkdir(parents=True, exist_ok=True)

    def append(self, record: AuditRecord) -> None:
        row = record.row()
        row["recorded_at"] = record.recorded_at.isoformat()
        with open(self.path, "ab") as out:
            out.write(orjson.dumps(row) + b"\n")
            out.flush()
            os.fsync(out.fileno())

    def records(self, request_id: str | None = None) -> list[AuditRecord]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_bytes().splitlines():
            if line.strip():
                record = AuditRecord.from_row(orjson.loads(line))
                if request_id is None or record.request_id == request_id:
                    out.append(record)
        return out


def open_audit(location: str) -> AuditLog:
    """``jsonl:PATH``, or a warehouse URL (``duckdb:PATH``, ``postgresql://...``) whose ``sptk_audit`` schema holds it.

    Raises :class:`BadWarehouseURL` for a location that is neither, and ``WarehouseUnavailable`` when the
    warehouse does not answer.
    """
    if location.startswith(JSONL_PREFIX):
        path = location.removeprefix(JSONL_PREFIX)
        if not path:
            raise BadWarehouseURL(f"{location!r}: a JSON-lines audit log needs a path, e.g. jsonl:audit.jsonl")
        return JsonlAuditLog(Path(path))
    url = parse_warehouse_url(location)
    return SqlAuditLog(open_backend(url), str(url))
