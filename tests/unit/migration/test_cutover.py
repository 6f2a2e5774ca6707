"""Cutover tracking: `sptk reconcile history` and `sptk reconcile signoff` over a week of real reports.

The reports are made by the real `sptk reconcile` on DuckDB warehouses (one per day, both paths in
two schemas), so the history reads exactly what a scheduled job leaves behind.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from connectors.warehouse import Provenance, Warehouse
from connectors.warehouse.loader import Dedup
from tests.unit.migration.scenario import clone, eid, event, run
from toolkit.cli.root import main

DAYS = [f"2024-05-{d:02d}" for d in range(1, 8)]
FAILING_DAY, WARN_DAY = DAYS[3], DAYS[5]  # a loss on the 4th; duplicates on the legacy side on the 6th


def day_events(day: str, n: int = 24) -> list[dict[str, Any]]:
    number = int(day[-2:])
    return [event(i, event_id=eid(number * 1000 + i), collector_tstamp=f"{day}T{i % 24:02d}:{i % 60:02d}:00.250Z")
            for i in range(n)]


def _load(url: str, rows: list[dict[str, Any]]) -> None:
    with Warehouse.open(url) as wh:
        wh.load([(r, Provenance.file_line("archive", i + 1)) for i, r in enumerate(rows)])


def reconcile_day(tmp: Path, day: str, reports: Path) -> Result:
    legacy = day_events(day)
    new = clone(legacy)
    if day == FAILING_DAY:
        new = new[:-3]  # three events lost on the Kafka path
    db = tmp / f"{day}.duckdb"
    _load(f"duckdb:{db}?schema=legacy", legacy)
    _load(f"duckdb:{db}?schema=kafka", new)
    if day == WARN_DAY:  # the legacy loader kept a natural duplicate: explained, a warn
        with Warehouse.open(f"duckdb:{db}?schema=legacy") as wh:
            wh.load([(legacy[0], Provenance.file_line("archive-replayed", 1))], Dedup.NONE)
    return run("--legacy", f"duckdb:{db}?schema=legacy", "--new", f"duckdb:{db}?schema=kafka",
               "--lookback", "0s", f"--json={reports / f'{day}.json'}")


def make_week(tmp: Path) -> Path:
    """The week's reports in ``tmp/reports``, made by the real `sptk reconcile` (shared with the history page)."""
    reports = tmp / "reports"
    codes = {day: reconcile_day(tmp, day, reports).exit_code for day in DAYS}
    assert codes == {day: 2 if day == FAILING_DAY else 1 if day == WARN_DAY else 0 for day in DAYS}
    return reports


def sptk(*args: str) -> Result:
    return CliRunner().invoke(main, ["reconcile", *args])


def history_json(*args: str) -> tuple[Result, dict[str, Any]]:
    result = sptk("history", *args, "--json")
    return result, orjson.loads(result.stdout)


def test_a_week_gives_a_row_per_day_and_the_streak_counts_from_after_the_failing_day(reports: Path) -> None:
    result = sptk("history", str(reports))
    assert result.exit_code == 0, result.output
    rows = {line[:10]: line for line in result.stdout.splitlines() if re.match(r"\d{4}-\d\d-\d\d ", line)}
    assert list(rows) == DAYS
    assert " fail " in rows[FAILING_DAY] and "only_legacy 3" in rows[FAILING_DAY]
    assert " warn " in rows[WARN_DAY] and "duplicates differ" in rows[WARN_DAY] and " parity " in rows[DAYS[-1]]
    assert "24 windows, 0 diffed" in rows[DAYS[0]] and " 4/4 ok " in rows[DAYS[0]]
    # warn does not count by default: only the last day passes
    assert f"streak: 1 passing day ({DAYS[-1]})" in result.stdout
    warned = sptk("history", str(reports), "--allow-warn")
    assert f"streak: 3 passing days ({DAYS[4]} .. {DAYS[6]})" in warned.stdout, warned.output


