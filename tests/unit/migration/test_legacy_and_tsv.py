"""The legacy path (`sptk migrate legacy-load`) and `tsv:` reconcile sources, on generated enriched TSV."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
from click.testing import CliRunner

from connectors.warehouse import Warehouse
from tests.unit.migration.scenario import run
from toolkit.cli.root import main
from toolkit.contract.fields import BY_NAME
from toolkit.contract.profiles.canonical import to_dict
from toolkit.contract.samples import SampleSpec, SampleStats, generate
from toolkit.contract.tsv import ParseFailure, parse_line

TITLE = BY_NAME["page_title"].position
EVENT_ID = BY_NAME["event_id"].position
FINGERPRINT = BY_NAME["event_fingerprint"].position


def sample(events: int = 200, **spec: object) -> tuple[list[str], SampleStats]:
    stats = SampleStats()
    lines = list(generate(SampleSpec(events=events, seed=3, **spec), stats))  # type: ignore[arg-type]
    return lines, stats


def migrate(*args: str) -> str:
    result = CliRunner().invoke(main, ["migrate", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_legacy_load_dedup_modes_and_reruns(tmp_path: Path) -> None:
    lines, _ = sample(60, parse_failure_ratio=0.0, schema_failure_ratio=0.0, duplicate_ratio=0.0)
    natural = lines[5]
    fields = lines[7].split("\t")
    fields[TITLE] = "A different page"  # same event_id, another event: a synthetic duplicate
    fields[FINGERPRINT] = "0" * 32
    day1 = tmp_path / "archive" / "run=1" / "part-0.tsv.gz"
    day1.parent.mkdir(parents=True)
    day1.write_bytes(gzip.compress(("\n".join(lines + [natural, "\t".join(fields), "not\tan event"]) + "\n").encode()))
    expected = {"none": 62, "in-batch": 61, "cross-batch": 61}
    for mode, rows in expected.items():
        url = f"duckdb:{tmp_path / 'wh.duckdb'}?schema=legacy_{mode.replace('-', '_')}"
        first = migrate("legacy-load", "--input", str(tmp_path / "archive"), "--warehouse", url, "--dedup", mode)
        assert f"inserted {rows}," in first and "unparsable lines 1; bad rows written 1" in first
        again = migrate("legacy-load", "--input", str(tmp_path / "archive"), "--warehouse", url, "--dedup", mode)
        assert "inserted 0," in again and f"already loaded {rows}," in again and "bad rows written 0" in again
        with Warehouse.open(url) as wh:
            assert wh.backend.query(f"SELECT count(*) FROM {wh.events}") == [(rows,)]
            flagged = wh.backend.query(f"SELECT count(*) FROM {wh.events} WHERE synthetic_duplicate")[0][0]
            assert flagged == 2
            bad = wh.backend.query(f"SELECT bad_row_type, load_line FROM {wh.bad_rows}")
            assert bad == [("loader_parsing_error", 63)]
    # a second archive file with the same natural duplicate: only cross-batch collapses it across batches
    day2 = tmp_path / "archive" / "run=2" / "part-0.tsv"
    day2.parent.mkdir()
    day2.write_text(natural + "\n")
    for mode, added in (("in-batch", 1), ("cross-batch", 0)):
        url = f"duckdb:{tmp_path / 'wh.duckdb'}?schema=legacy_{mode.replace('-', '_')}"
        output = migrate("legacy-load", "--input", str(day2), "--warehouse", url, "--dedup", mode)
        assert f"inserted {added}," in output


def test_a_cut_off_archive_is_reported_and_a_rerun_is_safe(tmp_path: Path) -> None:
    lines, _ = sample(50, parse_failure_ratio=0.0)
    broken = tmp_path / "part.tsv.gz"
    payload = gzip.compress(("\n".join(lines) + "\n").encode())
    broken.write_bytes(payload[: len(payload) // 2])
    result = CliRunner().invoke(main, ["migrate", "legacy-load", "--input", str(broken), "--warehouse",
                                       f"duckdb:{tmp_path / 'wh.duckdb'}"])
    assert result.exit_code == 2 and "part.tsv.gz: read failed after line" in result.output
    assert "truncated or corrupt" in result.output and "normally. Files before it" in result.output
    assert "re-running is safe" in result.output


def test_tsv_against_canonical_json_reconciles_and_unparsable_lines_are_rejected_not_missing(tmp_path: Path) -> None:
    lines, stats = sample(300)
    assert sum(stats.parse_failures.values()) > 0 and stats.duplicates > 0
    legacy = tmp_path / "legacy.tsv"
    legacy.write_text("\n".join(lines) + "\n")
    parsed = [parse_line(line) for line in lines]
    rows = [to_dict(event) for event in parsed if not isinstance(event, ParseFailure)]
    new = tmp_path / "new.jsonl"
    new.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    report = tmp_path / "r.json"
    same = run("--legacy", f"tsv:{legacy}", "--new", f"jsonl:{new}", "--lookback", "0s", "--json", str(report))
    assert same.exit_code == 0, same.output
    document = orjson.loads(report.read_bytes())
    assert document["bad_rows"]["legacy"] == {"loader_parsing_error": sum(stats.parse_failures.values())}
    # the new path parses one of the legacy's unparsable lines differently: it holds an event legacy rejected
    failure = next(line for line, event in zip(lines, parsed, strict=True)
                   if isinstance(event, ParseFailure) and len(line.split("\t")) == 131
                   and len(line.split("\t")[EVENT_ID]) == 36)
    fields = failure.split("\t")
    extra = dict(rows[0], event_id=fields[EVENT_ID], event_fingerprint="other")
    new.write_bytes(new.read_bytes() + orjson.dumps(extra) + b"\n")
    rejected = run("--legacy", f"tsv:{legacy}", "--new", f"jsonl:{new}", "--lookback", "0s", "--json", str(report))
    document = orjson.loads(report.read_bytes())
    assert rejected.exit_code == 1, rejected.output
    assert document["rejected"] == {"count": 1, "sample": [fields[EVENT_ID]],
                                    "by_type": {"loader_parsing_error": 1}}


def test_legacy_load_selects_files_as_the_dir_source_does(tmp_path: Path) -> None:
    """Snowplow's archive names its files part-00000 (gzip without a suffix, too), next to _SUCCESS markers."""
    from connectors.sources import discover

    lines, _ = sample(30, parse_failure_ratio=0.0, schema_failure_ratio=0.0, duplicate_ratio=0.0)
    run_dir = tmp_path / "archive" / "run=2024-05-01-00-00-00"
    run_dir.mkdir(parents=True)
    (run_dir / "part-00000").write_text("\n".join(lines[:10]) + "\n")
    (run_dir / "part-00001").write_bytes(gzip.compress(("\n".join(lines[10:]) + "\n").encode()))
    (run_dir / "_SUCCESS").write_text("")
    (run_dir / ".part-00000.crc").write_text("crc")
    archive = tmp_path / "archive"
    assert [p.name for p in discover(archive)] == ["part-00000", "part-00001"]
    url = f"duckdb:{tmp_path / 'wh.duckdb'}"
    loaded = migrate("legacy-load", "--input", str(archive), "--warehouse", url)
    assert "2 files, 30 lines" in loaded and "inserted 30," in loaded and "unparsable lines 0" in loaded
    only_first = migrate("legacy-load", "--input", str(archive), "--warehouse", f"{url}?schema=first",
                         "--pattern", "part-00000")
    assert "1 files, 10 lines" in only_first and "inserted 10," in only_first


