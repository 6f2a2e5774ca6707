"""Lake tables (Parquet files, Delta and Iceberg tables) as load targets and reconcile sources.

A lake location holds two tables, ``events`` and ``bad_rows``, as a warehouse schema does.
Each table records the Kafka offsets it has committed in its own commit metadata, so a
replayed offset range adds nothing and a crash mid-write leaves nothing half-visible.
"""

from connectors.warehouse.lakes.tables import LakeTable, open_table
from connectors.warehouse.lakes.url import FORMATS, LakeURL, is_lake_url, parse_lake_url
from connectors.warehouse.lakes.writer import LakeWarehouse

__all__ = ["FORMATS", "LakeTable", "LakeURL", "LakeWarehouse", "is_lake_url", "open_table", "parse_lake_url"]