def test_require_streak_exits_1_until_met_and_0_when_met(reports: Path) -> None:
    assert sptk("history", str(reports), "--require-streak", "1").exit_code == 0
    unmet = sptk("history", str(reports), "--require-streak", "2")
    assert unmet.exit_code == 1 and "not met: 1 of 2 passing days" in unmet.stdout, unmet.output
    assert sptk("history", str(reports), "--allow-warn", "--require-streak", "3").exit_code == 0
    assert sptk("history", str(reports), "--allow-warn", "--require-streak", "4").exit_code == 1
    # the failing day is the one that breaks it: without its report the week has one gap instead
    (reports / f"{FAILING_DAY}.json").unlink()
    gap = sptk("history", str(reports), "--allow-warn", "--require-streak", "4")
    assert gap.exit_code == 1 and f"{FAILING_DAY}  no    (no report)" in gap.stdout, gap.output


def test_signoff_appends_a_record_with_the_report_hash_verdict_owner_time_and_note(reports: Path) -> None:
    report = reports / f"{DAYS[-1]}.json"
    first = sptk("signoff", "--report", str(report), "--owner", "alice", "--note", "dashboards agree")
    assert first.exit_code == 0, first.output
    second = sptk("signoff", "--report", str(report), "--owner", "bob")
    assert second.exit_code == 0, second.output
    log = reports / "signoffs.jsonl"
    records = [orjson.loads(line) for line in log.read_bytes().splitlines()]
    digest = hashlib.sha256(report.read_bytes()).hexdigest()
    assert [(r["owner"], r["sha256"], r["verdict"], r["note"], r["forced"]) for r in records] == [
        ("alice", digest, "parity", "dashboards agree", False), ("bob", digest, "parity", None, False)]
    assert records[0]["report"] == report.name and records[0]["day"] == DAYS[-1]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", records[0]["signed_at"])
    assert digest in first.stdout and "alice" in first.stdout


def test_signoff_refuses_a_failing_report_unless_forced_with_a_note(reports: Path) -> None:
    failing = reports / f"{FAILING_DAY}.json"
    refused = sptk("signoff", "--report", str(failing), "--owner", "alice")
    assert refused.exit_code == 2 and refused.stdout == ""
    [line] = refused.stderr.splitlines()
    assert line.startswith("sptk reconcile signoff: ") and "verdict is fail" in line and "--force" in line
    assert not (reports / "signoffs.jsonl").exists()
    no_note = sptk("signoff", "--report", str(failing), "--owner", "alice", "--force")
    assert no_note.exit_code == 2 and "--note" in no_note.stderr
    forced = sptk("signoff", "--report", str(failing), "--owner", "alice", "--force", "--note", "known test data")
    assert forced.exit_code == 0, forced.output
    [record] = [orjson.loads(line) for line in (reports / "signoffs.jsonl").read_bytes().splitlines()]
    assert record["forced"] is True and record["verdict"] == "fail" and record["note"] == "known test data"


def test_require_signoff_needs_each_owner_on_the_streak_s_last_report(reports: Path) -> None:
    log = reports.parent / "elsewhere" / "owners.jsonl"
    gate = ("--allow-warn", "--require-streak", "3", "--require-signoff", "alice", "--require-signoff", "bob",
            "--log", str(log))
    sptk("signoff", "--report", str(reports / f"{DAYS[-2]}.json"), "--owner", "bob", "--log", str(log))
    sptk("signoff", "--report", str(reports / f"{DAYS[-1]}.json"), "--owner", "alice", "--log", str(log))
    unsigned = sptk("history", str(reports), *gate)
    assert unsigned.exit_code == 1, unsigned.output
    assert f"not met: no sign-off by bob on {DAYS[-1]}.json" in unsigned.stdout
    sptk("signoff", "--report", str(reports / f"{DAYS[-1]}.json"), "--owner", "bob", "--log", str(log))
    signed = sptk("history", str(reports), *gate)
    assert signed.exit_code == 0, signed.output
    assert re.search(rf"^{DAYS[-1]} .* alice, bob$", signed.stdout, re.M), signed.stdout
    assert "gate: met" in signed.stdout


