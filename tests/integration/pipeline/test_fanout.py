"""``sptk pipeline run`` against the real broker: every record accounted, routing, keys, headers, order, privacy."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter, defaultdict
from pathlib import Path

import orjson

from tests.integration.pipeline.conftest import Message, base_config, read_topic, sptk, write_config
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.samples import SampleSpec, SampleStats, generate
from toolkit.contract.tsv import parse_line

KEY = "integration-pseudonymisation-key"
HEADERS = {"sp.event_id", "sp.schema", "sp.collector_tstamp", "sp.source", "sp.pipeline", "sp.trace_id"}


def pseudonym(text: str) -> str:
    return hmac.new(KEY.encode(), text.encode(), hashlib.sha256).hexdigest()


def build_input(path: Path, enriched_fixtures: Path) -> tuple[list[bytes], SampleStats]:
    stats = SampleStats()
    lines = [x.encode() for x in generate(SampleSpec(events=1500, seed=5), stats)]
    good = next(x for x in lines if isinstance(parse_line(x), EnrichedEvent)).decode()
    fields = good.split("\t")
    oversized = "\t".join(fields[:30] + ["x" * 30_000] + fields[31:]).encode()  # page_title: over raw's limit
    poison = [b"", b"\x00\x01\x02 binary", b"\xff\xfe\xfd", "\t".join(["x"] * 200).encode(), good.encode() + b"\r",
              b"caf\xe9\t" + good.encode()]
    fixtures = [raw for f in sorted(enriched_fixtures.glob("*.tsv")) for raw in f.read_bytes().splitlines() if raw]
    everything = lines[:500] + poison + [oversized] + lines[500:1000] + fixtures + lines[1000:]
    path.write_bytes(b"".join(x + b"\n" for x in everything))
    return everything, stats


def test_every_record_is_accounted_routed_keyed_and_ordered(tmp_path: Path, kafka_bootstrap: str, prefix: str,
                                                            enriched_fixtures: Path) -> None:
    lines, _ = build_input(tmp_path / "in.tsv", enriched_fixtures)
    cfg = base_config(prefix, kafka_bootstrap, source={"kind": "file", "file": {"paths": [str(tmp_path / "in.tsv")]}},
                      topics={"defaults": {"partitions": 3, "replication": 1}, "raw": {"max_message_bytes": 20_000}},
                      derived=[
                          {"name": "checkout", "version": 1, "owner": "payments",
                           "filter": {"schema": "iglu:com.acme/checkout_step/jsonschema/1-*-*"},
                           "projection": ["event_id", "user_id", "unstruct_event_com_acme_checkout_step_1.step"],
                           "partition_key": ["user_id", "domain_userid"]},
                          {"name": "marketing", "version": 1, "owner": "crm",
                           "filter": {"field": "contexts_com_acme_consent_1[].marketing", "op": "eq", "value": True},
                           "partition_key": ["domain_userid"]}],
                      privacy={"enriched": {"strip_ip": True},
                               "marketing": {"require_consent": True,
                                             "consent_schema": "iglu:com.acme/consent/jsonschema/1-*-*",
                                             "pseudonymise": ["user_id", "domain_userid"],
                                             "pseudonymisation_key_env": "SPTK_TEST_KEY", "strip_ip": True}})
    config = write_config(tmp_path / "pipeline.yaml", cfg)
    run = sptk("pipeline", "run", "--config", str(config), "--create-topics", env={"SPTK_TEST_KEY": KEY})
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])

    source_of = {f"{tmp_path / 'in.tsv'}:{i + 1}": raw for i, raw in enumerate(lines)}
    raw = read_topic(kafka_bootstrap, f"{prefix}.raw", expect=len(lines) - 1)
    enriched = read_topic(kafka_bootstrap, f"{prefix}.enriched", expect=summary["enriched"])
    bad = read_topic(kafka_bootstrap, f"{prefix}.bad", expect=summary["bad"])
    checkout = read_topic(kafka_bootstrap, f"{prefix}.derived.checkout.v1", expect=summary["derived"]["checkout.v1"])
    marketing = read_topic(kafka_bootstrap, f"{prefix}.derived.marketing.v1",
                           expect=summary["derived"]["marketing.v1"])

    # in = enriched + filtered + bad, per source position: each line is in exactly one of enriched or bad
    assert summary["in"] == len(lines) == summary["enriched"] + summary["filtered"] + summary["bad"]
    assert summary["filtered"] == 0
    landed = Counter(m.source for m in enriched + bad)
    assert set(landed) == set(source_of) and set(landed.values()) == {1}
    # raw: every line byte for byte, except the one too large for the raw topic
    assert sorted(m.value for m in raw) == sorted(x for x in lines if len(x) < 20_000)
    assert all(source_of[m.source] == m.value for m in raw)
    kinds = Counter(orjson.loads(m.value)["schema"].split("/")[1] for m in bad)
    assert kinds["size_violation"] == 1 and kinds["loader_parsing_error"] >= 6 and kinds["schema_violations"] > 10
    assert dict(kinds) == summary["bad_by_type"]
    # headers on everything; bad rows say why
    for m in raw + enriched + bad + checkout + marketing:
        assert set(m.headers) >= HEADERS and len(m.headers["sp.trace_id"]) == 32
        assert m.headers["sp.pipeline"].startswith("sptk/")
    for m in bad:
        assert m.headers["sp.error.stage"] in ("decode", "validate", "size") and m.headers["sp.error.message"]
    # keys: domain_userid (else network_userid, else event_id); one user's events in one partition, in order
    by_key: dict[bytes, list[Message]] = defaultdict(list)
    for m in enriched:
        event = parse_line(source_of[m.source])
        assert m.key == (event.domain_userid or event.network_userid or event.event_id).encode()
        assert m.event_id == event.event_id
        body = orjson.loads(m.value)
        assert "user_ipaddress" not in body and body["event_id"] == event.event_id
        by_key[m.key].append(m)
    for messages in by_key.values():
        assert len({m.partition for m in messages}) == 1
        line_numbers = [int(m.source.rsplit(":", 1)[1]) for m in sorted(messages, key=lambda m: m.offset)]
        assert line_numbers == sorted(line_numbers)
    # derived: exactly the matching events, projected, keyed as declared
    valid = {m.source: parse_line(source_of[m.source]) for m in enriched}
    want_checkout = {s for s, e in valid.items() if e.unstruct_event and "checkout_step" in e.unstruct_event.uris[0]}
    assert {m.source for m in checkout} == want_checkout and want_checkout
    for m in checkout:
        event = valid[m.source]
        assert set(orjson.loads(m.value)) <= {"event_id", "user_id", "unstruct_event_com_acme_checkout_step_1"}
        assert m.key == (event.get("user_id") or event.domain_userid).encode()
    want_marketing = {s for s, e in valid.items() if e.contexts and any(
        "com.acme/consent" in u and d.get("marketing") is True for u, d in zip(e.contexts.uris, e.contexts.datas,
                                                                             strict=True))}
    assert {m.source for m in marketing} == want_marketing and want_marketing
    for m in marketing:
        event = valid[m.source]
        body = orjson.loads(m.value)
        assert body["domain_userid"] == pseudonym(event.domain_userid) and "user_ipaddress" not in body
        assert m.key == pseudonym(event.domain_userid).encode()
        if event.get("user_id"):
            assert body["user_id"] == pseudonym(event.get("user_id"))
        assert event.domain_userid not in m.value.decode()
