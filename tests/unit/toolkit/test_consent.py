"""Consent on its state: Snowplow's consent events and contexts, the user's suppression, and the stream decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from iglu_registry.repositories import EmbeddedRepository, RepositoryRef
from iglu_registry.resolver import Resolver
from iglu_registry.validation import SchemaValidator
from toolkit.config.errors import ConfigError
from toolkit.config.models import PrivacyConfig
from toolkit.kafka.topics import declared_topics
from toolkit.pipeline.consent import (
    ConsentLedger,
    ConsentState,
    LedgerFull,
    consent_facts,
    consent_rule,
    read_record,
    transition,
    user_key,
)
from toolkit.pipeline.fanout import Pipeline
from toolkit.pipeline.outcomes import Filtered, Routed
from toolkit.pipeline.policy import StreamPolicy
from toolkit.pipeline.validate import EventValidator

from .pipeline_events import EXAMPLES, config, event, sdj

SP = "iglu:com.snowplowanalytics.snowplow"
GDPR = f"{SP}/gdpr/jsonschema/1-0-0"
DOCUMENT = f"{SP}/consent_document/jsonschema/1-0-0"
GRANTED = f"{SP}/consent_granted/jsonschema/1-0-0"
WITHDRAWN = f"{SP}/consent_withdrawn/jsonschema/1-0-0"
PREFERENCES = f"{SP}/consent_preferences/jsonschema/1-0-0"


def gdpr(basis: str) -> dict[str, Any]:
    return sdj(GDPR, {"basisForProcessing": basis, "documentId": "privacy-policy", "documentVersion": "3"})


def document(doc_id: str) -> dict[str, Any]:
    return sdj(DOCUMENT, {"id": doc_id, "version": "3", "name": doc_id})


def consent_event(schema: str, data: dict[str, Any], docs: tuple[str, ...], fields: dict[str, Any]) -> Any:
    contexts = [document(d) for d in docs] + fields.pop("contexts", [])
    return event(event="unstruct", unstruct_event=sdj(schema, data), contexts=contexts or None, **fields)


def withdrawn(all_: bool, *docs: str, **fields: Any) -> Any:
    return consent_event(WITHDRAWN, {"all": all_}, docs, fields)


def granted(*docs: str, **fields: Any) -> Any:
    return consent_event(GRANTED, {"expiry": "2027-01-01T00:00:00Z"}, docs, fields)


def preferences(kind: str, scopes: list[str], **fields: Any) -> Any:
    return consent_event(PREFERENCES, {
        "eventType": kind, "basisForProcessing": "consent", "consentUrl": "https://acme.example/privacy",
        "consentVersion": "3", "consentScopes": scopes, "domainsApplied": ["acme.example"]}, (), fields)


def policy(**kwargs: Any) -> StreamPolicy:
    return StreamPolicy("web", PrivacyConfig(**kwargs))


# -- what an event says ------------------------------------------------------------------------------------------


def test_facts_read_the_gdpr_basis_the_documents_and_the_consent_event() -> None:
    f = consent_facts(withdrawn(False, "marketing-terms", "newsletter"))
    assert (f.change, f.data, f.documents, f.basis) == ("consent_withdrawn", {"all": False},
                                                        ("marketing-terms", "newsletter"), None)
    assert consent_facts(event(contexts=[gdpr("legitimate_interests")])).basis == "legitimate_interests"
    assert consent_facts(event()).change is None and consent_facts(event()).basis is None
    # another vendor's "gdpr" is not Snowplow's; a consent event inside contexts is no consent event
    other = event(contexts=[sdj("iglu:com.acme/gdpr/jsonschema/1-0-0", {"basisForProcessing": "consent"}),
                            sdj(WITHDRAWN, {"all": True})])
    assert consent_facts(other).basis is None and consent_facts(other).change is None


def test_both_parsers_give_the_same_facts_and_user_key() -> None:
    from toolkit.contract.native_codec import NativeEvent
    from toolkit.contract.tsv import parse_line_python

    for e in (withdrawn(False, "terms", user_id="alice", contexts=[gdpr("contract")]),
              event(contexts=[sdj("iglu:com.acme/product/jsonschema/1-0-0", {"sku": "A", "price": 1})]),
              event(user_id="bob"), event(domain_userid=None, network_userid=None)):
        python = parse_line_python(e.line)
        assert type(e) is NativeEvent and type(python) is not NativeEvent
        assert consent_facts(e) == consent_facts(python)  # type: ignore[arg-type]
        assert user_key(e) == user_key(python)  # type: ignore[arg-type]


def test_the_user_key_names_the_identifier_it_uses() -> None:
    assert user_key(event(user_id="alice")) == "user_id:alice"
    assert user_key(event()) == "domain_userid:d-user-1"
    assert user_key(event(domain_userid=None)) == "network_userid:n-user-1"
    assert user_key(event(domain_userid=None, network_userid=None)) is None


# -- what an event changes ---------------------------------------------------------------------------------------


def test_withdrawals_and_grants_change_the_state() -> None:
    everything = transition(None, consent_facts(withdrawn(True)))
    assert everything == ConsentState(all=True)
    one = transition(None, consent_facts(withdrawn(False, "newsletter")))
    assert one == ConsentState(documents=frozenset({"newsletter"}))
    two = transition(one, consent_facts(withdrawn(False, "terms")))
    assert two == ConsentState(documents=frozenset({"newsletter", "terms"}))
    assert transition(two, consent_facts(granted("terms"))) == one  # a grant lifts the documents it names
    assert transition(everything, consent_facts(granted())) is None  # lifting the last restriction: no state
    assert transition(None, consent_facts(withdrawn(False))) is None  # withdraws nothing it names
    unchanged = transition(one, consent_facts(event(contexts=[gdpr("consent")])))
    assert unchanged is one  # not a consent event: the same object (no record is written)
    assert transition(everything, consent_facts(withdrawn(True))) is everything


def test_preferences_set_the_allowed_scopes() -> None:
    selected = transition(None, consent_facts(preferences("allow_selected", ["functional", "analytics"])))
    assert selected == ConsentState(scopes=frozenset({"functional", "analytics"}))
    denied = transition(selected, consent_facts(preferences("deny_all", ["none"])))
    assert denied is not None and denied.all
    assert transition(denied, consent_facts(preferences("allow_all", ["analytics"]))) is None
    assert transition(selected, consent_facts(preferences("pending", ["analytics"]))) is selected


# -- what a stream decides ---------------------------------------------------------------------------------------


def test_a_stream_accepts_the_lawful_bases_it_names() -> None:
    rule = policy(consent_basis=("consent", "contract"))
    assert rule.admits(event(contexts=[gdpr("consent")]))
    assert rule.refusal(event(), consent_facts(event()), None) == "privacy.web.consent_basis"
    li = event(contexts=[gdpr("legitimate_interests")])
    assert rule.refusal(li, consent_facts(li), None) == "privacy.web.consent_basis"
    assert policy(consent_basis=("legitimate_interests",)).admits(li)


def test_withdrawals_cover_a_stream_by_all_or_by_its_documents() -> None:
    honour = policy(honour_withdrawals=True, consent_documents=("newsletter",))
    facts = consent_facts(event())
    assert honour.refusal(event(), facts, ConsentState(all=True)) == "privacy.web.honour_withdrawals"
    assert honour.refusal(event(), facts, ConsentState(documents=frozenset({"newsletter"}))) is not None
    assert honour.refusal(event(), facts, ConsentState(documents=frozenset({"terms"}))) is None  # not its document
    assert honour.refusal(event(), facts, None) is None
    assert policy().refusal(event(), facts, ConsentState(all=True)) is None  # a stream that does not honour them


def test_a_stream_needs_its_scopes_allowed() -> None:
    analytics = policy(consent_scopes=("analytics",))
    facts = consent_facts(event())
    assert analytics.refusal(event(), facts, ConsentState(scopes=frozenset({"functional"}))) == \
        "privacy.web.consent_scopes"
    assert analytics.refusal(event(), facts, ConsentState(scopes=frozenset({"analytics", "ads"}))) is None
    assert analytics.refusal(event(), facts, ConsentState(all=True)) == "privacy.web.consent_scopes"
    assert analytics.refusal(event(), facts, None) is None  # no recorded choice restricts nothing
    assert consent_rule("privacy.web.consent_scopes") == "consent_scopes" and consent_rule("filter") is None


# -- the state in memory and on the topic ------------------------------------------------------------------------


def test_records_rebuild_the_same_state() -> None:
    ledger = ConsentLedger(max_users=10)
    e = withdrawn(True, user_id="alice")
    value = ledger.record("user_id:alice", ConsentState(all=True), e, consent_facts(e))
    doc = orjson.loads(value)
    assert doc["suppressed"] is True and doc["all"] is True and doc["user"] == "user_id:alice"
    assert doc["cause"] == "consent_withdrawn" and doc["event_id"] == e.event_id
    assert doc["collector_tstamp"] == "2026-11-01T10:00:00.123Z"
    g = granted(user_id="alice")
    lifted = ledger.record("user_id:alice", None, g, consent_facts(g))
    assert read_record(lifted) is None and "user_id:alice" not in ledger.states
    assert ledger.written == {"suppressed": 1, "lifted": 1}
    scopes = orjson.dumps({"suppressed": True, "all": False, "documents": ["terms"], "scopes": ["analytics"]})
    rebuilt = ConsentLedger(max_users=10)
    users = rebuilt.load([(b"user_id:alice", value), (b"user_id:bob", value), (b"user_id:bob", lifted),
                          (b"domain_userid:d-9", scopes), (b"user_id:carol", value), (b"user_id:carol", None),
                          (b"user_id:dave", b"not json"), (None, value)], "test.consent")
    assert users == 2
    assert rebuilt.states == {"user_id:alice": ConsentState(all=True),
                              "domain_userid:d-9": ConsentState(False, frozenset({"terms"}), frozenset({"analytics"}))}


def test_the_ledger_refuses_to_forget_past_its_bound() -> None:
    ledger = ConsentLedger(max_users=1)
    e = withdrawn(True)
    ledger.record("user_id:a", ConsentState(all=True), e, consent_facts(e))
    ledger.record("user_id:a", ConsentState(all=True), e, consent_facts(e))  # the same user again: no new entry
    with pytest.raises(LedgerFull, match="consent.max_users"):
        ledger.record("user_id:b", ConsentState(all=True), e, consent_facts(e))
    assert list(ledger.states) == ["user_id:a"]


# -- the pipeline: state updated as it produces ------------------------------------------------------------------


@pytest.fixture
def consent_validator(iglu_central: Path) -> EventValidator:
    return EventValidator(SchemaValidator(Resolver([EmbeddedRepository(RepositoryRef("examples", 0), EXAMPLES),
                                                    EmbeddedRepository(RepositoryRef("iglu-central", 1),
                                                                       iglu_central.parent)])))


def consent_pipeline(validator: EventValidator) -> Pipeline:
    cfg = config(derived=[{"name": "marketing", "version": 1, "owner": "crm"},
                          {"name": "audit", "version": 1, "owner": "dpo"}],
                 privacy={"enriched": {"consent_basis": ["consent", "legitimate_interests"]},
                          "marketing": {"honour_withdrawals": True, "consent_scopes": ["analytics"]}})
    return Pipeline(cfg, validator, pipeline_id="t")


def line_of(e: Any) -> bytes:
    return e.line.encode()


def test_a_withdrawal_applies_to_the_users_next_event_and_a_grant_lifts_it(consent_validator: EventValidator) -> None:
    p = consent_pipeline(consent_validator)
    ctx = [gdpr("consent")]
    before = p.process(line_of(event(user_id="alice", contexts=ctx)), "in:1")
    assert isinstance(before, Routed) and before.derived == ("marketing.v1", "audit.v1")
    assert not [o for o in before.outputs if o.stream == "consent"]
    headers = {o.stream: dict(o.headers) for o in before.outputs}
    assert headers["enriched"]["sp.consent"] == b"basis=consent;scopes=-"
    assert headers["derived.marketing.v1"]["sp.consent"] == b"basis=consent;scopes=-"
    assert "sp.consent" not in headers["derived.audit.v1"]  # no consent rule, no header

    out = p.process(line_of(withdrawn(True, user_id="alice", contexts=[gdpr("consent")])), "in:2")
    records = [o for o in out.outputs if o.stream == "consent"]
    assert len(records) == 1 and records[0].key == b"user_id:alice" and records[0].topic == "consent"
    assert orjson.loads(records[0].value)["suppressed"] is True
    assert out.filtered == (("marketing.v1", "privacy.marketing.honour_withdrawals"),)  # the withdrawal itself

    later = p.process(line_of(event(user_id="alice", contexts=ctx)), "in:3")
    assert isinstance(later, Routed) and later.derived == ("audit.v1",)
    assert later.filtered == (("marketing.v1", "privacy.marketing.honour_withdrawals"),)
    assert dict(later.outputs[1].headers)["sp.consent"] == b"basis=consent;scopes=none"
    other = p.process(line_of(event(user_id="bob", contexts=ctx)), "in:4")
    assert other.derived == ("marketing.v1", "audit.v1")  # another user is not touched

    lift = p.process(line_of(granted(user_id="alice", contexts=ctx)), "in:5")
    assert [orjson.loads(o.value)["suppressed"] for o in lift.outputs if o.stream == "consent"] == [False]
    again = p.process(line_of(event(user_id="alice", contexts=ctx)), "in:6")
    assert again.derived == ("marketing.v1", "audit.v1") and p.ledger is not None and not p.ledger.states

    no_basis = p.process(line_of(event(user_id="bob")), "in:7")
    assert isinstance(no_basis, Filtered) and no_basis.rule == "privacy.enriched.consent_basis"


def test_scopes_come_from_the_users_last_preferences(consent_validator: EventValidator) -> None:
    p = consent_pipeline(consent_validator)
    ctx = [gdpr("consent")]
    p.process(line_of(preferences("allow_selected", ["functional"], user_id="carol", contexts=ctx)), "in:1")
    out = p.process(line_of(event(user_id="carol", contexts=ctx)), "in:2")
    assert out.filtered == (("marketing.v1", "privacy.marketing.consent_scopes"),)
    p.process(line_of(preferences("allow_selected", ["functional", "analytics"], user_id="carol", contexts=ctx)),
              "in:3")
    out = p.process(line_of(event(user_id="carol", contexts=ctx)), "in:4")
    assert out.derived == ("marketing.v1", "audit.v1")
    assert dict(out.outputs[1].headers)["sp.consent"] == b"basis=consent;scopes=analytics,functional"


def test_a_bad_consent_event_changes_nothing(consent_validator: EventValidator) -> None:
    p = consent_pipeline(consent_validator)
    broken = event(event="unstruct", user_id="dan", unstruct_event=sdj(WITHDRAWN, {"all": "yes"}))
    out = p.process(line_of(broken), "in:1")
    assert out.kind == "bad" and not [o for o in out.outputs if o.stream == "consent"]
    assert p.ledger is not None and not p.ledger.states


# -- configuration -----------------------------------------------------------------------------------------------


def test_the_consent_topic_is_declared_compacted_only_when_a_stream_needs_it() -> None:
    kafka = {"bootstrap_servers": "k:9092", "topic_prefix": "prod.acme.sp"}
    plain = config(kafka=kafka, output={"target": "kafka"})
    assert "consent" not in [s.stream for s in declared_topics(plain)]
    tracked = config(kafka=kafka, output={"target": "kafka"}, topics={"defaults": {"cleanup_policy": "delete",
                                                                                  "retention_ms": 1000}},
                     privacy={"enriched": {"honour_withdrawals": True}},
                     )
    spec = next(s for s in declared_topics(tracked) if s.stream == "consent")
    assert spec.name == "prod.acme.sp.consent"
    assert spec.configs["cleanup.policy"] == "compact" and spec.configs["retention.ms"] == "-1"
    acl = config(kafka=kafka, output={"target": "kafka"}, privacy={"enriched": {"consent_scopes": ["analytics"]}},
                 topics={"acls": [{"principal": "User:dpo", "read": ["consent"]}]})
    assert acl.tracks_consent


def test_consent_settings_that_would_lose_withdrawals_are_refused() -> None:
    with pytest.raises(ConfigError, match="compacted"):
        config(privacy={"enriched": {"honour_withdrawals": True}}, topics={"consent": {"cleanup_policy": "delete"}})
    with pytest.raises(ConfigError, match="honour_withdrawals is false"):
        config(privacy={"enriched": {"consent_documents": ["terms"]}})
    with pytest.raises(ConfigError, match="consent_basis"):
        config(privacy={"enriched": {"consent_basis": ["because"]}})
    with pytest.raises(ConfigError, match="unknown stream 'consent'"):
        config(topics={"acls": [{"principal": "User:dpo", "read": ["consent"]}]})


def test_the_consent_example_in_docs_privacy_loads() -> None:
    import re
    import tomllib

    text = (Path(__file__).resolve().parents[3] / "docs" / "privacy.md").read_text(encoding="utf-8")
    consent = text.split("## Consent", 1)[1]
    block = re.findall(r"```toml\n(.*?)```", consent, flags=re.S)[0]
    cfg = config(derived=[{"name": "marketing", "version": 1, "owner": "crm"}], **tomllib.loads(block))
    assert cfg.tracks_consent and cfg.privacy["marketing"].consent_documents == ("newsletter",)