def test_a_report_changed_after_its_signoff_is_named_and_the_signoff_no_longer_counts(reports: Path) -> None:
    report = reports / f"{DAYS[-1]}.json"
    assert sptk("signoff", "--report", str(report), "--owner", "alice").exit_code == 0
    signed = hashlib.sha256(report.read_bytes()).hexdigest()
    report.write_bytes(report.read_bytes().replace(b'"sample_size": 10', b'"sample_size": 11'))
    result = sptk("history", str(reports), "--require-signoff", "alice")
    assert result.exit_code == 1, result.output
    [line] = [line for line in result.stdout.splitlines() if "changed after" in line]
    assert f"{DAYS[-1]}.json" in line and "alice" in line and signed[:12] in line
    assert "not met: no sign-off by alice" in result.stdout


def test_history_json_shape(reports: Path) -> None:
    sptk("signoff", "--report", str(reports / f"{DAYS[-1]}.json"), "--owner", "alice", "--note", "ok")
    result, doc = history_json(str(reports), "--require-streak", "2")
    assert result.exit_code == 1
    assert doc["format"] == "sptk-reconcile-history/1" and doc["allow_warn"] is False
    assert [d["day"] for d in doc["days"]] == DAYS and doc["undated"] == []
    failing = doc["days"][3]
    assert (failing["verdict"], failing["passing"]) == ("fail", False)
    [entry] = failing["reports"]
    assert entry["path"] == str(reports / f"{FAILING_DAY}.json") and entry["verdict"] == "fail"
    assert entry["sha256"] == hashlib.sha256((reports / f"{FAILING_DAY}.json").read_bytes()).hexdigest()
    assert entry["buckets"]["only_legacy"] == 3 and set(entry["buckets"]) == {
        "only_legacy", "only_new", "modified", "null_only", "pending", "rejected"}
    assert entry["windows"] == {"total": 24, "diffed": 3} and entry["metrics"]["page_views"]["ok"] is False
    assert entry["as_of"].startswith(FAILING_DAY) and entry["signoffs"] == []
    [signoff] = doc["days"][-1]["reports"][0]["signoffs"]
    assert signoff["owner"] == "alice" and signoff["note"] == "ok" and signoff["forced"] is False
    assert doc["streak"] == {"days": 1, "first_day": DAYS[-1], "last_day": DAYS[-1],
                             "last_report": str(reports / f"{DAYS[-1]}.json"),
                             "last_report_sha256": entry_sha(reports / f"{DAYS[-1]}.json")}
    assert doc["gate"] == {"require_streak": 2, "require_signoff": [], "met": False,
                           "unmet": ["1 of 2 passing days"]}
    assert doc["signoff_logs"] == [str(reports / "signoffs.jsonl")] and doc["problems"] == []
    again, _ = history_json(str(reports), "--require-streak", "2")
    assert again.stdout == result.stdout  # no run time: the same reports and log give the same document


