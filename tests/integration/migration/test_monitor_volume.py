"""``sptk monitor volume`` over a generated archive loaded as the legacy path loads it (DuckDB)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from click.testing import CliRunner

from toolkit.cli.root import main
from toolkit.contract.samples import SampleSpec, generate

START = datetime(2026, 10, 5, tzinfo=UTC)  # a Monday
HOURS = 22 * 24 + 1  # three weeks of baseline and a day to judge; the last hour is cut short and not judged
DROP, SPIKE = 21 * 24 + 10, 21 * 24 + 15  # day 22, 10:00 and 15:00


def archive(tmp_path: Path, injected: bool) -> str:
    """A realistic day-shaped archive (busy office hours), one file per day, loaded with legacy-load."""
    rng = random.Random(7)
    folder = tmp_path / ("injected" if injected else "clean")
    folder.mkdir()
    for hour in range(HOURS):
        at = START + timedelta(hours=hour)
        events = (60 if 9 <= at.hour < 18 else 20) + rng.randint(0, 4)
        if injected and hour == DROP:
            events = 2
        if injected and hour == SPIKE:
            events *= 5
        spec = SampleSpec(events=events, seed=hour, start=at, duration=timedelta(hours=1), parse_failure_ratio=0,
                          schema_failure_ratio=0, late_ratio=0, duplicate_ratio=0)
        with (folder / f"part-{hour // 24:02d}.tsv").open("a") as out:
            out.writelines(line + "\n" for line in generate(spec))
    db = tmp_path / f"{folder.name}.duckdb"
    loaded = CliRunner().invoke(main, ["migrate", "legacy-load", "--input", str(folder), "--warehouse",
                                       f"duckdb:{db}"])
    assert loaded.exit_code == 0, loaded.output
    return f"duckdb:{db}"


def volume(source: str, tmp_path: Path, *args: str) -> tuple[int, dict]:
    report = tmp_path / "volume.json"
    result = CliRunner().invoke(main, ["monitor", "volume", "--source", source, "--window", "1h", "--baseline",
                                       "21d", *args, "--json", str(report)])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, orjson.loads(report.read_bytes())


def test_a_clean_archive_has_no_anomaly(tmp_path: Path) -> None:
    code, report = volume(archive(tmp_path, injected=False), tmp_path)
    assert (code, report["anomalies"]) == (0, [])
    assert report["windows"] == HOURS - 1


def test_injected_drop_and_spike_are_found_with_observed_expected_and_score(tmp_path: Path) -> None:
    source = archive(tmp_path, injected=True)
    code, report = volume(source, tmp_path)
    assert code == 1
    found = [(a["window"], a["direction"], a["observed"]) for a in report["anomalies"]]
    drop_at, spike_at = (START + timedelta(hours=h) for h in (DROP, SPIKE))
    assert found[0] == (drop_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "drop", 2)
    assert found[1][:2] == (spike_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "spike") and found[1][2] >= 300
    assert len(found) == 2
    drop = report["anomalies"][0]
    assert drop["key"] == {} and 60 <= drop["expected"] <= 64 and drop["score"] <= -4
    by_app = volume(source, tmp_path, "--by", "app_id")[1]["anomalies"]
    assert {(a["window"], a["direction"]) for a in by_app} >= {(drop["window"], "drop")}
    assert all(set(a["key"]) == {"app_id"} for a in by_app)


def test_a_window_that_does_not_divide_a_week_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["monitor", "volume", "--source", f"duckdb:{tmp_path / 'x.duckdb'}",
                                       "--window", "5h"])
    assert result.exit_code == 2 and "does not divide a week" in result.output
