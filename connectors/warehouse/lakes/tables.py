"""One lake table in each format: the offsets it has committed, an atomic append, and a scan for DuckDB.

The committed offsets (``{"topic/partition": last offset}``, cumulative) travel with the data
they describe: in the Delta commit's ``custom_metadata``, in the Iceberg snapshot summary (as
Kafka Connect's Iceberg sink does), and for plain Parquet in a small manifest written
atomically after the data files, which lists the files that are part of the table. Reads
push the work down to DuckDB: Parquet natively, Delta through its Arrow dataset, Iceberg
through the Parquet files its current snapshot plans.
"""

from __future__ import annotations

import glob
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import orjson

from connectors.warehouse.columns import is_entity_column, literal, quote
from connectors.warehouse.lakes.url import LakeURL

OFFSETS_KEY = "sptk.kafka.offsets"
MANIFEST = "_sptk_manifest.json"
Offsets = dict[str, int]


class LakeUnreadable(RuntimeError):
    """A lake table exists but cannot be read or written as asked; the message says what to do."""


class LakeTable(ABC):
    def __init__(self, url: LakeURL, name: str) -> None:
        self.url, self.name = url, name

    @abstractmethod
    def committed(self) -> Offsets:
        """The last offset per topic/partition already in the table (empty for a new table)."""

    @abstractmethod
    def append(self, data: Any, offsets: Offsets) -> None:
        """Add ``data`` (a pyarrow Table) and the new committed offsets in one commit."""

    @abstractmethod
    def source_sql(self, con: Any, alias: str) -> str | None:
        """A DuckDB table expression that reads the table (None: it does not exist)."""

    def scan(self, con: Any, view: str) -> str | None:
        """Make ``view`` a DuckDB temp view of the table, entity columns typed JSON; return the table expression
        it reads (``read_parquet(...)`` when DuckDB reads the files itself), None when there is no table."""
        source = self.source_sql(con, f"{view}_arrow")
        if source is None:
            return None
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        casts = [f"CAST({quote(n)} AS JSON) AS {quote(n)}" for n in names if is_entity_column(n)]
        select = f"* REPLACE ({', '.join(casts)})" if casts else "*"
        con.execute(f"CREATE OR REPLACE TEMP VIEW {quote(view)} AS SELECT {select} FROM {source}")
        return source


def _merged(old: Offsets, new: Offsets) -> Offsets:
    merged = dict(old)
    for key, offset in new.items():
        merged[key] = max(offset, merged.get(key, -1))
    return dict(sorted(merged.items()))


def _nullable(data: Any) -> Any:
    import pyarrow as pa

    return data.cast(pa.schema([f.with_nullable(True) for f in data.schema]))


# -- Parquet ------------------------------------------------------------------------------------------------------

class ParquetTable(LakeTable):
    """``PATH/<name>/`` of Parquet files (events in hive partitions ``collector_date=YYYY-MM-DD/``) and a manifest.

    Data file names derive from the topic, partition and offset range they hold, and a file enters
    the table only when the manifest that lists it replaces the previous one; files a crash left
    unlisted are removed when the next writer opens the table.
    """

    def __init__(self, url: LakeURL, name: str) -> None:
        super().__init__(url, name)
        self.root = Path(url.path) / name
        self.manifest = self.root / MANIFEST

    def _read_manifest(self) -> dict[str, Any]:
        try:
            return orjson.loads(self.manifest.read_bytes())
        except FileNotFoundError:
            return {"files": [], "offsets": {}}
        except orjson.JSONDecodeError as exc:
            raise LakeUnreadable(f"{self.manifest} is not the manifest sptk writes ({exc}); restore it or load "
                                 f"into a new directory") from exc

    def committed(self) -> Offsets:
        return self._read_manifest()["offsets"]

    def open_for_writing(self) -> None:
        if not self.manifest.exists():
            if self.root.exists() and any(self.root.rglob("*.parquet")):
                raise LakeUnreadable(f"{self.root} holds Parquet files but no {MANIFEST}: it was not written by "
                                     f"sptk kafka-load; load into an empty directory")
            self.root.mkdir(parents=True, exist_ok=True)
            self._write_manifest({"files": [], "offsets": {}})
            return
        listed = set(self._read_manifest()["files"])
        for leftover in [*self.root.rglob("*.parquet"), *self.root.rglob(".*.tmp")]:
            if leftover.relative_to(self.root).as_posix() not in listed:
                leftover.unlink()  # written by a run that died before its manifest: not part of the table

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        _replace_atomically(self.manifest, orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS))

    def append(self, data: Any, offsets: Offsets) -> None:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        manifest = self._read_manifest()
        written: list[str] = []
        dates = pc.strftime(data["collector_tstamp"], format="%Y-%m-%d") if "collector_tstamp" in data.column_names \
            else None
        groups = data.group_by(["load_topic", "load_partition"]).aggregate([("load_offset", "min"),
                                                                             ("load_offset", "max")])
        for topic, partition, first, last in zip(*(groups[c].to_pylist() for c in groups.column_names), strict=True):
            mask = pc.and_(pc.equal(data["load_topic"], topic), pc.equal(data["load_partition"], partition))
            for date in (sorted(set(pc.filter(dates, mask).to_pylist())) if dates is not None else [None]):
                part = mask if date is None else pc.and_(mask, pc.equal(dates, date))
                folder = f"collector_date={date}/" if date else ""
                relative = f"{folder}{topic}-{partition}-{first:020d}-{last:020d}.parquet"
                target = self.root / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.parent / f".{target.name}.tmp"
                pq.write_table(data.filter(part), tmp)
                _fsync(tmp)
                os.replace(tmp, target)
                written.append(relative)
        files = sorted(set(manifest["files"]) | set(written))
        self._write_manifest({"files": files, "offsets": _merged(manifest["offsets"], offsets)})

    def source_sql(self, con: Any, alias: str) -> str | None:
        return parquet_source(self.url.path if self.name == "events" else str(self.root), self.name)


