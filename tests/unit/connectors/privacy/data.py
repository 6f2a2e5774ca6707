"""A small estate to forget people in: events of seven users and bad rows, loaded by the toolkit's own loaders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import orjson
from click.testing import CliRunner, Result

from connectors.warehouse import Warehouse
from connectors.warehouse.bad_rows import BadRowRecord
from connectors.warehouse.lakes import LakeWarehouse, open_table, parse_lake_url
from connectors.warehouse.rows import Provenance
from tests.unit.migration.scenario import events
from toolkit.cli.root import main

TOPIC = "prod.acme.snowplow.enriched"
BAD_TOPIC = "prod.acme.snowplow.bad"
N = 70  # user-0 .. user-6, ten events each
SALT_ENV, KEY_ENV = "SPTK_TEST_AUDIT_SALT", "SPTK_TEST_PSEUDONYM_KEY"


def rows(n: int = N, day: str = "2024-05-01") -> list[tuple[dict[str, Any], Provenance]]:
    out = []
    for i, row in enumerate(events(n)):
        row["collector_tstamp"] = row["collector_tstamp"].replace("2024-05-01", day)
        out.append((row, Provenance.kafka(TOPIC, 0, i)))
    return out


def bad_rows() -> list[BadRowRecord]:
    """user-3's event 3 failed too (found by event id); one failure quotes user-3; one quotes user-33 (not user-3)."""
    return [
        BadRowRecord("00000000-0000-4000-8000-000000000003", "schema_violations", '{"messages":["x"]}',
                     Provenance.kafka(BAD_TOPIC, 0, 0)),
        BadRowRecord(None, "loader_parsing_error", '{"domain_userid":"user-3","reason":"bad field"}',
                     Provenance.kafka(BAD_TOPIC, 0, 1)),
        BadRowRecord(None, "loader_parsing_error", '{"domain_userid":"user-33"}', Provenance.kafka(BAD_TOPIC, 0, 2)),
        BadRowRecord("00000000-0000-4000-8000-000000000001", "schema_violations", '{"messages":["y"]}',
                     Provenance.kafka(BAD_TOPIC, 0, 3)),
    ]


def load_warehouse(url: str, estate: list[tuple[dict[str, Any], Provenance]] | None = None) -> None:
    with Warehouse.open(url) as w:
        w.load(estate if estate is not None else rows())
        w.load_bad_rows(bad_rows())


def load_lake(url: str, estate: list[tuple[dict[str, Any], Provenance]] | None = None) -> None:
    with LakeWarehouse.open(url) as lake:
        lake.load(estate if estate is not None else rows())
        lake.load_bad_rows(bad_rows())


def lake_query(url: str, table: str, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    assert open_table(parse_lake_url(url)[0], table).scan(con, "t")
    return con.execute(sql.replace("{t}", "t")).fetchall()


def config(tmp: Path, mode: str = "delete", windows: str = "") -> Path:
    path = tmp / "privacy.toml"
    path.write_text(f'[requests]\nmode = "{mode}"\naudit_salt_env = "{SALT_ENV}"\n'
                    f'pseudonymisation_key_env = "{KEY_ENV}"\n' + (f"[retention]\nwindows = {windows}\n" if windows
                                                                   else ""))
    return path


ENV = {SALT_ENV: "pepper-for-tests", KEY_ENV: "k3y-for-tests", "SPTK_PROGRESS": "never"}


def sptk(*args: str) -> Result:
    return CliRunner(env=ENV).invoke(main, ["privacy", *args], catch_exceptions=False)


def forget_json(*args: str) -> tuple[Result, dict[str, Any]]:
    result = sptk("forget", *args, "--json")
    return result, orjson.loads(result.stdout) if result.stdout.strip().startswith("{") else {}


def by_target(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["target"].split(" ")[0]: t for t in document["targets"]}
