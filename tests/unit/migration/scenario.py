"""Small, readable event sets for reconciliation tests, written as canonical JSON lines (the loader's input)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
from click.testing import CliRunner, Result

from toolkit.cli.root import main

SP = "com.snowplowanalytics.snowplow"


def eid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def event(i: int, minute: int | None = None, name: str = "page_view", **extra: Any) -> dict[str, Any]:
    """Event ``i`` at 2024-05-01 10:00 + ``minute`` (default: i minutes), with a context and session/user ids."""
    minute = i if minute is None else minute
    hour, minute = 10 + minute // 60, minute % 60
    row: dict[str, Any] = {
        "event_id": eid(i), "collector_tstamp": f"2024-05-01T{hour:02d}:{minute:02d}:00.250Z",
        "app_id": "shop", "platform": "web", "event": "unstruct" if name == "link_click" else name,
        "event_vendor": SP, "event_name": name, "event_version": "1-0-0", "event_format": "jsonschema",
        "domain_userid": f"user-{i % 7}", "domain_sessionid": f"session-{i % 11}", "page_title": f"Page {i}",
        "event_fingerprint": f"fp-{i}", "v_collector": "ssc-3.0.0", "v_etl": "enrich-4.0.0",
        "contexts_com_acme_page_1": [{"id": i, "section": "news"}],
    }
    if name == "transaction":
        row["tr_total"] = 10.0 + i
    if name == "link_click":
        row["unstruct_event_com_snowplowanalytics_snowplow_link_click_1"] = {"targetUrl": f"https://x/{i}"}
    row.update(extra)
    return row


def events(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [event(i, **extra) for i in range(n)]


def clone(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return copy.deepcopy(rows)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return str(path)


def bad_row(event_id: str, kind: str = "schema_violations") -> dict[str, Any]:
    return {"schema": f"iglu:com.snowplowanalytics.snowplow.badrows/{kind}/jsonschema/2-0-0",
            "data": {"processor": {"artifact": "sptk", "version": "0.1.0"},
                     "failure": {"messages": [{"error": "example"}]},
                     "payload": {"enriched": {"event_id": event_id}, "raw": {}}}}


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["reconcile", *args], catch_exceptions=False)


def reconcile_files(tmp: Path, legacy: list[dict[str, Any]], new: list[dict[str, Any]], *args: str,
                    legacy_bad: list[dict[str, Any]] | None = None,
                    new_bad: list[dict[str, Any]] | None = None) -> tuple[Result, dict[str, Any]]:
    """Write both sides as jsonl, run ``sptk reconcile`` with a JSON report, return the result and the report."""
    sources = []
    for name, rows, bad in (("legacy", legacy, legacy_bad), ("new", new, new_bad)):
        source = "jsonl:" + write_jsonl(tmp / f"{name}.jsonl", rows)
        if bad is not None:
            source += "?bad=" + write_jsonl(tmp / f"{name}-bad.jsonl", bad)
        sources.append(source)
    report = tmp / "report.json"
    # no lookback unless a test asks for one (a later --lookback wins): these event sets are minutes long
    result = run("--legacy", sources[0], "--new", sources[1], "--json", str(report), "--lookback", "0s", *args)
    return result, orjson.loads(report.read_bytes())
