"""`sptk privacy retain`: only rows older than each table's window go, in a warehouse and in each lake format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import orjson
import pytest

from connectors.warehouse.rows import Provenance
from tests.unit.connectors.privacy.data import config, lake_query, load_lake, load_warehouse, rows, sptk


def _estate() -> list[tuple[dict[str, object], Provenance]]:
    """Events 0..19 from 2024 and 20..39 from yesterday."""
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    return rows(40)[:20] + rows(40, day=yesterday)[20:]


def test_retain_removes_only_events_older_than_the_window_and_bad_rows_by_their_own(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    load_warehouse(f"duckdb:{db}", _estate())
    cfg = str(config(tmp_path, windows='{ bad_rows = "1h" }'))  # bad rows were loaded just now: they stay
    args = ("retain", "--older-than", "30d", "--warehouse", f"duckdb:{db}", "--config", cfg)

    dry = sptk(*args, "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    assert orjson.loads(dry.stdout)["targets"][0]["counts"] == {"events": 20, "bad_rows": 0}
    real = sptk(*args, "--json")
    assert real.exit_code == 0, real.output
    document = orjson.loads(real.stdout)
    assert document["targets"][0]["counts"] == {"events": 20, "bad_rows": 0}
    assert document["windows"] == {"bad_rows": "1h", "events": "30d"}
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT min(collector_tstamp) > now()::TIMESTAMP - INTERVAL 2 DAY, count(*) "
                       "FROM atomic.events").fetchone() == (True, 20)
    assert con.execute("SELECT count(*) FROM atomic.bad_rows").fetchone() == (4,)
    audit = con.execute("SELECT action, dry_run, affected, subject_hash, detail FROM sptk_audit.privacy_requests "
                        "ORDER BY recorded_at").fetchall()
    con.close()
    assert [a[:4] for a in audit] == [("retain", True, 20, None), ("retain", False, 20, None)]
    assert set(orjson.loads(audit[1][4])["cutoffs"]) == {"events", "bad_rows"}
    assert sptk(*args).output.count("events 0") == 1  # a second run finds nothing older


@pytest.mark.parametrize("fmt", ["parquet", "delta", "iceberg"])
def test_retain_in_a_lake(fmt: str, tmp_path: Path) -> None:
    url = f"{fmt}:{tmp_path / 'lake'}"
    load_lake(url, _estate())
    result = sptk("retain", "--older-than", "30d", "--lake", url, "--json")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["targets"][0]["counts"] == {"events": 20, "bad_rows": 0}
    assert lake_query(url, "events", "SELECT count(*), min(load_offset) FROM {t}") == [(20, 20)]


def test_retain_needs_a_window_for_every_table(tmp_path: Path) -> None:
    result = sptk("retain", "--warehouse", f"duckdb:{tmp_path / 'w.duckdb'}",
                  "--config", str(config(tmp_path, windows='{ events = "400d" }')))
    assert result.exit_code == 2
    assert "no retention window for bad_rows: give --older-than DURATION" in result.stderr
    bad = sptk("retain", "--older-than", "30 days", "--warehouse", f"duckdb:{tmp_path / 'w.duckdb'}")
    assert bad.exit_code == 2 and "'30 days' is not a duration" in bad.stderr
    unknown = sptk("retain", "--warehouse", f"duckdb:{tmp_path / 'w.duckdb'}",
                   "--config", str(config(tmp_path, windows='{ sessions = "4d" }')))
    assert unknown.exit_code == 2 and "unknown table(s) sessions" in unknown.stderr


def test_the_example_privacy_file_loads() -> None:
    from connectors.privacy.config import PrivacyOpsConfig
    from toolkit.config.loading import load_settings

    example = Path(__file__).resolve().parents[4] / "examples" / "privacy" / "privacy.toml"
    cfg = load_settings(example, PrivacyOpsConfig, environ={"SPTK_PRIVACY_AUDIT_SALT": "s",
                                                            "SPTK_PSEUDONYMISATION_KEY": "k"})
    assert cfg.requests is not None and cfg.requests.mode == "delete"
    assert cfg.retention.windows == {"events": "400d", "bad_rows": "30d"}
