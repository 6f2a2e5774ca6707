"""`sptk iglu deprecations`: the deprecated schemas and their live usage in a real DuckDB warehouse or Parquet files."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import yaml
from click.testing import CliRunner

from toolkit.cli.iglu import iglu

ROWS = [("com.acme", "old_click", "jsonschema", "1-0-0", "2026-05-01 10:00:00"),
        ("com.acme", "old_click", "jsonschema", "1-0-1", "2026-06-02 11:00:00"),
        ("com.acme", "old_click", "jsonschema", "1-0-1", "2026-06-03 12:00:00"),
        ("com.acme", "click", "jsonschema", "1-0-0", "2026-06-04 12:00:00"),
        ("", "", "", "", "2026-06-04 12:00:00")]


def governance(tmp_path: Path) -> Path:
    path = tmp_path / "governance.yml"
    path.write_text(yaml.safe_dump({"deprecations": [
        {"schema": "iglu:com.acme/old_click/jsonschema/1-*-*", "deprecated": "2026-01-15", "sunset": "2026-06-30",
         "replacement": "iglu:com.acme/click/jsonschema/1-0-0"},
        {"schema": "iglu:com.acme/unused/jsonschema/1-0-0", "deprecated": "2026-02-01"}]}))
    return path


def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA atomic")
        con.execute("CREATE TABLE atomic.events (event_vendor VARCHAR, event_name VARCHAR, event_format VARCHAR, "
                    "event_version VARCHAR, collector_tstamp TIMESTAMP)")
        con.executemany("INSERT INTO atomic.events VALUES (?, ?, ?, ?, ?)", ROWS)
        con.execute(f"COPY atomic.events TO '{tmp_path / 'events.parquet'}' (FORMAT parquet)")
    return path


def test_deprecations_with_their_usage_in_duckdb_and_parquet(tmp_path: Path) -> None:
    gov, wh = governance(tmp_path), warehouse(tmp_path)
    for source in (f"duckdb:{wh}", f"parquet:{tmp_path / '*.parquet'}"):
        result = CliRunner().invoke(iglu, ["deprecations", "--governance", str(gov), "--source", source])
        assert result.exit_code == 0, result.output
        assert (f"iglu:com.acme/old_click/jsonschema/1-*-*: deprecated since 2026-01-15, sunset 2026-06-30; send "
                f"iglu:com.acme/click/jsonschema/1-0-0 instead; 3 event(s) in {source}, last 2026-06-03 12:00:00"
                in result.output)
        assert f"iglu:com.acme/unused/jsonschema/1-0-0: deprecated since 2026-02-01; 0 event(s) in {source}" \
            in result.output
    listed = CliRunner().invoke(iglu, ["deprecations", "--governance", str(gov), "--source", f"duckdb:{wh}",
                                       "--json", "-"])
    first = json.loads(listed.stdout)["deprecations"][0]
    assert first["versions"] == {"iglu:com.acme/old_click/jsonschema/1-0-0": 1,
                                 "iglu:com.acme/old_click/jsonschema/1-0-1": 2}


def test_an_unusable_source_is_one_clear_line(tmp_path: Path) -> None:
    gov = governance(tmp_path)
    for source, fragment in ((f"duckdb:{tmp_path / 'nope.duckdb'}", "is not a DuckDB file"),
                             ("warehouse", "expected duckdb:PATH"),
                             (f"duckdb:{warehouse(tmp_path)}?schema=kafka", "cannot count events per schema")):
        result = CliRunner().invoke(iglu, ["deprecations", "--governance", str(gov), "--source", source])
        assert result.exit_code == 2 and fragment in result.output, result.output
        assert "Traceback" not in result.output
