"""The pipeline config loader: every error path names the key, secrets never leak, env overrides work."""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from toolkit.config.errors import ConfigError
from toolkit.config.field_paths import DEFAULT_PARTITION_KEY, AnyIndex, Index, Key, PathKind, parse_field_path
from toolkit.config.filters import AllOf, AnyOf, Compare, CompareOp, Not, SchemaMatch
from toolkit.config.identity import config_hash, config_to_dict, pipeline_id
from toolkit.config.loading import load_config, parse_config
from toolkit.config.schema import config_keys
from toolkit.config.secrets import Secret

ROOT = Path(__file__).resolve().parents[3]


def minimal(**sections: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kafka": {"bootstrap_servers": "127.0.0.1:9092", "topic_prefix": "test.acme.snowplow"},
        "source": {"kind": "stdin"},
        "iglu": {"resolver_config": "resolver.json"},
    }
    for name, value in sections.items():
        data[name] = value
    return data


def parse(data: dict[str, Any], environ: dict[str, str] | None = None, base: Path | None = None) -> Any:
    return parse_config(data, origin="test.toml", base_dir=base or Path("/etc/sptk"), environ=environ or {})


def error_of(data: dict[str, Any], environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(data, environ)
    return info.value


# ----------------------------------------------------------------------------------------- basics


def test_minimal_config_gets_documented_defaults() -> None:
    cfg = parse(minimal())
    assert cfg.kafka.client_id == "sptk"
    assert cfg.output.target.kind == "kafka"
    assert cfg.output.enriched_profile == "canonical"
    assert tuple(p.text for p in cfg.output.partition_key) == DEFAULT_PARTITION_KEY
    assert cfg.delivery.transactional is False
    assert cfg.sidecar.port == 8080
    assert cfg.iglu.resolver_config == Path("/etc/sptk/resolver.json")
    resolved = cfg.topics.resolve(cfg.topics.raw)
    assert (resolved.partitions, resolved.replication, resolved.cleanup_policy) == (3, 3, "delete")


def test_topic_settings_inherit_defaults_then_override_per_stream() -> None:
    cfg = parse(minimal(topics={"defaults": {"partitions": 6, "replication": 1},
                                "bad": {"retention_ms": 2_592_000_000}},
                        derived=[{"name": "clicks", "version": 2, "owner": "web", "topic": {"partitions": 12}}]))
    bad = cfg.topics.resolve(cfg.topics.bad)
    assert (bad.partitions, bad.replication, bad.retention_ms) == (6, 1, 2_592_000_000)
    clicks = cfg.topics.resolve(cfg.derived[0].topic)
    assert (clicks.partitions, clicks.replication, clicks.retention_ms) == (12, 1, 604_800_000)
    assert cfg.derived[0].stream_id == "clicks.v2"


# ------------------------------------------------------------------------------------ unknown keys


@pytest.mark.parametrize(
    ("data", "path", "suggestion"),
    [
        ({"kafka": {"bootstrap_server": "x", "topic_prefix": "p"}}, "kafka.bootstrap_server", "bootstrap_servers"),
        ({"delivery": {"drain_timeout": 5}}, "delivery.drain_timeout", "drain_timeout_s"),
        ({"topics": {"enriched": {"partition": 3}}}, "topics.enriched.partition", "partitions"),
        ({"sidecar": {"prot": 1}}, "sidecar.prot", "port"),
        ({"delivry": {}}, "delivry", "delivery"),
    ],
)
def test_unknown_keys_are_rejected_with_their_dotted_path_and_a_suggestion(
        data: dict[str, Any], path: str, suggestion: str) -> None:
    err = error_of({**minimal(), **data})
    assert err.path == path
    assert f"did you mean {suggestion!r}" in str(err)
    assert str(err).startswith(f"test.toml: {path}: unknown key")


def test_unknown_key_inside_a_derived_stream_names_the_stream() -> None:
    err = error_of(minimal(derived=[{"name": "clicks", "version": 1, "owner": "web", "projecton": ["event_id"]}]))
    assert err.path == "derived[clicks].projecton"
    assert "did you mean 'projection'" in str(err)


def test_unknown_key_inside_a_filter_condition() -> None:
    err = error_of(minimal(derived=[{"name": "c", "version": 1, "owner": "o",
                                     "filter": {"any": [{"field": "app_id", "op": "eq", "valu": "x"}]}}]))
    assert err.path == "derived[c].filter.any[0].valu"
    assert "did you mean 'value'" in str(err)


# -------------------------------------------------------------------------------------- wrong types


@pytest.mark.parametrize(
    ("section", "value", "path", "expected"),
    [
        ("delivery", {"max_in_flight": "many"}, "delivery.max_in_flight", "expected an integer, got string 'many'"),
        ("delivery", {"transactional": "yes"}, "delivery.transactional", "expected a boolean"),
        ("delivery", {"drain_timeout_s": True}, "delivery.drain_timeout_s", "expected a number, got boolean True"),
        ("sidecar", {"host": 8080}, "sidecar.host", "expected a string, got integer 8080"),
        ("sidecar", {"log_format": "xml"}, "sidecar.log_format", "expected one of 'json', 'text'"),
        ("topics", {"raw": {"cleanup_policy": "compacted"}}, "topics.raw.cleanup_policy", "did you mean 'compact'"),
        ("topics", {"raw": {"partitions": 0}}, "topics.raw.partitions", "must be at least 1"),
        ("sidecar", {"port": 70000}, "sidecar.port", "must be at most 65535"),
        ("topics", "six", "topics", "expected a table, got string 'six'"),
    ],
)
def test_wrong_types_name_the_path_and_the_expected_type(section: str, value: Any, path: str, expected: str) -> None:
    err = error_of(minimal(**{section: value}))
    assert err.path == path
    assert expected in str(err)


def test_missing_required_keys_are_named() -> None:
    data = minimal()
    del data["iglu"]
    assert error_of(data).path == "iglu"
    data = minimal(kafka={"bootstrap_servers": "x"})
    assert error_of(data).path == "kafka.topic_prefix"


def test_source_kind_needs_its_table_and_refuses_the_others() -> None:
    assert error_of(minimal(source={"kind": "dir"})).path == "source.dir"
    err = error_of(minimal(source={"kind": "stdin", "dir": {"path": "/x"}}))
    assert err.path == "source.dir" and "source.kind is 'stdin'" in str(err)
    assert error_of(minimal(source={"kind": "files"})).path == "source.kind"
    assert error_of(minimal(source={"kind": "file", "file": {"paths": []}})).path == "source.file.paths"


def test_kafka_section_is_required_only_when_kafka_is_used(tmp_path: Path) -> None:
    data = minimal(output={"target": f"files:{tmp_path}"})
    del data["kafka"]
    cfg = parse(data)
    assert cfg.kafka is None and cfg.output.target.directory == tmp_path
    with pytest.raises(ConfigError, match="no \\[kafka\\] section"):
        cfg.require_kafka()
    data["output"] = {"target": "kafka"}
    assert error_of(data).path == "kafka"


def test_transactions_need_kafka_in_and_out_and_a_stable_id() -> None:
    err = error_of(minimal(delivery={"transactional": True, "transactional_id": "t1"}))
    assert err.path == "delivery.transactional" and "exactly-once" in str(err)
    kafka_source = {"kind": "kafka", "kafka": {"topics": ["in"], "group_id": "g"}}
    assert error_of(minimal(source=kafka_source, delivery={"transactional": True})).path == \
        "delivery.transactional_id"
    cfg = parse(minimal(source=kafka_source, delivery={"transactional": True, "transactional_id": "sptk-0"}))
    assert cfg.delivery.transactional_id == "sptk-0"


def test_topic_prefix_is_checked_against_kafka_topic_rules() -> None:
    assert error_of(minimal(kafka={"bootstrap_servers": "x", "topic_prefix": "prod..acme"})).path == \
        "kafka.topic_prefix"
    assert error_of(minimal(kafka={"bootstrap_servers": "x", "topic_prefix": "prod acme"})).path == \
        "kafka.topic_prefix"


def test_duplicate_derived_stream_versions_are_refused_but_two_majors_may_coexist() -> None:
    d1 = {"name": "clicks", "version": 1, "owner": "web"}
    cfg = parse(minimal(derived=[d1, {**d1, "version": 2}]))
    assert [d.stream_id for d in cfg.derived] == ["clicks.v1", "clicks.v2"]
    assert error_of(minimal(derived=[d1, dict(d1)])).path == "derived[clicks].version"
    assert error_of(minimal(derived=[{**d1, "name": "Clicks"}])).path == "derived[Clicks].name"


# ------------------------------------------------------------------------------------------ filters


def filter_of(flt: dict[str, Any]) -> Any:
    return parse(minimal(derived=[{"name": "s", "version": 1, "owner": "o", "filter": flt}])).derived[0].filter


def test_filter_language_parses_into_data() -> None:
    flt = filter_of({"all": [
        {"schema": "iglu:com.acme/click/jsonschema/1-*-*"},
        {"field": "contexts_com_acme_product_1[].sku", "op": "in", "value": ["A1", "B2"]},
        {"any": [{"field": "geo_country", "op": "eq", "value": "DE"},
                 {"field": "unstruct_event.data.target_url", "op": "regex", "value": "^https://acme\\."}]},
        {"not": {"field": "user_id", "op": "exists"}},
        {"field": "domain_sessionidx", "op": "gt", "value": 3},
        {"schema": "iglu:com.acme/product/jsonschema/1-0-*", "scope": "contexts"},
    ]})
    assert isinstance(flt, AllOf) and len(flt.conditions) == 6
    schema, sku, either, absent, visits, ctx_schema = flt.conditions
    assert isinstance(schema, SchemaMatch) and schema.scope == "event" and schema.criterion.model == 1
    assert isinstance(sku, Compare) and sku.op is CompareOp.IN and sku.value == ("A1", "B2")
    assert sku.path.kind is PathKind.SHREDDED_CONTEXT and sku.path.shredded_name == "com_acme_product"
    assert sku.path.steps == (AnyIndex(), Key("sku"))
    assert isinstance(either, AnyOf)
    url = either.conditions[1]
    assert url.op is CompareOp.REGEX and url.pattern.search("https://acme.com/x")
    assert isinstance(absent, Not) and absent.condition.op is CompareOp.EXISTS
    assert visits.value == 3
    assert ctx_schema.scope == "contexts" and ctx_schema.criterion.addition is None


@pytest.mark.parametrize(
    ("flt", "path", "message"),
    [
        ({"field": "app_id", "op": "equals", "value": "x"}, "derived[s].filter.op", "expected one of eq, ne"),
        ({"field": "app_id", "op": "eq"}, "derived[s].filter.value", "'eq' needs a value"),
        ({"field": "app_id", "op": "exists", "value": True}, "derived[s].filter.value", "takes no value"),
        ({"field": "app_id", "op": "in", "value": "x"}, "derived[s].filter.value", "non-empty list"),
        ({"field": "app_id", "op": "regex", "value": "(unclosed"}, "derived[s].filter.value",
         "invalid regular expression"),
        ({"field": "app_idd", "op": "eq", "value": "x"}, "derived[s].filter.field", "did you mean 'app_id'"),
        ({"field": "app_id.x", "op": "eq", "value": "x"}, "derived[s].filter.field", "plain field"),
        ({"field": "contexts_com_acme_product_1.sku", "op": "exists"}, "derived[s].filter.field",
         "continue with []"),
        ({"schema": "iglu:com.acme/click/jsonschema/x-*-*"}, "derived[s].filter.schema", "invalid schema criterion"),
        ({"schema": "iglu:com.acme/click/jsonschema/1-*-*", "scope": "everywhere"}, "derived[s].filter.scope",
         "expected 'event', 'contexts' or 'any'"),
        ({"all": []}, "derived[s].filter.all", "non-empty list"),
        ({"field": "app_id", "op": "eq", "value": "x", "all": []}, "derived[s].filter", "exactly one of"),
        ({"field": "app_id", "op": "gt", "value": [1]}, "derived[s].filter.value", "needs a number"),
        ({"not": {"field": "x y", "op": "exists"}}, "derived[s].filter.not.field", "cannot read"),
    ],
)
def test_filter_errors_point_at_the_condition(flt: dict[str, Any], path: str, message: str) -> None:
    err = error_of(minimal(derived=[{"name": "s", "version": 1, "owner": "o", "filter": flt}]))
    assert err.path == path, str(err)
    assert message in str(err)


def test_field_paths() -> None:
    p = parse_field_path("contexts_com_snowplowanalytics_snowplow_web_page_1[0].id")
    assert (p.kind, p.model, p.steps) == (PathKind.SHREDDED_CONTEXT, 1, (Index(0), Key("id")))
    p = parse_field_path("unstruct_event_com_acme_click_2.target_url")
    assert (p.kind, p.shredded_name, p.model) == (PathKind.SHREDDED_UNSTRUCT, "com_acme_click", 2)
    p = parse_field_path("derived_contexts")
    assert p.kind is PathKind.SELF_DESCRIBING and p.steps == ()
    assert parse_field_path("event_id").kind is PathKind.ATOMIC
    with pytest.raises(ValueError, match="unknown field 'contexts_com_acme'"):
        parse_field_path("contexts_com_acme")


def test_projection_and_partition_key() -> None:
    cfg = parse(minimal(derived=[{"name": "s", "version": 1, "owner": "o",
                                  "projection": ["event_id", "contexts_com_acme_product_1[].sku"],
                                  "partition_key": "user_id"}]))
    d = cfg.derived[0]
    assert [p.text for p in d.projection] == ["event_id", "contexts_com_acme_product_1[].sku"]
    assert [p.text for p in d.partition_key] == ["user_id"]
    err = error_of(minimal(derived=[{"name": "s", "version": 1, "owner": "o",
                                     "projection": ["event_id", "event_id"]}]))
    assert err.path == "derived[s].projection[1]" and "listed twice" in str(err)


# ---------------------------------------------------------------------------------- environment


def test_env_overrides_every_kind_of_value() -> None:
    env = {
        "SPTK_KAFKA__BOOTSTRAP_SERVERS": "broker-1:9092,broker-2:9092",
        "SPTK_DELIVERY__MAX_IN_FLIGHT": "500",
        "SPTK_DELIVERY__DRAIN_TIMEOUT_S": "12.5",
        "SPTK_TOPICS__ALLOW_DRIFT": "true",
        "SPTK_TOPICS__RAW__PARTITIONS": "9",
        "SPTK_SIDECAR__LOG_FORMAT": "text",
        "SPTK_KAFKA__PRODUCER__LINGER_MS": "50",
        "SPTK_KAFKA__COMMON__LOG_LEVEL": "3",
        "SPTK_DERIVED__CLICKS__OWNER": "team-growth",
        "SPTK_DERIVED__CLICKS__PARTITION_KEY": "user_id,event_id",
        "SPTK_PRIVACY__ENRICHED__STRIP_IP": "yes",
        "SPTK_OUTPUT__TARGET": "files:out",
        "SPTK_POSTGRES_URL": "postgresql://ignored: no double underscore",
    }
    cfg = parse(minimal(derived=[{"name": "clicks", "version": 1, "owner": "web"}]), env)
    assert cfg.kafka.bootstrap_servers == "broker-1:9092,broker-2:9092"
    assert cfg.delivery.max_in_flight == 500 and cfg.delivery.drain_timeout_s == 12.5
    assert cfg.topics.allow_drift is True and cfg.topics.raw.partitions == 9
    assert cfg.sidecar.log_format == "text"
    assert cfg.kafka.producer.values["linger.ms"] == "50"
    assert cfg.kafka.common.values["log_level"] == "3"  # librdkafka's one underscore property
    assert cfg.derived[0].owner == "team-growth"
    assert [p.text for p in cfg.derived[0].partition_key] == ["user_id", "event_id"]
    assert cfg.privacy["enriched"].strip_ip is True
    assert cfg.output.target.directory == Path("/etc/sptk/out")


def test_env_override_errors_name_the_variable() -> None:
    err = error_of(minimal(), {"SPTK_DELIVERY__MAX_IN_FLIGHT": "lots"})
    assert err.path == "delivery.max_in_flight"
    assert "expected an integer, got 'lots' (set by environment variable SPTK_DELIVERY__MAX_IN_FLIGHT)" in str(err)
    err = error_of(minimal(), {"SPTK_KAFKA__BOOTSTRAP_SERVRS": "x"})
    assert "SPTK_KAFKA__BOOTSTRAP_SERVRS" in str(err) and "did you mean 'bootstrap_servers'" in str(err)
    err = error_of(minimal(), {"SPTK_DERIVED__NOPE__OWNER": "x"})
    assert "no [[derived]] entry named 'nope'" in str(err)
    err = error_of(minimal(derived=[{"name": "c", "version": 1, "owner": "o"}]),
                   {"SPTK_DERIVED__C__FILTER": "x"})
    assert "only be set in the config file" in str(err)
    err = error_of(minimal(), {"SPTK_SIDECAR": "x", "SPTK_SIDECAR__PORT__X": "1"})
    assert "single value" in str(err)


def test_env_can_supply_a_whole_missing_section() -> None:
    data = minimal()
    del data["kafka"]
    cfg = parse(data, {"SPTK_KAFKA__BOOTSTRAP_SERVERS": "k:9092", "SPTK_KAFKA__TOPIC_PREFIX": "dev.me.sp"})
    assert cfg.kafka.topic_prefix == "dev.me.sp"


# -------------------------------------------------------------------------------------- secrets


def test_secrets_come_from_env_or_file_and_never_show(tmp_path: Path) -> None:
    (tmp_path / "kafka-password").write_text("file-pass-123\n")
    data = minimal(kafka={"bootstrap_servers": "x", "topic_prefix": "p",
                          "common": {"sasl.username": "sptk", "sasl.password_file": "kafka-password"},
                          "producer": {"ssl.key.password_env": "KEY_PW"}},
                   privacy={"enriched": {"pseudonymise": ["user_id"], "pseudonymisation_key_env": "PSEUDO"}},
                   iglu={"resolver_config": "r.json",
                         "api_keys": [{"repository": "Acme", "key_env": "IGLU_KEY"}]})
    env = {"KEY_PW": "env-pass-456", "PSEUDO": "pseudo-789", "IGLU_KEY": "iglu-000"}
    cfg = parse(data, env, base=tmp_path)
    secrets = ["file-pass-123", "env-pass-456", "pseudo-789", "iglu-000"]
    assert cfg.kafka.producer_settings()["sasl.password"] == "file-pass-123"
    assert cfg.kafka.producer_settings()["ssl.key.password"] == "env-pass-456"
    assert cfg.privacy["enriched"].pseudonymisation_key.reveal() == "pseudo-789"
    assert cfg.iglu.api_keys[0].key.reveal() == "iglu-000"
    shown = " ".join([repr(cfg), str(cfg), repr(config_to_dict(cfg)), config_hash(cfg), pipeline_id(cfg)])
    for secret in secrets:
        assert secret not in shown
    assert "env:PSEUDO" in repr(cfg) and f"file:{tmp_path / 'kafka-password'}" in repr(cfg)
    with pytest.raises(TypeError):
        pickle.dumps(cfg.privacy["enriched"].pseudonymisation_key)


def test_rotating_a_secret_does_not_change_the_hash_but_any_setting_does() -> None:
    data = minimal(privacy={"enriched": {"pseudonymise": ["user_id"], "pseudonymisation_key_env": "PSEUDO"}})
    h1 = config_hash(parse(data, {"PSEUDO": "old"}))
    h2 = config_hash(parse(data, {"PSEUDO": "new"}))
    h3 = config_hash(parse(data, {"PSEUDO": "old", "SPTK_DELIVERY__MAX_IN_FLIGHT": "7"}))
    assert h1 == h2 != h3
    assert re.fullmatch(r"[0-9a-f]{64}", h1)
    assert re.fullmatch(r"sptk/\S+ config/[0-9a-f]{16}", pipeline_id(parse(data, {"PSEUDO": "x"})))


def test_secret_errors_do_not_need_the_value(tmp_path: Path) -> None:
    data = minimal(kafka={"bootstrap_servers": "x", "topic_prefix": "p", "common": {"sasl.password": "hunter2"}})
    err = error_of(data)
    assert err.path == 'kafka.common."sasl.password"' and "sasl.password_env" in str(err)
    assert "hunter2" not in str(err)
    data = minimal(kafka={"bootstrap_servers": "x", "topic_prefix": "p", "common": {"sasl.password_env": "NOPE"}})
    assert "environment variable NOPE is not set" in str(error_of(data))
    data = minimal(privacy={"enriched": {"pseudonymise": ["user_id"], "pseudonymisation_key_file": "/nonexistent"}})
    assert "secret file /nonexistent does not exist" in str(error_of(data))
    data = minimal(privacy={"enriched": {"pseudonymise": ["user_id"]}})
    assert error_of(data).path == "privacy.enriched.pseudonymisation_key"
    data = minimal(privacy={"enriched": {"pseudonymisation_key_env": "A", "pseudonymisation_key_file": "b"}})
    assert "not both" in str(error_of(data, {"A": "x"}))


def test_a_secret_may_come_straight_from_an_sptk_variable() -> None:
    cfg = parse(minimal(), {"SPTK_KAFKA__COMMON__SASL_PASSWORD": "from-env-only"})
    value = cfg.kafka.common.values["sasl.password"]
    assert isinstance(value, Secret) and value.reveal() == "from-env-only"
    assert "from-env-only" not in repr(cfg) and "from-env-only" not in str(config_to_dict(cfg))


def test_passthrough_refuses_properties_the_toolkit_manages() -> None:
    for prop, hint in [("enable.idempotence", "always on"), ("bootstrap.servers", "kafka.bootstrap_servers"),
                       ("enable.auto.commit", "auto commit is always off"), ("group.id", "source.kafka.group_id")]:
        data = minimal(kafka={"bootstrap_servers": "x", "topic_prefix": "p", "producer": {prop: "false"}})
        err = error_of(data)
        assert err.path == f'kafka.producer."{prop}"' and hint in str(err)
    data = minimal(kafka={"bootstrap_servers": "x", "topic_prefix": "p", "consumer": {"fetch.min.bytes": [1]}})
    assert "expected a string, number or boolean" in str(error_of(data))


def test_privacy_applies_only_to_streams_that_exist() -> None:
    assert "byte for byte" in str(error_of(minimal(privacy={"raw": {"strip_ip": True}})))
    err = error_of(minimal(privacy={"enrichd": {"strip_ip": True}}))
    assert err.path == "privacy.enrichd" and "did you mean 'enriched'" in str(err)
    cfg = parse(minimal(derived=[{"name": "clicks", "version": 1, "owner": "o"}],
                        privacy={"clicks": {"require_consent": True}}))
    assert cfg.privacy["clicks"].require_consent is True
    assert str(cfg.privacy["clicks"].consent_schema).startswith("iglu:com.snowplowanalytics.snowplow/consent_document")


# ------------------------------------------------------------------------------------ files, docs


def test_toml_and_yaml_files_load_to_the_same_config_and_hash(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(
        '[kafka]\nbootstrap_servers = "k:9092"\ntopic_prefix = "prod.acme.snowplow"\n'
        '[kafka.producer]\n"linger.ms" = 20\n'
        '[source]\nkind = "stdin"\n[iglu]\nresolver_config = "resolver.json"\n'
        '[[derived]]\nname = "clicks"\nversion = 1\nowner = "web"\n'
        'filter = { field = "event_name", op = "eq", value = "link_click" }\n')
    (tmp_path / "p.yaml").write_text(
        "kafka:\n  bootstrap_servers: k:9092\n  topic_prefix: prod.acme.snowplow\n"
        "  producer:\n    linger.ms: 20\n"
        "source: {kind: stdin}\niglu: {resolver_config: resolver.json}\n"
        "derived:\n  - name: clicks\n    version: 1\n    owner: web\n"
        "    filter: {field: event_name, op: eq, value: link_click}\n")
    a, b = load_config(tmp_path / "p.toml", environ={}), load_config(tmp_path / "p.yaml", environ={})
    assert a == b
    assert config_hash(a) == config_hash(b)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", environ={})
    (tmp_path / "p.ini").write_text("x")
    with pytest.raises(ConfigError, match="use .toml, .yaml or .yml"):
        load_config(tmp_path / "p.ini", environ={})
    (tmp_path / "bad.toml").write_text("[kafka\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "bad.toml", environ={})
    (tmp_path / "dup.yaml").write_text("source: {kind: stdin}\nsource: {kind: http}\n")
    with pytest.raises(ConfigError, match="duplicate key 'source' at line 2"):
        load_config(tmp_path / "dup.yaml", environ={})
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a table"):
        load_config(tmp_path / "list.yaml", environ={})


def test_keys_that_are_not_text_are_named_not_crashed_on(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("source: {kind: stdin, 2: y}\niglu: {resolver_config: r.json}\n1: x\n"
                                     "output: {target: 'files:out'}\nprivacy: {3: {strip_ip: true}}\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "p.yaml", environ={})
    assert {(p.path, p.message) for p in info.value.problems} >= {
        ("1", "keys must be text, got integer 1"), ("source.2", "keys must be text, got integer 2"),
        ("privacy.3", "keys must be text, got integer 3")}


def _doc_blocks(lang: str) -> list[str]:
    text = (ROOT / "docs" / "pipeline.md").read_text(encoding="utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_the_worked_examples_in_docs_load(tmp_path: Path) -> None:
    blocks = _doc_blocks("toml")
    assert blocks, "docs/pipeline.md must hold a ```toml worked example"
    (tmp_path / "pipeline.toml").write_text(blocks[0])
    (tmp_path / "kafka-password").write_text("not-a-real-password\n")
    cfg = load_config(tmp_path / "pipeline.toml", environ={"SPTK_PSEUDONYMISATION_KEY": "k" * 32})
    assert cfg.derived and cfg.privacy and cfg.kafka is not None
    yaml_blocks = _doc_blocks("yaml")
    assert yaml_blocks, "docs/pipeline.md must hold a ```yaml example"
    (tmp_path / "pipeline.yaml").write_text(yaml_blocks[0])
    assert load_config(tmp_path / "pipeline.yaml", environ={}).source.kind


def test_every_key_is_documented() -> None:
    text = (ROOT / "docs" / "pipeline.md").read_text(encoding="utf-8")
    missing = [key for key in config_keys() if f"`{key}`" not in text]
    assert missing == [], f"keys missing from docs/pipeline.md: {missing}"


def test_profiles_are_checked_against_the_profile_registry() -> None:
    err = error_of(minimal(output={"enriched_profile": "python_sdk"}))
    assert err.path == "output.enriched_profile" and "did you mean 'python-sdk'" in str(err)
    err = error_of(minimal(derived=[{"name": "s", "version": 1, "owner": "o", "profile": "scala"}]))
    assert err.path == "derived[s].profile" and "choose one of: canonical" in str(err)
    assert parse(minimal(output={"enriched_profile": "scala-sdk"})).output.enriched_profile == "scala-sdk"


# ------------------------------------------------------------------------------ every error at once


def test_every_error_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(
        '[kafka]\nbootstrap_server = "k:9092"\ntopic_prefix = "prod acme"\n'
        '[kafka.producer]\n"acks" = "1"\n'
        '[source]\nkind = "stdin"\n[iglu]\nresolver_config = "resolver.json"\ncache_size = -1\n'
        '[[derived]]\nname = "clicks"\nversion = 0\nowner = "web"\nprojecton = ["event_id"]\n'
        'filter = { any = [{ field = "app_idd", op = "eq", value = "x" }, { field = "app_id", op = "equals" }] }\n'
        '[sidecar]\nport = "eighty"\n')
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "p.toml", environ={"SPTK_DELIVERY__MAX_IN_FLIGHT": "lots"})
    err = info.value
    paths = [p.path for p in err.problems]
    assert paths == sorted(set(paths), key=paths.index), "each problem once"
    assert set(paths) == {
        "kafka.bootstrap_server", "kafka.topic_prefix", 'kafka.producer."acks"', "iglu.cache_size",
        "derived[clicks].version", "derived[clicks].projecton", "derived[clicks].filter.any[0].field",
        "derived[clicks].filter.any[1].op", "sidecar.port", "delivery.max_in_flight"}
    text = str(err)
    assert text.startswith(f"{tmp_path / 'p.toml'}: {len(paths)} problems")
    assert "kafka.bootstrap_server: unknown key; did you mean 'bootstrap_servers'?" in text
    assert "derived[clicks].filter.any[0].field: unknown field 'app_idd'; did you mean 'app_id'?" in text
    assert "(set by environment variable SPTK_DELIVERY__MAX_IN_FLIGHT)" in text
    assert err.path == paths[0]


def test_cross_section_checks_are_reported_with_the_field_errors() -> None:
    data = minimal(delivery={"transactional": True, "transactional_id": "t"}, sidecar={"port": -1},
                   privacy={"enrichd": {"strip_ip": True}})
    del data["kafka"]
    err = error_of(data)
    assert {p.path for p in err.problems} == {"kafka", "delivery.transactional", "sidecar.port", "privacy.enrichd"}


# -------------------------------------------------------------------------- any document, no crash

_KEYS: list[Any] = [*sorted({part for key in config_keys() for part in key.replace("<stream>", "enriched").split(".")}
                             | {"sasl.password", "linger.ms", "acks", "sasl.password_env", "kind", "field", "op",
                                "value", "all", "any", "not", "schema"}), 1, True]
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 70000), st.floats(allow_nan=False),
                     st.sampled_from(["", "x", "kafka", "files:out", "stdin", "file", "kafka", "event_id", "eq",
                                      "iglu:com.acme/x/jsonschema/1-*-*", "1", "yes", "prod.acme"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4)), max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=6),
       st.dictionaries(st.sampled_from(["SPTK_DELIVERY__MAX_IN_FLIGHT", "SPTK_DERIVED__C__OWNER", "SPTK_KAFKA",
                                        "SPTK_KAFKA__PRODUCER__LINGER_MS", "SPTK_SOURCE__KIND", "SPTK___X",
                                        "SPTK_PRIVACY__ENRICHED__STRIP_IP"]),
                       st.sampled_from(["", "x", "5", "[1, 2]", "true"]), max_size=3))
@example({"derived": 1}, {"SPTK_DERIVED__C__OWNER": "x"})
@example({"privacy": 1}, {"SPTK_PRIVACY__ENRICHED__STRIP_IP": "x"})
@example({"kafka": {"producer": 1}}, {"SPTK_KAFKA__PRODUCER__LINGER_MS": "5"})
def test_any_document_gives_a_config_or_a_config_error(data: dict[Any, Any], environ: dict[str, str]) -> None:
    try:
        parse(data, environ)
    except ConfigError as err:
        assert err.problems and all(p.message for p in err.problems)
