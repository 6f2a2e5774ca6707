"""`sptk event to-json` / `to-tsv`: streams in order, bad rows to --bad or stderr, exit 1 on any failure."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from snowplow_analytics_sdk.event_transformer import transform

from tests.unit.toolkit.event_lines import line
from toolkit.cli.root import main

GOOD = [line(app_id=f"app-{i}", txn_id=str(i)) for i in range(3)]
BAD = line(txn_id="three")


def _run(*args: str, stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
    result = CliRunner().invoke(main, ["event", *args], input=stdin)
    return result.exit_code, result.stdout_bytes, result.stderr_bytes


def test_to_json_streams_stdin_in_order_and_bad_rows_go_to_stderr() -> None:
    text = "\n".join([GOOD[0], BAD, GOOD[1], GOOD[2]]) + "\n"
    code, out, err = _run("to-json", stdin=text.encode())
    assert code == 1
    assert [json.loads(o)["app_id"] for o in out.splitlines()] == ["app-0", "app-1", "app-2"]
    bad = [json.loads(e) for e in err.splitlines()]
    assert len(bad) == 1 and bad[0]["data"]["payload"] == BAD
    assert bad[0]["data"]["failure"]["errors"][0]["message"].startswith("txn_id 'three' is not an integer")


def test_to_json_reads_files_and_gzip_and_writes_bad_rows_to_a_file(tmp_path: Path) -> None:
    plain = tmp_path / "a.tsv"
    plain.write_text(GOOD[0] + "\n" + BAD + "\n")
    packed = tmp_path / "b.tsv.gz"
    packed.write_bytes(gzip.compress((GOOD[1] + "\n").encode()))
    bad = tmp_path / "bad.jsonl"
    code, out, err = _run("to-json", str(plain), str(packed), "--bad", str(bad))
    assert code == 1
    assert [json.loads(o)["app_id"] for o in out.splitlines()] == ["app-0", "app-1"]
    assert json.loads(bad.read_text())["data"]["payload"] == BAD
    messages = err.decode()
    assert f"{plain}:2: 1 invalid field: txn_id 'three' is not an integer" in messages
    assert f"to-json: 3 lines read, 2 written, 1 failed (bad rows in {bad})" in messages


def test_to_json_exit_0_when_every_line_converts_and_gzip_on_stdin_works() -> None:
    code, out, err = _run("to-json", "--profile", "python-sdk", stdin=gzip.compress("\n".join(GOOD).encode()))
    assert (code, err) == (0, b"")
    assert [json.loads(o) for o in out.splitlines()] == [transform(g) for g in GOOD]


def test_a_profile_the_event_does_not_fit_gives_a_generic_error_bad_row() -> None:
    code, out, err = _run("to-json", "--profile", "go-sdk", stdin=line(etl_tstamp="-2006-10-15 09:06:35").encode())
    assert (code, out) == (1, b"")
    bad = json.loads(err)
    assert bad["schema"].endswith("/generic_error/jsonschema/1-0-0")
    assert "Go's time package cannot read or write the year -2006" in bad["data"]["failure"]["errors"][0]


def test_to_tsv_gives_back_the_original_lines_and_rejects_what_is_not_canonical(tmp_path: Path) -> None:
    source = "\n".join(GOOD) + "\n"
    code, canonical, _ = _run("to-json", stdin=source.encode())
    assert code == 0
    code, tsv, err = _run("to-tsv", stdin=canonical)
    assert (code, tsv, err) == (0, source.encode(), b"")
    broken = canonical + b'{"app_id": "x", "refr_device_tstamp": "2026-11-01T00:00:00Z"}\n'
    code, tsv, err = _run("to-tsv", stdin=broken)
    assert code == 1 and tsv == source.encode()
    reasons = json.loads(err.splitlines()[0])["data"]["failure"]["errors"]
    assert any("canonical JSON says refr_dvce_tstamp" in r["message"] for r in reasons)


def test_unreadable_input_is_exit_2_with_the_file_named(tmp_path: Path) -> None:
    fake = tmp_path / "broken.gz"
    fake.write_bytes(b"\x1f\x8b" + b"not gzip at all")
    code, _, err = _run("to-json", str(fake))
    assert code == 2 and err.decode().startswith(f"sptk event to-json: cannot read {fake}")
    code, _, err = _run("to-json", str(tmp_path / "missing.tsv"))
    assert code == 2 and "does not exist" in err.decode()


def test_a_stats_file_that_cannot_be_written_is_a_usage_error_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    code, _, err = _run("sample", "--events", "3", "--stats", str(tmp_path / "file" / "stats.json"))
    assert code == 2, err
    assert err.decode().startswith(f"sptk event sample: cannot write the stats report to {tmp_path / 'file'}")
    assert b"Traceback" not in err


def test_to_json_shows_progress_on_stderr_only_when_stderr_is_not_the_bad_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPTK_PROGRESS_INTERVAL_S", "0")
    source = tmp_path / "a.tsv"
    source.write_text("\n".join([*GOOD, BAD]) + "\n")
    code, out, err = _run("to-json", str(source), "--bad", str(tmp_path / "bad.jsonl"))
    assert code == 1 and len(out.splitlines()) == 3  # stdout: the JSON only
    shown = [t for t in err.decode().splitlines() if t.startswith("[sptk] to-json")]
    assert shown and shown[-1].startswith("[sptk] to-json: done, ") and "(100%)" in shown[-1]
    assert "4 lines" in shown[-1]
    # without --bad, stderr is the bad rows: nothing else goes there (off a terminal)
    code, out, err = _run("to-json", str(source))
    assert [json.loads(e)["data"]["payload"] for e in err.splitlines()] == [BAD]
