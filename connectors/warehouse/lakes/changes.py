"""Deleting or rewriting rows of a lake table in place, each format in its own way, the offsets left as they were.

Delta applies the change itself (a delete or update commit: its own predicate language reads the
portable SQL of :class:`~connectors.warehouse.changes.TableChange`). Iceberg is told which rows by
their provenance (topic, partition, offset: a lake row's identity) and rewrites the files holding
them in one snapshot, copy-on-write, so readers never meet row-level delete files. Plain Parquet has
no transaction log: each affected file is written anew beside the old one, the manifest that lists
files is replaced atomically to name the new file, and only then is the old one removed; a crash in
between leaves the old file listed (the change is simply not made) or an unlisted file the next
writer removes. Commit metadata and the manifest keep the committed Kafka offsets, so a later
``kafka-load`` neither re-adds deleted rows nor loses its place.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

from connectors.warehouse.changes import TableChange
from connectors.warehouse.columns import literal, quote
from connectors.warehouse.lakes.tables import OFFSETS_KEY, DeltaLakeTable, IcebergTable, LakeTable, ParquetTable, _fsync

Key = tuple[str, int, int]  # load_topic, load_partition, load_offset


def _connect() -> Any:
    import duckdb

    return duckdb.connect()


def matching_values(table: LakeTable, column: str, where: str) -> list[str]:
    """The distinct non-null ``column`` values of the rows ``where`` selects (none when the table is absent)."""
    con = _connect()
    source = table.source_sql(con, "src")
    if source is None:
        return []
    rows = con.execute(f"SELECT DISTINCT {quote(column)} FROM {source} WHERE ({where}) "
                       f"AND {quote(column)} IS NOT NULL").fetchall()
    return sorted(str(r[0]) for r in rows)


def count_rows(table: LakeTable, where: str) -> int:
    con = _connect()
    source = table.source_sql(con, "src")
    return 0 if source is None else int(con.execute(f"SELECT count(*) FROM {source} WHERE {where}").fetchone()[0])


def apply_change(table: LakeTable, change: TableChange, dry_run: bool) -> int:
    """Count the rows ``change`` selects and, unless ``dry_run``, delete or rewrite them; return the count."""
    found = count_rows(table, change.where)
    if dry_run or not found:
        return found
    if isinstance(table, DeltaLakeTable):
        _delta(table, change)
    elif isinstance(table, IcebergTable):
        _iceberg(table, change)
    elif isinstance(table, ParquetTable):
        _parquet(table, change)
    else:  # pragma: no cover - every format is handled above
        raise TypeError(f"no row changes for {type(table).__name__}")
    return found


def _delta(table: DeltaLakeTable, change: TableChange) -> None:
    """Replace whole files: every file holding a selected row, by its offset ranges, in one overwrite commit.

    Not delta-rs's own ``delete``/``update``: they rewrite the untouched rows of a file through DataFusion,
    which stores strings as Arrow ``string_view``, and a dataset holding such files can no longer be
    filtered by DuckDB (the reader of every lake). Here the rows of the files that change are computed
    by DuckDB and written by the same writer as an append, and the overwrite's predicate (the files'
    offset ranges) covers those files entirely, so delta-rs only removes them.
    """
    from deltalake import CommitProperties, DeltaTable, write_deltalake

    delta = DeltaTable(str(table.root))
    dataset = delta.to_pyarrow_dataset()
    con = _connect()
    con.register("src", dataset)
    con.execute(f"CREATE TEMP TABLE hit AS SELECT load_topic, load_partition, load_offset FROM src "
                f"WHERE {change.where}")
    ranges: list[str] = []
    for i, fragment in enumerate(dataset.get_fragments()):
        con.register(f"f{i}", fragment.to_table(columns=["load_topic", "load_partition", "load_offset"]))
        ranges += [f"(load_topic = {literal(t)} AND load_partition = {p} AND load_offset BETWEEN {lo} AND {hi})"
                   for t, p, lo, hi in con.execute(
                       f"SELECT load_topic, load_partition, min(load_offset), max(load_offset) FROM f{i} "
                       f"WHERE EXISTS (SELECT 1 FROM f{i} x JOIN hit USING (load_topic, load_partition, load_offset))"
                       f" GROUP BY ALL").fetchall()]
    covered = " OR ".join(ranges)
    names = [r[0] for r in con.execute("DESCRIBE SELECT * FROM src").fetchall()]
    data = con.sql(_changed_rows_sql(f"(SELECT * FROM src WHERE {covered})", change, names)).to_arrow_table()
    metadata = {OFFSETS_KEY: orjson.dumps(table.committed()).decode()}
    write_deltalake(str(table.root), _conform(data, dataset.schema), mode="overwrite", predicate=covered,
                    commit_properties=CommitProperties(custom_metadata=metadata))


def _keys_filter(keys: list[Key]) -> Any:
    """An Iceberg row filter naming exactly these rows: per topic and partition, the offsets in it."""
    from pyiceberg.expressions import And, EqualTo, In, Or

    grouped: dict[tuple[str, int], list[int]] = defaultdict(list)
    for topic, partition, offset in keys:
        grouped[(topic, partition)].append(offset)
    parts = [And(EqualTo("load_topic", topic), EqualTo("load_partition", partition), In("load_offset", offsets))
             for (topic, partition), offsets in sorted(grouped.items())]
    return parts[0] if len(parts) == 1 else Or(*parts)


def _changed_rows_sql(source: str, change: TableChange, names: list[str]) -> str:
    """The rows of ``source`` as they are after ``change`` (kept rows unchanged, selected rows rewritten)."""
    if change.deletes:
        return f"SELECT * FROM {source} WHERE ({change.where}) IS NOT TRUE"
    replaced = ", ".join(f"CASE WHEN ({change.where}) IS TRUE THEN {expression} ELSE {quote(column)} END "
                         f"AS {quote(column)}" for column, expression in change.set.items() if column in names)
    return f"SELECT * REPLACE ({replaced}) FROM {source}"


def _conform(data: Any, schema: Any) -> Any:
    """``data`` in the table's own Arrow schema (DuckDB may hand a column back in a wider type)."""
    import pyarrow as pa

    return pa.Table.from_arrays([data[f.name].cast(f.type) if f.name in data.column_names
                                 else pa.nulls(len(data), f.type) for f in schema], schema=schema)