def entry_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_inputs_give_the_same_report_so_the_hash_identifies_it(week: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"  # the same warehouses (a re-load adds nothing), the report written elsewhere
    assert reconcile_day(week.parent, DAYS[0], again).exit_code == 0
    assert entry_sha(again / f"{DAYS[0]}.json") == entry_sha(week / f"{DAYS[0]}.json")


def test_input_that_is_not_a_report_is_one_line_and_exit_2(reports: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    named = sptk("history", str(other))
    assert named.exit_code == 2 and named.stderr.startswith("sptk reconcile history: ")
    assert "other.json is not a reconcile report" in named.stderr and len(named.stderr.splitlines()) == 1
    (reports / "notes.json").write_text('{"hello": 1}')  # in a directory: skipped and named
    skipped = sptk("history", str(reports))
    assert skipped.exit_code == 0 and "skipped notes.json: not a reconcile report" in skipped.stdout
    (reports / "broken.json").write_text('{"format": "sptk-reconcile/1", ')
    broken = sptk("history", str(reports))
    assert broken.exit_code == 2 and "broken.json is not JSON" in broken.stderr
    assert sptk("history", str(tmp_path / "empty")).exit_code == 2
    not_a_report = sptk("signoff", "--report", str(other), "--owner", "alice")
    assert not_a_report.exit_code == 2 and "not a reconcile report" in not_a_report.stderr


def test_a_malformed_signoff_log_line_is_reported_and_the_others_still_count(reports: Path) -> None:
    report = reports / f"{DAYS[-1]}.json"
    (reports / "signoffs.jsonl").write_bytes(b'{"owner": "half a line')  # a write cut short
    assert sptk("signoff", "--report", str(report), "--owner", "alice").exit_code == 0
    result = sptk("history", str(reports), "--require-signoff", "alice")
    assert result.exit_code == 0, result.output
    assert "signoffs.jsonl line 1 is not a sign-off record" in result.stdout


def test_reconcile_still_runs_as_before_and_a_missing_source_is_exit_3(tmp_path: Path) -> None:
    missing = run("--new", "jsonl:x.jsonl")
    assert missing.exit_code == 3 and "Missing option '--legacy'" in missing.output
    assert "history" in run("--help").output and "signoff" in run("--help").output


def test_the_table_in_the_docs_is_what_the_week_gives(reports: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = (Path(__file__).parents[3] / "docs" / "reconciliation.md").read_text(encoding="utf-8")
    [block] = re.findall(r"```\n\$ sptk (reconcile history [^\n]*)\n(.*?)```", doc, re.S)
    monkeypatch.chdir(reports.parent)
    assert sptk("signoff", "--report", f"reports/{DAYS[-1]}.json", "--owner", "alice").exit_code == 0
    result = CliRunner().invoke(main, block[0].split())
    assert result.exit_code == 0 and result.stdout == block[1]


def test_a_report_in_the_first_format_is_read_and_a_warning_metric_is_named(reports: Path) -> None:
    old = reports / f"{DAYS[0]}.json"  # as sptk-reconcile/1 wrote it: no metric status, kind or warn level
    document = orjson.loads(old.read_bytes())
    document["format"] = "sptk-reconcile/1"
    document["metrics"] = {name: {k: m[k] for k in ("legacy", "new", "relative_difference", "tolerance", "ok")}
                           for name, m in document["metrics"].items()}
    old.write_bytes(orjson.dumps(document, option=orjson.OPT_SORT_KEYS))
    warned = reports / f"{DAYS[1]}.json"  # a /2 metric between its warn and fail levels: ok, and a warn
    document = orjson.loads(warned.read_bytes())
    document["metrics"]["sessions"].update(status="warn", warn=0.0, ok=True)
    document.update(verdict="warn", exit_code=1, reasons=["metric sessions: 11 legacy vs 11 new"])
    warned.write_bytes(orjson.dumps(document, option=orjson.OPT_SORT_KEYS))
    result = sptk("history", str(reports), "--allow-warn")
    assert result.exit_code == 0, result.output
    rows = {line[:10]: line for line in result.stdout.splitlines() if re.match(r"\d{4}-\d\d-\d\d ", line)}
    assert " parity " in rows[DAYS[0]] and " 4/4 ok " in rows[DAYS[0]]
    assert " warn " in rows[DAYS[1]] and " 4/4 ok (sessions warn) " in rows[DAYS[1]]
    assert " 3/4 ok (page_views off) " in rows[FAILING_DAY]



def test_every_history_and_signoff_command_in_migration_md_is_one_the_cli_takes() -> None:
    """docs/migration.md's acceptance criteria and workflow use these commands: each must parse as written."""
    from migration.cutover_cli import history_command, signoff_command

    doc = (Path(__file__).parents[3] / "docs" / "migration.md").read_text(encoding="utf-8").replace("\\\n", " ")
    fenced = [line for block in re.findall(r"```[^\n]*\n(.*?)```", doc, re.S) for line in block.splitlines()
              if re.match(r"sptk reconcile (history|signoff) ", line)]
    inline = re.findall(r"`(sptk reconcile (?:history|signoff) [^`]*)`", re.sub(r"\n\s*", " ", doc))
    commands = {"history": history_command, "signoff": signoff_command}
    seen = []
    for text in fenced + inline:
        words = [{"N": "7"}.get(w, w) for w in shlex.split(text.split(" #")[0])[2:] if w != "..."]
        commands[words[0]].make_context(words[0], words[1:])  # a usage error raises here
        seen.append(words)
    options = {w for words in seen for w in words if w.startswith("--")}
    assert {"--require-streak", "--require-signoff", "--allow-warn", "--html", "--report", "--owner"} <= options