def test_legacy_load_with_nothing_to_load_fails_and_says_why(tmp_path: Path) -> None:
    url = f"duckdb:{tmp_path / 'wh.duckdb'}"
    empty = tmp_path / "empty"
    (empty / "run=1").mkdir(parents=True)
    (empty / "run=1" / "_SUCCESS").write_text("")
    for args, expected in (([str(empty)], f"no files to load under {empty}"),
                           ([str(empty), "--pattern", "*.tsv"], "matching '*.tsv'"),
                           ([str(tmp_path / "nonexistent")], f"{tmp_path / 'nonexistent'} does not exist")):
        result = CliRunner().invoke(main, ["migrate", "legacy-load", "--warehouse", url, "--input", *args])
        assert result.exit_code == 2, result.output  # a person must change --input (docs/cli.md)
        assert result.stderr.startswith("sptk migrate legacy-load: ")
        assert expected in result.output and "Files before it were loaded" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_legacy_load_shows_periodic_progress_on_stderr_and_keeps_stdout_for_the_summary(tmp_path: Path) -> None:
    lines, _ = sample(40, parse_failure_ratio=0.0)
    archive = tmp_path / "archive"
    archive.mkdir()
    for n in range(3):
        (archive / f"part-0000{n}").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["migrate", "legacy-load", "--input", str(archive), "--warehouse",
                                       f"duckdb:{tmp_path / 'wh.duckdb'}"], env={"SPTK_PROGRESS_INTERVAL_S": "0"})
    assert result.exit_code == 0, result.output
    shown = result.stderr.splitlines()
    assert len(shown) > 3 and all(line.startswith("[sptk] legacy-load: ") for line in shown)
    assert "MiB/s" in shown[0] and shown[-1].startswith("[sptk] legacy-load: done, ")
    assert "(100%)" in shown[-1] and "3/3 files, 120 lines loaded" in shown[-1]
    assert result.stdout.startswith("legacy-load into ") and "[sptk]" not in result.stdout


def test_jsonl_sources_recognise_gzip_by_content_as_the_dir_source_does(tmp_path: Path) -> None:
    """Archives get renamed: a gzip file named ``.jsonl`` is gzip, a plain one named ``.jsonl.gz`` is plain."""
    from migration.sources import bad_records, canonical_rows
    from tests.unit.migration.scenario import bad_row, eid, events

    rows = events(6)
    lines = [orjson.dumps(r) + b"\n" for r in rows]
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(gzip.compress(b"".join(lines[:3])))
    (folder / "b.jsonl.gz").write_bytes(b"".join(lines[3:]))
    read = [(row["event_id"], Path(str(where.file)).name, where.line) for row, where in canonical_rows(str(folder))]
    assert read == [(r["event_id"], "a.jsonl" if i < 3 else "b.jsonl.gz", i % 3 + 1) for i, r in enumerate(rows)]
    single = tmp_path / "rows.json"
    single.write_bytes(gzip.compress(b"".join(lines)))
    assert len(list(canonical_rows(str(single)))) == 6
    bad = tmp_path / "bad-rows.json"
    bad.write_bytes(gzip.compress(orjson.dumps(bad_row(eid(9))) + b"\n"))
    assert [record.event_id for record in bad_records(str(bad))] == [eid(9)]