def _iceberg(table: IcebergTable, change: TableChange) -> None:
    iceberg = table._table()
    con = _connect()
    source = table.source_sql(con, "src")
    assert source is not None and iceberg is not None  # count_rows found rows
    keys: list[Key] = [tuple(r) for r in con.execute(  # type: ignore[misc]
        f"SELECT load_topic, load_partition, load_offset FROM {source} WHERE {change.where}").fetchall()]
    if change.deletes:
        iceberg.delete(delete_filter=_keys_filter(keys))
        return
    assignments = ", ".join(f"{expression} AS {quote(column)}" for column, expression in change.set.items())
    rewritten = con.sql(f"SELECT * REPLACE ({assignments}) FROM {source} WHERE {change.where}").to_arrow_table()
    iceberg.overwrite(_conform(rewritten, iceberg.schema().as_arrow()), overwrite_filter=_keys_filter(keys))


def _parquet(table: ParquetTable, change: TableChange) -> None:
    import pyarrow.parquet as pq

    manifest = table._read_manifest()
    files: list[str] = list(manifest["files"])
    con = _connect()
    replaced: dict[str, str | None] = {}
    for relative in files:
        path = table.root / relative
        source = f"read_parquet({literal(str(path))}, hive_partitioning = false)"
        if not con.execute(f"SELECT count(*) FROM {source} WHERE {change.where}").fetchone()[0]:
            continue
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        data = con.sql(_changed_rows_sql(source, change, names)).to_arrow_table()
        if not data.num_rows:
            replaced[relative] = None  # every row of the file goes: the file leaves the table
            continue
        new_relative = _rewritten_name(relative)
        target = table.root / new_relative
        tmp = target.parent / f".{target.name}.tmp"
        pq.write_table(_conform(data, pq.read_schema(path)), tmp)
        _fsync(tmp)
        os.replace(tmp, target)
        replaced[relative] = new_relative
    if not replaced:
        return
    kept = [replaced.get(f, f) for f in files if replaced.get(f, f) is not None]
    table._write_manifest({"files": sorted(str(f) for f in kept), "offsets": manifest["offsets"]})
    for relative in replaced:
        (table.root / relative).unlink(missing_ok=True)


def _rewritten_name(relative: str) -> str:
    """``<topic>-<partition>-<first>-<last>[.<rewrite>].parquet`` with a new rewrite id: the offset range stays."""
    path = Path(relative)
    stem = path.name.removesuffix(".parquet").split(".rw-")[0]
    return str(path.with_name(f"{stem}.rw-{uuid.uuid4().hex[:12]}.parquet"))
