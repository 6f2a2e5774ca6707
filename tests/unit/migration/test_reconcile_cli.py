"""`sptk reconcile` end to end on canonical JSON sources (embedded DuckDB: no sockets)."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result

from tests.unit.migration.scenario import (
    bad_row,
    clone,
    eid,
    event,
    events,
    reconcile_files,
    run,
    write_jsonl,
)
from toolkit.cli.root import main


def test_identical_inputs_are_parity_and_the_json_report_is_byte_identical(tmp_path: Path) -> None:
    rows = events(150) + [event(200, name="transaction")]
    first, report = reconcile_files(tmp_path, rows, clone(rows), "--lookback", "0s", "--html", str(tmp_path / "r.html"))
    assert first.exit_code == 0, first.output
    assert first.output.startswith("verdict: PARITY (exit 0)")
    assert report["verdict"] == "parity" and report["reasons"] == []
    assert report["totals"]["legacy"]["event_ids"] == report["totals"]["new"]["event_ids"] == 151
    assert report["totals"]["windows"] == 4 and report["totals"]["windows_diffed"] == 0
    assert report["metrics"]["tr_total"]["legacy"] == 210.0
    bytes_once = (tmp_path / "report.json").read_bytes()
    second, _ = reconcile_files(tmp_path, rows, clone(rows), "--lookback", "0s", "--html", str(tmp_path / "r.html"))
    assert second.exit_code == 0 and (tmp_path / "report.json").read_bytes() == bytes_once


def test_missing_extra_and_modified_events_fail_with_each_id_in_its_bucket(tmp_path: Path) -> None:
    legacy = events(120)
    new = clone(legacy)
    new = [r for r in new if r["event_id"] != eid(10)]  # missing on the new side
    new.append(event(500, minute=30))  # extra on the new side (old enough not to be pending)
    new[20]["page_title"] = "Changed title"  # eid(21): the list shifted by one
    result, report = reconcile_files(tmp_path, legacy, new)
    assert result.exit_code == 2, result.output
    assert report["verdict"] == "fail"
    assert report["only_legacy"] == {"count": 1, "sample": [eid(10)]}
    assert report["only_new"] == {"count": 1, "sample": [eid(500)]}
    assert report["modified"]["count"] == 1 and report["modified"]["sample"] == [eid(21)]
    assert report["modified"]["columns"] == {"page_title": 1}
    assert report["pending"]["count"] == 0
    assert "only in legacy" in result.output and "page_title (1)" in result.output
    differing = [w for w in report["windows"] if w["differences"]]
    assert [w["start"] for w in differing] == ["2024-05-01T10:00:00Z"]
    assert differing[0]["differences"] == {"modified": 1, "only_legacy": 1, "only_new": 1}


def test_natural_and_synthetic_duplicates_are_counted_per_side(tmp_path: Path) -> None:
    legacy = events(30)
    legacy.append(event(3))  # natural duplicate: same event_id and fingerprint
    legacy.append(event(4, event_fingerprint="fp-other", page_title="Other"))  # synthetic: same id, other fingerprint
    result, report = reconcile_files(tmp_path, legacy, events(30))
    assert report["duplicates"] == {"legacy": {"natural": 1, "synthetic_event_ids": 1},
                                    "new": {"natural": 0, "synthetic_event_ids": 0}}
    assert report["totals"]["legacy"] == {"event_ids": 30, "rows": 32,
                                          "latest_collector_tstamp": "2024-05-01T10:29:00.25Z"}
    # distinct event_id: the representative row (smallest fingerprint) matches, so no event differs
    assert report["modified"]["count"] == 0 and report["only_legacy"]["count"] == 0
    assert result.exit_code == 1 and report["verdict"] == "warn"
    assert any("duplicates differ" in r for r in report["reasons"])
    strict, _ = reconcile_files(tmp_path, legacy, events(30), "--fail-on", "duplicates")
    assert strict.exit_code == 2


def test_a_late_event_is_pending_inside_the_lookback_then_reconciled(tmp_path: Path) -> None:
    legacy = events(180)  # 10:00 .. 12:59
    new = [r for r in clone(legacy) if r["event_id"] != eid(179)]  # the latest event has not arrived yet
    result, report = reconcile_files(tmp_path, legacy, new, "--lookback", "2h")
    assert result.exit_code == 1, result.output
    assert report["pending"] == {"count": 1, "sample": [eid(179)]} and report["only_legacy"]["count"] == 0
    assert report["windows"][-1]["open"] and report["windows"][-1]["differences"] == {"pending": 1}
    # without a lookback the same absence is a loss
    late, late_report = reconcile_files(tmp_path, legacy, new, "--lookback", "0s",
                                        "--as-of", "2024-05-01T13:00:00Z")
    assert late.exit_code == 2 and late_report["only_legacy"]["sample"] == [eid(179)]
    # the late event lands: parity
    arrived, arrived_report = reconcile_files(tmp_path, legacy, new + [event(179)], "--lookback", "2h")
    assert arrived.exit_code == 0 and arrived_report["pending"]["count"] == 0


def test_window_edges_with_millisecond_vs_microsecond_precision(tmp_path: Path) -> None:
    # the legacy loader kept milliseconds (truncating or rounding), the Kafka path keeps microseconds
    new = [event(1, collector_tstamp="2024-05-01T10:59:59.999999Z"),
           event(2, collector_tstamp="2024-05-01T11:00:00.000000Z"),
           event(3, collector_tstamp="2024-05-01T10:59:59.999600Z"),
           event(4, collector_tstamp="2024-05-01T11:59:59.999999Z", dvce_created_tstamp="2024-05-01T11:59:58.123456Z")]
    legacy = clone(new)
    legacy[0]["collector_tstamp"] = "2024-05-01T10:59:59.999Z"  # truncated: same window
    legacy[2]["collector_tstamp"] = "2024-05-01T11:00:00.000Z"  # rounded up: crosses into the next window
    legacy[3]["dvce_created_tstamp"] = "2024-05-01T11:59:58.123Z"
    result, report = reconcile_files(tmp_path, legacy, new, "--lookback", "0s")
    assert result.exit_code == 0, result.output
    assert report["modified"]["count"] == 0 and report["only_legacy"]["count"] == 0
    exact, exact_report = reconcile_files(tmp_path, legacy, new, "--lookback", "0s",
                                          "--rule", "timestamp_precision=us")
    assert exact.exit_code == 2
    assert exact_report["modified"]["columns"] == {"collector_tstamp": 2, "dvce_created_tstamp": 1}
    assert exact_report["modified"]["sample"] == [eid(1), eid(3), eid(4)]


def test_a_ten_percent_loss_of_one_event_type_that_the_total_hides_fails(tmp_path: Path) -> None:
    legacy = [event(i) for i in range(100)] + [event(100 + i, name="link_click") for i in range(50)]
    new = [event(i) for i in range(100)] + [event(100 + i, name="link_click") for i in range(45)]
    new += [event(300 + i, minute=i) for i in range(5)]  # five extra page views keep the total at 150
    result, report = reconcile_files(tmp_path, legacy, new)
    assert report["totals"]["legacy"]["event_ids"] == report["totals"]["new"]["event_ids"] == 150
    assert result.exit_code == 2
    types = {t["event_name"]: t for t in report["by_event_type"]}
    assert types["link_click"]["legacy"] == 50 and types["link_click"]["new"] == 45
    assert types["link_click"]["status"] == "fail" and types["link_click"]["differences"] == {"only_legacy": 5}
    assert any("link_click" in r and "50 legacy vs 45 new" in r for r in report["reasons"])


def test_an_event_rejected_on_one_side_is_reported_with_its_bad_row_type(tmp_path: Path) -> None:
    legacy = events(40)
    new = [r for r in clone(legacy) if r["event_id"] != eid(5)]
    result, report = reconcile_files(tmp_path, legacy, new, new_bad=[bad_row(eid(5)), bad_row("unrelated", "x")])
    assert result.exit_code == 1, result.output
    assert report["rejected"] == {"count": 1, "sample": [eid(5)], "by_type": {"schema_violations": 1}}
    assert report["only_legacy"]["count"] == 0
    assert report["bad_rows"]["new"] == {"schema_violations": 1, "x": 1}
    strict, _ = reconcile_files(tmp_path, legacy, new, "--fail-on", "rejected", new_bad=[bad_row(eid(5))])
    assert strict.exit_code == 2


def test_a_source_failing_mid_run_is_undecided_never_parity(tmp_path: Path) -> None:
    rows = events(400)
    legacy = write_jsonl(tmp_path / "legacy.jsonl", rows)
    payload = gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    broken = tmp_path / "new.jsonl.gz"
    broken.write_bytes(payload[: len(payload) // 2])  # the archive is cut off half way
    report = tmp_path / "r.json"
    result = run("--legacy", f"jsonl:{legacy}", "--new", f"jsonl:{broken}", "--json", str(report))
    assert result.exit_code == 3, result.output
    document = orjson.loads(report.read_bytes())
    assert document["verdict"] == "undecided" and "truncated or corrupt" in document["error"]
    assert "UNDECIDED" in result.output
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_bytes((tmp_path / "legacy.jsonl").read_bytes() + b"{not json\n")
    again = run("--legacy", f"jsonl:{legacy}", "--new", f"jsonl:{garbled}")
    assert again.exit_code == 3 and "garbled.jsonl:401: not JSON" in again.output


def test_normalisation_rules_hide_known_loader_differences_and_can_be_switched_off(tmp_path: Path) -> None:
    legacy = events(20)
    new = clone(legacy)
    new[1]["contexts_com_acme_page_1"] = [{"section": "news", "id": 1}]  # key order
    new[2]["contexts_com_acme_page_1"] = [{"id": 2, "section": "news", "_schema_version": "1-0-0"}]
    new[3]["contexts_com_acme_page_1"] = [{"id": 3, "section": "news", "extra": None}]  # null kept as a key
    new[4]["page_title"] = ""  # empty string where the other loader wrote nothing
    legacy[4].pop("page_title")
    result, report = reconcile_files(tmp_path, legacy, new)
    assert result.exit_code == 0, result.output
    raw, raw_report = reconcile_files(tmp_path, legacy, new, "--rule", "json_key_order=off", "--rule",
                                      "schema_version=off", "--rule", "nulls_omitted=off")
    assert raw.exit_code == 2
    # key order alone names no field; the version and the null-valued key are named
    assert raw_report["modified"]["columns"] == {"contexts_com_acme_page_1": 3,
                                                 "contexts_com_acme_page_1._schema_version": 1,
                                                 "contexts_com_acme_page_1.extra": 1}
    assert raw_report["null_only"]["columns"] == {"page_title": 1}
    assert raw_report["settings"]["rules"]["json_key_order"] is False


def test_an_entity_type_one_side_drops_entirely_is_a_modification(tmp_path: Path) -> None:
    legacy = events(10)
    new = clone(legacy)
    for row in new:
        row.pop("contexts_com_acme_page_1")
    result, report = reconcile_files(tmp_path, legacy, new)
    assert report["null_only"]["columns"] == {"contexts_com_acme_page_1": 10}
    assert result.exit_code == 1


def test_usage_errors_exit_3_not_2(tmp_path: Path) -> None:
    rows = write_jsonl(tmp_path / "a.jsonl", events(3))
    assert run("--legacy", f"jsonl:{rows}").exit_code == 3
    assert run("--legacy", f"jsonl:{rows}", "--new", "mysql://x").exit_code == 3
    bad_window = run("--legacy", f"jsonl:{rows}", "--new", f"jsonl:{rows}", "--window", "an hour")
    assert bad_window.exit_code == 3 and "is not a duration" in bad_window.output
    missing = run("--legacy", f"jsonl:{rows}", "--new", f"jsonl:{tmp_path / 'nope.jsonl'}")
    assert missing.exit_code == 3 and "does not exist" in missing.output


def test_the_html_report_charts_both_sides_and_highlights_differences(tmp_path: Path) -> None:
    legacy = events(90)
    new = [r for r in clone(legacy) if r["event_id"] != eid(70)]
    html = tmp_path / "r.html"
    result, _ = reconcile_files(tmp_path, legacy, new, "--html", str(html))
    page = html.read_text()
    assert result.exit_code == 2 and f"html report: {html}" in result.output
    assert page.count("<svg") == 2 and "a red band marks a bar with a window that differs" in page
    assert eid(70) in page and 'fill="#ffebe9"' in page
    assert "<td>2024-05-01 11:00 .. 2024-05-01 12:00</td><td>30 events / 30 rows</td><td>29 events / 29 rows</td>" \
           "<td>yes</td><td>only_legacy 1</td>" in page
    assert "<script" not in page


def _invoke(*args: str) -> Result:
    """``sptk reconcile`` as a user runs it: an exception that escapes is what the exit code shows."""
    return CliRunner().invoke(main, ["reconcile", *args])


def _no_traceback(result: Result) -> bool:
    return result.exception is None or isinstance(result.exception, SystemExit)


def test_an_empty_or_corrupt_duckdb_source_is_undecided_with_one_clear_line(tmp_path: Path) -> None:
    rows = write_jsonl(tmp_path / "new.jsonl", events(3))
    empty = tmp_path / "empty.duckdb"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"DUCK" + bytes(range(256)) * 64)
    for broken in (empty, corrupt):
        result = _invoke("--legacy", f"duckdb:{broken}", "--new", f"jsonl:{rows}")
        assert result.exit_code == 3, result.output
        assert _no_traceback(result), result.exception
        assert f"DuckDB file {broken} cannot be read" in result.output
        assert "not a valid DuckDB database" in result.output and "reconcile a copy" in result.output


def test_a_duckdb_source_another_process_is_writing_is_undecided(tmp_path: Path) -> None:
    """A running kafka-load holds its warehouse file open for writing; reconcile must not read that as warn."""
    held = tmp_path / "kafka.duckdb"
    rows = write_jsonl(tmp_path / "legacy.jsonl", events(3))
    writer = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
                               "con.execute('CREATE TABLE t (a INT)'); print('ready', flush=True); sys.stdin.read()",
         str(held)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        result = _invoke("--legacy", f"jsonl:{rows}", "--new", f"duckdb:{held}")
    finally:
        writer.communicate("", timeout=30)
    assert result.exit_code == 3, result.output
    assert _no_traceback(result), result.exception
    assert f"DuckDB file {held} cannot be read" in result.output and "lock" in result.output
    assert "another process is writing it" in result.output


def test_any_unexpected_failure_is_undecided_never_warn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = write_jsonl(tmp_path / "a.jsonl", events(3))
    sides = ("--legacy", f"jsonl:{rows}", "--new", f"jsonl:{rows}")
    bad_limit = _invoke(*sides, "--memory-limit", "lots")
    assert bad_limit.exit_code == 3 and _no_traceback(bad_limit) and "--memory-limit 'lots'" in bad_limit.output
    unwritable = _invoke(*sides, "--json", str(tmp_path))  # a directory, not a file
    assert unwritable.exit_code == 3 and _no_traceback(unwritable)
    assert f"cannot write the JSON report to {tmp_path}" in unwritable.output

    import migration.reconcile.engine as engine

    def broken(*_: object) -> None:
        raise RuntimeError("an internal check failed")

    monkeypatch.setattr(engine, "reconcile", broken)
    crashed = _invoke(*sides)
    assert crashed.exit_code == 3 and _no_traceback(crashed)
    assert "sptk reconcile: unexpected RuntimeError" in crashed.output and "exit 3" in crashed.output
    assert "an internal check failed" in crashed.output

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(engine, "reconcile", interrupted)
    stopped = _invoke(*sides)
    assert stopped.exit_code == 3 and "interrupted" in stopped.output


def test_reconcile_shows_its_stages_on_stderr_and_keeps_stdout_for_the_verdict(tmp_path: Path) -> None:
    legacy = events(60)
    new = [r for r in clone(legacy) if r["event_id"] != eid(3)]
    sides = [f"jsonl:{write_jsonl(tmp_path / f'{name}.jsonl', rows)}" for name, rows in (("l", legacy), ("n", new))]
    result = CliRunner().invoke(main, ["reconcile", "--legacy", sides[0], "--new", sides[1], "--lookback", "0s",
                                       "--json", str(tmp_path / "r.json")], env={"SPTK_PROGRESS_INTERVAL_S": "0"})
    assert result.exit_code == 2, result.output
    stages = [line.split("; ", 1)[1] for line in result.stderr.splitlines()]
    assert result.stderr.startswith("[sptk] reconcile: 1 steps, ")
    assert stages[:3] == [f"reading the legacy side ({sides[0]})", f"reading the new side ({sides[1]})",
                          "counting and checksumming the legacy side per window"]
    assert "key-level diff of the 1 windows that differ" in stages
    assert result.stderr.splitlines()[-1].startswith("[sptk] reconcile: done, 8 steps")
    assert result.stdout.startswith("verdict: FAIL (exit 2)") and "[sptk]" not in result.stdout


def test_json_alone_puts_the_report_on_stdout_and_the_verdict_on_stderr(tmp_path: Path) -> None:
    legacy = events(30)
    new = [r for r in clone(legacy) if r["event_id"] != eid(3)]
    to_file, report = reconcile_files(tmp_path, legacy, new)
    sides = ("--legacy", f"jsonl:{tmp_path / 'legacy.jsonl'}", "--new", f"jsonl:{tmp_path / 'new.jsonl'}",
             "--lookback", "0s")
    for spelling in (["--json"], ["--json", "-"]):
        result = run(*sides, *spelling)
        assert result.exit_code == 2, result.output
        assert result.stdout_bytes == (tmp_path / "report.json").read_bytes()  # the same bytes as the file
        assert result.stderr.startswith("verdict: FAIL (exit 2)") and "json report" not in result.stderr
    assert to_file.stdout.startswith("verdict: FAIL (exit 2)") and f"json report: {tmp_path / 'report.json'}" in \
        to_file.stdout and report["verdict"] == "fail"
