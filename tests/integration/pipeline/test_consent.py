"""Consent on the real broker: a withdrawal becomes a suppression record on the compacted consent topic, the
honouring stream drops that user's later events (counted), the others keep them, and a restart rebuilds the state."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from connectors.pipeline_app import build
from tests.integration.pipeline.conftest import base_config, read_topic
from tests.unit.toolkit.pipeline_events import EXAMPLES, line, sdj
from toolkit.config.loading import parse_config
from toolkit.kafka.admin import describe_topics

ROOT = Path(__file__).resolve().parents[3]
SP = "iglu:com.snowplowanalytics.snowplow"
GDPR = sdj(f"{SP}/gdpr/jsonschema/1-0-0", {"basisForProcessing": "consent"})
WITHDRAWN = sdj(f"{SP}/consent_withdrawn/jsonschema/1-0-0", {"all": True})


def view(user: str, n: int) -> str:
    return line(user_id=user, domain_userid=f"d-{user}", page_url=f"https://acme.example/{user}/{n}", contexts=[GDPR])


def resolver(tmp_path: Path, iglu_central: Path) -> Path:
    """The example schemas and Iglu Central (Snowplow's consent schemas), both read from disk."""
    path = tmp_path / "resolver.json"
    repos = [{"name": name, "priority": i, "vendorPrefixes": [], "connection": {"embedded": {"path": str(where)}}}
             for i, (name, where) in enumerate((("examples", EXAMPLES), ("iglu-central", iglu_central.parent)))]
    path.write_text(json.dumps({"schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
                                "data": {"cacheSize": 500, "cacheTtl": 600, "repositories": repos}}))
    return path


def run(tmp_path: Path, bootstrap: str, prefix: str, iglu_central: Path, lines: list[str],
        name: str) -> tuple[dict, str]:
    (tmp_path / name).write_text("".join(x + "\n" for x in lines))
    cfg = base_config(prefix, bootstrap, source={"kind": "file", "file": {"paths": [str(tmp_path / name)]}},
                      resolver=resolver(tmp_path, iglu_central),
                      derived=[{"name": "marketing", "version": 1, "owner": "crm"},
                               {"name": "audit", "version": 1, "owner": "dpo"}],
                      privacy={"marketing": {"honour_withdrawals": True}})
    app = build(parse_config(cfg, base_dir=ROOT, environ={}), serve=False, create_topics=True)
    assert app.run(install_signals=False) == 0
    return app.summary, app.metrics.exposition().decode()


def test_a_withdrawal_suppresses_the_user_on_honouring_streams_and_outlives_the_run(
        tmp_path: Path, kafka_bootstrap: str, prefix: str, iglu_central: Path) -> None:
    withdrawal = line(user_id="alice", domain_userid="d-alice", event="unstruct", unstruct_event=WITHDRAWN,
                      contexts=[GDPR])
    first = [view("alice", 1), view("bob", 1), view("carol", 1), view("alice", 2), withdrawal, view("bob", 2),
             view("alice", 3), view("carol", 2), view("alice", 4), view("bob", 3)]
    summary, metrics = run(tmp_path, kafka_bootstrap, prefix, iglu_central, first, "first.tsv")
    assert summary["in"] == 10 and summary["enriched"] == 10 and summary["bad"] == 0

    # the suppression record: keyed by user (the key names the identifier), on a compacted topic kept forever
    consent = read_topic(kafka_bootstrap, f"{prefix}.consent", expect=1)
    assert [m.key for m in consent] == [b"user_id:alice"]
    record = orjson.loads(consent[0].value)
    assert record["suppressed"] is True and record["all"] is True and record["cause"] == "consent_withdrawn"
    state = describe_topics(kafka_bootstrap, [f"{prefix}.consent"])[f"{prefix}.consent"]
    assert state is not None and state.configs["cleanup.policy"] == "compact"
    assert state.configs["retention.ms"] == "-1"

    # alice's events from the withdrawal on are absent from the honouring stream, present in the other
    def pages(messages: list) -> list[tuple[str | None, str]]:
        return [(orjson.loads(m.value).get("user_id"), orjson.loads(m.value).get("page_url") or "withdrawal")
                for m in sorted(messages, key=lambda m: (m.partition, m.offset))]

    marketing = read_topic(kafka_bootstrap, f"{prefix}.derived.marketing.v1", expect=7)
    audit = read_topic(kafka_bootstrap, f"{prefix}.derived.audit.v1", expect=10)
    assert sorted(pages(marketing)) == sorted(
        [("alice", "https://acme.example/alice/1"), ("alice", "https://acme.example/alice/2")]
        + [("bob", f"https://acme.example/bob/{n}") for n in (1, 2, 3)]
        + [("carol", f"https://acme.example/carol/{n}") for n in (1, 2)])
    assert sum(user == "alice" for user, _ in pages(audit)) == 5
    # what passes the honouring stream says on what basis; a stream without consent rules carries no such header
    assert {m.headers["sp.consent"] for m in marketing} == {"basis=consent;scopes=-"}
    assert not any("sp.consent" in m.headers for m in audit)
    # counted per stream and rule
    assert summary["filtered_by_rule"] == {"marketing.v1: privacy.marketing.honour_withdrawals": 3}
    assert 'sptk_consent_dropped_total{rule="honour_withdrawals",stream="marketing.v1"} 3.0' in metrics
    assert 'sptk_consent_records_total{state="suppressed"} 1.0' in metrics
    assert "sptk_consent_suppressed_users 1.0" in metrics

    # a restart rebuilds the state from the topic: a file holding only alice's events drops them all
    summary, metrics = run(tmp_path, kafka_bootstrap, prefix, iglu_central, [view("alice", n) for n in (5, 6, 7)],
                           "second.tsv")
    assert summary["in"] == 3 and summary["filtered_by_rule"] == {
        "marketing.v1: privacy.marketing.honour_withdrawals": 3}
    assert 'sptk_consent_dropped_total{rule="honour_withdrawals",stream="marketing.v1"} 3.0' in metrics
    assert "sptk_consent_suppressed_users 1.0" in metrics
    assert len(read_topic(kafka_bootstrap, f"{prefix}.derived.audit.v1", expect=13)) == 13
    assert len(read_topic(kafka_bootstrap, f"{prefix}.derived.marketing.v1", timeout_s=5)) == 7
