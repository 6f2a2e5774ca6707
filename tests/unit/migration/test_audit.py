"""`sptk audit` over real DuckDB and Parquet sources built here, with every count planted and asserted exactly.

The estate: 12 events (8 page views, 3 link clicks, 2 checkout steps of a camelCase schema from a badly named
app on an unknown platform, 1 event of a vendor that is not reverse DNS), a natural duplicate and a synthetic
one (14 rows), two context types (one deprecated), and 3 bad rows of two types. The registry holds some of the
schemas used, an older version nobody sends and a schema nobody uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from click.testing import CliRunner, Result

from connectors.warehouse import Warehouse
from connectors.warehouse.bad_rows import BadRowRecord
from connectors.warehouse.loader import Dedup
from connectors.warehouse.rows import Provenance
from tests.unit.migration.scenario import SP, eid
from toolkit.cli.root import main

PAGE = "contexts_com_acme_page_1"
LEGACY = "contexts_com_acme_legacy_thing_1"


def _event(i: int, vendor: str, name: str, version: str = "1-0-0", *, app: str = "shop", platform: str = "web",
           tracker: tuple[str, str] = ("js", "js-3.1.0"), **extra: Any) -> dict[str, Any]:
    row = {"event_id": eid(i), "collector_tstamp": f"2024-05-01T10:{i:02d}:00Z", "app_id": app,
           "platform": platform, "event": "page_view" if name == "page_view" else "unstruct",
           "event_vendor": vendor, "event_name": name, "event_format": "jsonschema", "event_version": version,
           "name_tracker": tracker[0], "v_tracker": tracker[1], "event_fingerprint": f"fp-{i}"}
    row.update(extra)
    return row


def estate() -> list[dict[str, Any]]:
    rows = [_event(i, SP, "page_view", page_title=f"Page {i}", **{PAGE: [{"id": i}]},
                   **({"page_referrer": "https://ref"} if i < 3 else {})) for i in range(6)]
    rows += [_event(6 + i, SP, "link_click", "1-0-1", platform="mob", tracker=("py", "py-1.0.0"),
                    unstruct_event_com_snowplowanalytics_snowplow_link_click_1={"targetUrl": "https://x"},
                    **({PAGE: [{"id": 6}]} if i == 0 else {LEGACY: [{"old": True}]})) for i in range(3)]
    rows += [_event(9 + i, "com.acme", "CheckoutStep", app="Bad App", platform="kiosk",
                    unstruct_event_com_acme_checkout_step_1={"step": i}) for i in range(2)]
    rows.append(_event(11, "acme_corp", "thing", unstruct_event_acme_corp_thing_1={"x": 1}))
    # two more page views: a natural duplicate of event 0 (same fingerprint), a synthetic one of event 1
    rows.append(dict(rows[0]))
    rows.append(dict(rows[1], event_fingerprint="fp-other"))
    return rows


def load_estate(url: str) -> None:
    with Warehouse.open(url) as wh:
        wh.load([(r, Provenance.file_line("archive", n + 1)) for n, r in enumerate(estate())], Dedup.NONE)
        wh.load_bad_rows([BadRowRecord(eid(100 + n), kind, "planted", Provenance.file_line("bad", n + 1))
                          for n, kind in enumerate(["schema_violations", "schema_violations",
                                                    "loader_parsing_error"])])


def registry(tmp: Path) -> Path:
    """An embedded registry and its resolver config."""
    for uri in ("com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1",
                "com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-0",
                "com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0",
                "com.acme/page/jsonschema/1-0-0", "com.acme/legacy_thing/jsonschema/1-0-0",
                "com.acme/never_used/jsonschema/1-0-0"):
        vendor, name, fmt, version = uri.split("/")
        path = tmp / "registry" / "schemas" / uri
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/"
                                               "schema/jsonschema/1-0-0#",
                                    "self": {"vendor": vendor, "name": name, "format": fmt, "version": version},
                                    "type": "object"}))
    config = tmp / "resolver.json"
    config.write_text(json.dumps({
        "schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
        "data": {"cacheSize": 100, "repositories": [
            {"name": "embedded", "priority": 0, "vendorPrefixes": [], "connection": {"embedded": {
                "path": str(tmp / "registry")}}}]}}))
    return config


def governance(tmp: Path) -> Path:
    path = tmp / "governance.yml"
    path.write_text("deprecations:\n"
                    "  - schema: iglu:com.acme/legacy_thing/jsonschema/1-*-*\n    deprecated: 2024-01-01\n"
                    "    replacement: iglu:com.acme/page/jsonschema/1-0-0\n"
                    "  - schema: iglu:com.acme/CheckoutStep/jsonschema/1-0-0\n    deprecated: 2024-02-01\n"
                    "    sunset: 2024-12-31\n")
    return path


def audit(*args: str) -> Result:
    return CliRunner().invoke(main, ["audit", *args], catch_exceptions=False)


def audited(tmp: Path, source: str, *args: str) -> dict[str, Any]:
    report = tmp / "audit.json"
    result = audit("--source", source, "--json", str(report), *args)
    assert result.exit_code == 0, result.output
    return orjson.loads(report.read_bytes())


@pytest.fixture
def warehouse(tmp_path: Path) -> str:
    url = f"duckdb:{tmp_path / 'wh.duckdb'}?schema=atomic"
    load_estate(url)
    return url


def assert_planted(doc: dict[str, Any]) -> None:
    """Everything planted, without a registry (the sections that need none)."""
    assert doc["format"] == "sptk-audit/1"
    assert doc["totals"] == {"rows": 14, "event_ids": 12, "bad_rows": 3, "first_seen": "2024-05-01T10:00:00Z",
                             "last_seen": "2024-05-01T10:11:00Z"}
    assert [(t["vendor"], t["name"], t["version"], t["events"], t["first_seen"], t["last_seen"])
            for t in doc["event_types"]] == [
        (SP, "page_view", "1-0-0", 8, "2024-05-01T10:00:00Z", "2024-05-01T10:05:00Z"),
        (SP, "link_click", "1-0-1", 3, "2024-05-01T10:06:00Z", "2024-05-01T10:08:00Z"),
        ("com.acme", "CheckoutStep", "1-0-0", 2, "2024-05-01T10:09:00Z", "2024-05-01T10:10:00Z"),
        ("acme_corp", "thing", "1-0-0", 1, "2024-05-01T10:11:00Z", "2024-05-01T10:11:00Z")]
    assert [(a["app_id"], a["events"]) for a in doc["apps"]] == [("shop", 12), ("Bad App", 2)]
    assert [(p["platform"], p["events"]) for p in doc["platforms"]] == [("web", 9), ("mob", 3), ("kiosk", 2)]
    assert [(t["name_tracker"], t["v_tracker"], t["events"]) for t in doc["trackers"]] == [
        ("js", "js-3.1.0", 11), ("py", "py-1.0.0", 3)]
    entities = {e["column"]: [(t["name"], t["events"], t["of"]) for t in e["by_event_type"]] for e in doc["entities"]}
    assert entities == {PAGE: [("page_view", 8, 8), ("link_click", 1, 3)], LEGACY: [("link_click", 2, 3)]}
    fields = doc["fill_rates"]["fields"]
    assert (fields["app_id"], fields["page_title"], fields["page_referrer"], fields["se_action"]) == (
        1.0, round(8 / 14, 6), round(5 / 14, 6), 0.0)  # the two duplicates are copies of events 0 and 1
    top = doc["fill_rates"]["by_event_type"]
    assert [(t["name"], t["events"]) for t in top] == [("page_view", 8), ("link_click", 3), ("CheckoutStep", 2),
                                                       ("thing", 1)]
    assert top[0]["fields"]["page_referrer"] == round(5 / 8, 6) and "page_title" not in top[1]["fields"]
    assert doc["bad_rows"] == {"present": True, "total": 3, "rate": round(3 / 17, 6), "by_type": [
        {"type": "schema_violations", "count": 2, "rate": round(2 / 17, 6)},
        {"type": "loader_parsing_error", "count": 1, "rate": round(1 / 17, 6)}]}
    dup = doc["duplicates"]
    assert dup["event_id"] == {"repeated_ids": 2, "extra_rows": 2, "rate": round(2 / 14, 6)}
    assert dup["event_id_fingerprint"] == {"repeated_pairs": 1, "extra_rows": 1, "rate": round(1 / 14, 6)}
    assert dup["synthetic_event_ids"] == 1
    assert [(v["rule"], v["value"], v["events"]) for v in doc["naming"]["violations"]] == [
        ("app_id", "Bad App", 2), ("platform", "kiosk", 2), ("schema_name", "CheckoutStep", 2),
        ("vendor", "acme_corp", 1)]


def test_a_duckdb_warehouse_is_audited_to_the_planted_counts(tmp_path: Path, warehouse: str) -> None:
    doc = audited(tmp_path, warehouse)
    assert_planted(doc)
    assert doc["schemas"]["checked"] is False and doc["schemas"]["unknown"] == []
    assert [(u["schema"], u["status"]) for u in doc["schemas"]["used"] if u["kind"] == "event"] == [
        ("iglu:acme_corp/thing/jsonschema/1-0-0", "unchecked"),
        ("iglu:com.acme/CheckoutStep/jsonschema/1-0-0", "unchecked"),
        ("iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1", "unchecked")]


def test_schemas_used_are_checked_against_the_registry_and_the_governance_file(tmp_path: Path,
                                                                                warehouse: str) -> None:
    doc = audited(tmp_path, warehouse, "--resolver", str(registry(tmp_path)), "--governance",
                  str(governance(tmp_path)))
    schemas = doc["schemas"]
    assert schemas["checked"] is True
    assert schemas["unknown"] == ["iglu:acme_corp/thing/jsonschema/1-0-0",
                                  "iglu:com.acme/CheckoutStep/jsonschema/1-0-0"]
    assert schemas["unresolved"] == []
    # the older link_click nobody sends and the schema nobody uses; the contexts envelope is never "unused"
    assert schemas["unused"] == ["iglu:com.acme/never_used/jsonschema/1-0-0",
                                 "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-0"]
    assert {e["column"]: (e["schema"], e["status"]) for e in doc["entities"]} == {
        PAGE: ("iglu:com.acme/page/jsonschema/1-*-*", "registered"),
        LEGACY: ("iglu:com.acme/legacy_thing/jsonschema/1-*-*", "registered")}
    assert [(d["schema"], d["kind"], d["events"], d["deprecated"], d["sunset"]) for d in schemas["deprecated"]] == [
        ("iglu:com.acme/legacy_thing/jsonschema/1-*-*", "entity", 2, "2024-01-01", None),
        ("iglu:com.acme/CheckoutStep/jsonschema/1-0-0", "event", 2, "2024-02-01", "2024-12-31")]
    assert schemas["unlisted_repositories"] == {}


def test_an_entity_column_is_found_by_lookup_when_the_registry_cannot_list(tmp_path: Path) -> None:
    from iglu_registry.resolver import Resolver
    from iglu_registry.schema_key import SchemaKey
    from migration.audit.schemas import SchemaCheck

    class Unlistable:  # a static HTTP site, as the resolver sees it: fetches, cannot list
        def __init__(self, inner: Any) -> None:
            self.ref, self.class_priority, self.inner = inner.ref, inner.class_priority, inner

        def fetch(self, key: SchemaKey) -> dict:
            return self.inner.fetch(key)

        def list_versions(self, *args: Any) -> list[SchemaKey]:
            return self.inner.list_versions(*args)

    listed = Resolver.from_config(registry(tmp_path))
    check = SchemaCheck(Resolver([Unlistable(r) for r in listed.repositories]), None)
    assert check.unlisted == {"embedded": "this kind of repository cannot list its schemas"}
    assert check.entity(LEGACY) == (check.entity(LEGACY)[0], "registered")
    assert check.entity(LEGACY)[0].uri == "iglu:com.acme/legacy_thing/jsonschema/1-*-*"
    assert check.entity("contexts_com_acme_nowhere_1") == (None, "unknown")


def test_a_parquet_lake_gives_the_same_report_as_the_warehouse_it_came_from(tmp_path: Path, warehouse: str) -> None:
    lake = tmp_path / "lake"
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    for table in ("events", "bad_rows"):
        (lake / table).mkdir(parents=True)
        con.execute(f"COPY (SELECT * FROM atomic.{table}) TO '{lake / table / 'part-0.parquet'}' (FORMAT parquet)")
    con.close()
    doc = audited(tmp_path, f"parquet:{lake}")
    assert_planted(doc)
    from_warehouse = audited(tmp_path, warehouse)
    assert {k: v for k, v in doc.items() if k != "source"} == {k: v for k, v in from_warehouse.items()
                                                                if k != "source"}


def test_the_json_report_is_byte_identical_and_the_terminal_summary_names_the_findings(tmp_path: Path,
                                                                                        warehouse: str) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    result = audit("--source", warehouse, "--resolver", str(registry(tmp_path)), "--json", str(first))
    audit("--source", warehouse, "--resolver", str(registry(tmp_path)), "--json", str(second))
    assert first.read_bytes() == second.read_bytes()
    text = result.stdout
    assert "14 rows, 12 event ids" in text
    assert "2 unknown, 0 unresolved, 2 registered but unused" in text
    assert "app_id 'Bad App' (2 events)" in text
    assert "bad rows: 3 (17.65% of events + bad rows): schema_violations 2, loader_parsing_error 1" in text
    assert "duplicates: 2 event ids repeated (2 extra rows, 14.29%)" in text
    assert f"json report: {first}" in text


def test_naming_rules_come_from_a_yaml_file_and_a_bad_one_is_a_usage_error(tmp_path: Path, warehouse: str) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text("app_id: '^[A-Za-z ]+$'\nplatform: null\nvendor: '^[a-z_.]+$'\n")
    doc = audited(tmp_path, warehouse, "--rules", str(rules))
    assert [(v["rule"], v["value"]) for v in doc["naming"]["violations"]] == [("schema_name", "CheckoutStep")]
    assert doc["naming"]["rules"]["platform"] is None
    rules.write_text("app_ids: '^x$'\n")
    result = audit("--source", warehouse, "--rules", str(rules))
    assert result.exit_code == 2
    assert "unknown rule(s) app_ids" in result.output and "Traceback" not in result.output
    missing = audit("--source", warehouse, "--rules", str(tmp_path / "none.yml"))
    assert missing.exit_code == 2 and f"rules file {tmp_path / 'none.yml'} does not exist" in missing.output


def test_an_unreadable_source_exits_3_and_a_bad_source_text_exits_2(tmp_path: Path) -> None:
    missing = audit("--source", f"duckdb:{tmp_path / 'none.duckdb'}")
    assert missing.exit_code == 3 and "does not exist" in missing.output
    wrong = audit("--source", "kafka:no-topic-here")
    assert wrong.exit_code == 2 and "kafka:BOOTSTRAP/TOPIC" in wrong.output


def test_an_empty_source_gives_an_empty_report(tmp_path: Path) -> None:
    url = f"duckdb:{tmp_path / 'empty.duckdb'}"
    with Warehouse.open(url) as wh:
        wh.ensure_tables()
    doc = audited(tmp_path, url)
    assert doc["totals"]["rows"] == 0 and doc["event_types"] == [] and doc["duplicates"]["event_id"]["rate"] == 0


def test_snowplow_built_in_events_are_not_taken_for_iglu_schemas() -> None:
    from migration.audit.schemas import event_schema

    # enrich records a structured event as com.google.analytics/event, a page view as snowplow's page_view
    assert event_schema("com.google.analytics", "event", "jsonschema", "1-0-0") is None
    assert event_schema(SP, "page_view", "jsonschema", "1-0-0") is None
    assert event_schema(SP, "link_click", "jsonschema", "1-0-1").uri == f"iglu:{SP}/link_click/jsonschema/1-0-1"
    assert event_schema(None, None, None, None) is None


def test_the_rules_documented_in_docs_audit_md_are_the_defaults() -> None:
    import re

    import yaml

    from migration.audit.rules import default_rules, parse_rules

    text = (Path(__file__).resolve().parents[3] / "docs" / "audit.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "docs/audit.md documents the default rules in one ```yaml block"
    documented = parse_rules(yaml.safe_load(blocks[0]), "docs/audit.md")
    assert {k: v for k, v in documented.describe().items() if k != "origin"} == {
        k: v for k, v in default_rules().describe().items() if k != "origin"}


def test_a_warehouse_the_audit_cannot_run_in_is_a_usage_error_that_says_so() -> None:
    result = audit("--source", "sql:snowflake://user:secret@account/db")
    assert result.exit_code == 2, result.output
    assert "DuckDB file or PostgreSQL" in result.output and "secret" not in result.output
