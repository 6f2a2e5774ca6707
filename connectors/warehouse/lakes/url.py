"""Lake URLs: ``parquet:PATH_OR_GLOB``, ``delta:PATH`` and ``iceberg:PATH[?namespace=NS&table=NS.T&catalog=URI]``.

``PATH`` is a directory holding the ``events`` and ``bad_rows`` tables (what ``kafka-load``
writes), or, to read a lake written elsewhere, the events table itself: a Parquet file, glob
or directory of files, a Delta table (a directory with ``_delta_log``), or an Iceberg table
named with ``table=`` in a SQL catalog (``catalog=`` a SQLAlchemy URL; default the SQLite
catalog ``PATH/catalog.db`` with its warehouse in ``PATH``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from connectors.warehouse.url import DEFAULT_SCHEMA, BadWarehouseURL, _redact

FORMATS = ("parquet", "delta", "iceberg")
_PARAMS = {"parquet": frozenset(), "delta": frozenset(), "iceberg": frozenset({"namespace", "table", "catalog"})}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True, slots=True)
class LakeURL:
    format: str
    path: str
    namespace: str = DEFAULT_SCHEMA  # Iceberg only: where events and bad_rows live
    table: str | None = None  # Iceberg only: a foreign events table, "ns.name"
    catalog: str | None = None  # Iceberg only: a SQLAlchemy URL of the SQL catalog

    def __str__(self) -> str:
        params = [f"{k}={v}" for k, v in (("namespace", self.namespace if self.namespace != DEFAULT_SCHEMA else None),
                                            ("table", self.table), ("catalog", self.catalog and _redact(self.catalog)))
                  if v]
        return f"{self.format}:{self.path}" + ("?" + "&".join(params) if params else "")


def is_lake_url(text: str) -> bool:
    return text.startswith(tuple(f"{f}:" for f in FORMATS))


def parse_lake_url(text: str, extra: frozenset[str] = frozenset()) -> tuple[LakeURL, dict[str, str]]:
    """The lake URL, and the values of the ``extra`` parameters the caller understands (reconcile's ``bad=``)."""
    kind, _, rest = text.partition(":")
    if kind not in FORMATS:
        raise BadWarehouseURL(f"{text!r} is not a lake URL: use parquet:PATH, delta:PATH or iceberg:PATH")
    path, params = rest, {}
    if "?" in rest:
        path, query = rest.split("?", 1)
        params = dict(parse_qsl(query, keep_blank_values=True))
    allowed = _PARAMS[kind] | extra
    unknown = set(params) - allowed
    if unknown:
        takes = f"takes {', '.join(sorted(allowed))}" if allowed else "takes no parameters"
        raise BadWarehouseURL(f"{text}: unknown parameter(s) {', '.join(sorted(unknown))}; a {kind} location {takes}")
    if not path:
        raise BadWarehouseURL(f"{text}: a {kind} location needs a path, e.g. {kind}:lake/events")
    for key in ("namespace", "table"):
        if key in params and not _NAME.match(params[key]):
            raise BadWarehouseURL(f"{text}: {key} {params[key]!r} must be dotted identifiers like atomic.events")
    if "table" in params and "." not in params["table"]:
        raise BadWarehouseURL(f"{text}: table= names an Iceberg table with its namespace, like atomic.events")
    url = LakeURL(kind, path, params.get("namespace", DEFAULT_SCHEMA), params.get("table"), params.get("catalog"))
    return url, {k: v for k, v in params.items() if k in extra}