def parquet_source(path: str, name: str = "events") -> str | None:
    """read_parquet over a glob, a file, an sptk table directory (the files its manifest lists) or any directory."""
    options = "hive_partitioning = true, union_by_name = true"
    if glob.has_magic(path):
        return f"read_parquet({literal(path)}, {options})" if glob.glob(path, recursive=True) else None
    root = Path(path)
    if root.is_file():
        return f"read_parquet({literal(path)}, {options})"
    table = root / name if (root / name / MANIFEST).exists() or (root / name).is_dir() else root
    manifest = table / MANIFEST
    if manifest.exists():
        files = [str(table / f) for f in ParquetTable(LakeURL("parquet", str(table.parent)), table.name)
                 ._read_manifest()["files"]]
    else:
        files = sorted(str(p) for p in table.rglob("*.parquet")) if table.is_dir() else []
    if not files:
        return None
    listed = "[" + ", ".join(literal(f) for f in files) + "]"
    return f"read_parquet({listed}, {options})"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_atomically(path: Path, content: bytes) -> None:
    tmp = path.parent / f".{path.name}.tmp"
    with open(tmp, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


# -- Delta --------------------------------------------------------------------------------------------------------

class DeltaLakeTable(LakeTable):
    """A Delta table at ``PATH/<name>`` (or ``PATH`` itself, when it is a Delta table, for the events)."""

    def __init__(self, url: LakeURL, name: str) -> None:
        super().__init__(url, name)
        own = Path(url.path)
        self.root = own if name == "events" and (own / "_delta_log").is_dir() else own / name

    def _exists(self) -> bool:
        return (self.root / "_delta_log").is_dir()

    def committed(self) -> Offsets:
        from deltalake import DeltaTable

        if not self._exists():
            return {}
        for commit in DeltaTable(str(self.root)).history():
            if OFFSETS_KEY in commit:
                return orjson.loads(commit[OFFSETS_KEY])
        return {}

    def append(self, data: Any, offsets: Offsets) -> None:
        from deltalake import CommitProperties, write_deltalake

        metadata = {OFFSETS_KEY: orjson.dumps(_merged(self.committed(), offsets)).decode()}
        write_deltalake(str(self.root), _nullable(data), mode="append", schema_mode="merge",
                        commit_properties=CommitProperties(custom_metadata=metadata))

    def source_sql(self, con: Any, alias: str) -> str | None:
        """DuckDB's Parquet reader over the files of the current version when they hold the table as it is
        (filters reach the row groups, memory stays under DuckDB's limit: an Arrow dataset scan buffers outside
        it); otherwise deltalake's Arrow dataset, which applies what the files alone do not say."""
        from deltalake import DeltaTable

        if not self._exists():
            return None
        try:
            table = DeltaTable(str(self.root))
            direct = _plain_parquet_files(con, table)
            if direct is not None:
                return direct
            dataset = table.to_pyarrow_dataset()
        except Exception as exc:  # deltalake raises its own errors for features it cannot hand to Arrow
            raise LakeUnreadable(f"Delta table {self.root} cannot be read as an Arrow dataset: {exc}") from exc
        con.register(alias, dataset)
        return quote(alias)


#: Reader features that change nothing about what a data file holds (the log says which files are live).
_PLAIN_READER_FEATURES = frozenset({"timestampNtz", "vacuumProtocolCheck", "v2Checkpoint"})


def _plain_parquet_files(con: Any, table: Any) -> str | None:
    """``read_parquet`` over the live files, or None when they alone would not give the table's rows: partition
    values (kept in the log), column mapping, deletion vectors or another reader feature, files elsewhere than
    the local disk, no file yet, or a table column that no file holds."""
    protocol, metadata = table.protocol(), table.metadata()
    features = set(protocol.reader_features or ())
    if (metadata.partition_columns or protocol.min_reader_version == 2 or features - _PLAIN_READER_FEATURES
            or metadata.configuration.get("delta.columnMapping.mode", "none") != "none"):
        return None
    files = table.file_uris()
    if not files or not all(Path(f).is_absolute() and Path(f).exists() for f in files):
        return None
    source = f"read_parquet([{', '.join(literal(f) for f in files)}], union_by_name = true)"
    names = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    return source if {f.name for f in table.schema().fields} <= names else None


# -- Iceberg ------------------------------------------------------------------------------------------------------

class IcebergTable(LakeTable):
    """``<namespace>.<name>`` (or ``table=``, for the events) in a SQL catalog: SQLite in ``PATH`` by default."""

    def __init__(self, url: LakeURL, name: str) -> None:
        super().__init__(url, name)
        self.identifier = url.table if name == "events" and url.table else f"{url.namespace}.{name}"

    def _catalog(self, create: bool = False) -> Any:
        from pyiceberg.catalog.sql import SqlCatalog

        root = Path(self.url.path).resolve()
        if create:
            root.mkdir(parents=True, exist_ok=True)
        elif self.url.catalog is None and not (root / "catalog.db").exists():
            return None
        uri = self.url.catalog or f"sqlite:///{root / 'catalog.db'}"
        return SqlCatalog("sptk", uri=uri, warehouse=root.as_uri())

    def _table(self) -> Any:
        from pyiceberg.exceptions import NoSuchTableError

        catalog = self._catalog()
        if catalog is None:
            return None
        try:
            return catalog.load_table(self.identifier)
        except NoSuchTableError:
            return None

    def committed(self) -> Offsets:
        table = self._table()
        snapshot = table.current_snapshot() if table is not None else None
        while snapshot is not None:
            value = snapshot.summary.additional_properties.get(OFFSETS_KEY) if snapshot.summary else None
            if value:
                return orjson.loads(value)
            snapshot = table.snapshot_by_id(snapshot.parent_snapshot_id) if snapshot.parent_snapshot_id else None
        return {}

    def append(self, data: Any, offsets: Offsets) -> None:
        import pyarrow as pa

        data = _nullable(data)
        table = self._table()
        if table is None:
            catalog = self._catalog(create=True)
            catalog.create_namespace_if_not_exists(self.identifier.rsplit(".", 1)[0])
            table = catalog.create_table_if_not_exists(self.identifier, schema=data.schema)
        merged = _merged(self.committed(), offsets)
        if set(data.schema.names) - set(table.schema().column_names):
            with table.update_schema() as update:
                update.union_by_name(data.schema)
        schema = table.schema().as_arrow()
        columns = [data[f.name].cast(f.type) if f.name in data.column_names else pa.nulls(len(data), f.type)
                   for f in schema]
        table.append(pa.Table.from_arrays(columns, schema=schema),
                     snapshot_properties={OFFSETS_KEY: orjson.dumps(merged).decode()})

    def source_sql(self, con: Any, alias: str) -> str | None:
        table = self._table()
        if table is None:
            return None
        tasks = list(table.scan().plan_files())
        if any(task.delete_files for task in tasks):
            raise LakeUnreadable(f"Iceberg table {self.identifier} has row-level delete files; sptk reads "
                                 f"append-only tables (compact it first, e.g. rewrite_data_files)")
        files = [task.file.file_path.removeprefix("file://") for task in tasks]
        if not files:  # a table with no data yet: its schema, no rows
            con.register(alias, table.schema().as_arrow().empty_table())
            return quote(alias)
        listed = "[" + ", ".join(literal(f) for f in files) + "]"
        return f"read_parquet({listed}, union_by_name = true)"


_KINDS: dict[str, type[LakeTable]] = {"parquet": ParquetTable, "delta": DeltaLakeTable, "iceberg": IcebergTable}


def open_table(url: LakeURL, name: str) -> LakeTable:
    return _KINDS[url.format](url, name)
