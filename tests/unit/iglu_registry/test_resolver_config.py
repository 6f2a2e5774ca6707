"""Snowplow's resolver-config JSON, versions 1-0-0 to 1-0-3, accepted unchanged and checked by path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from iglu_registry.repositories import EmbeddedRepository, HttpRepository
from iglu_registry.resolver import Resolver
from iglu_registry.resolver_config import ResolverConfigError, load_resolver_config, parse_resolver_config

SNOWPLOW_EXAMPLE = {
    "schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3",
    "data": {
        "cacheSize": 500,
        "cacheTtl": 600,
        "repositories": [
            {"name": "Iglu Central", "priority": 0, "vendorPrefixes": ["com.snowplowanalytics"],
             "connection": {"http": {"uri": "http://127.0.0.1:1/iglu-central"}}},
            {"name": "Acme Iglu Server", "priority": 1, "vendorPrefixes": ["com.acme"],
             "connection": {"http": {"uri": "http://127.0.0.1:2/api", "apikey": "secret"}}},
            {"name": "Local", "priority": 2, "vendorPrefixes": [], "connection": {"embedded": {"path": "registry"}}},
        ],
    },
}


def test_a_snowplow_config_is_read_unchanged(tmp_path: Path) -> None:
    file = tmp_path / "resolver.json"
    file.write_text(json.dumps(SNOWPLOW_EXAMPLE))
    config = load_resolver_config(file)
    assert (config.cache_size, config.cache_ttl) == (500, 600.0)
    assert [r.name for r in config.repositories] == ["Iglu Central", "Acme Iglu Server", "Local"]
    assert config.repositories[1].apikey == "secret"
    assert config.repositories[2].embedded_path == str(tmp_path / "registry")
    resolver = Resolver.from_config(file)
    kinds = {r.ref.name: type(r) for r in resolver.repositories}
    assert kinds == {"Iglu Central": HttpRepository, "Acme Iglu Server": HttpRepository, "Local": EmbeddedRepository}
    server = next(r for r in resolver.repositories if r.ref.name == "Acme Iglu Server")
    assert isinstance(server, HttpRepository) and server.is_iglu_server and server.apikey == "secret"


@pytest.mark.parametrize("version", ["1-0-0", "1-0-1", "1-0-2", "1-0-3"])
def test_every_published_version_is_accepted(version: str) -> None:
    data: dict = {"cacheSize": 10, "repositories": [
        {"name": "c", "priority": 0, "vendorPrefixes": [], "connection": {"http": {"uri": "http://x"}}}]}
    if version >= "1-0-2":
        data["cacheTtl"] = 5
    config = parse_resolver_config({"schema": f"iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/{version}",
                                    "data": data})
    assert config.cache_size == 10


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d["data"].pop("cacheSize"), "$.data: 'cacheSize' is a required property"),
    (lambda d: d["data"]["repositories"][0].update(priority="high"), "$.data.repositories[0].priority: 'high'"),
    (lambda d: d["data"]["repositories"][0]["connection"].update(embedded={"path": "x"}),
     "$.data.repositories[0].connection: connection must hold exactly one of"),
    (lambda d: d["data"]["repositories"][1]["connection"]["http"].update(url="x"),
     "$.data.repositories[1].connection: connection must hold exactly one"),
    (lambda d: d["data"].update(cacheTTL=5), "'cacheTTL' was unexpected) (check the spelling"),
    (lambda d: d["data"]["repositories"][1].update(name="Iglu Central"), "repository names must be unique"),
    (lambda d: d["data"]["repositories"][0]["connection"]["http"].update(uri="ftp://x"), "must be an http://"),
    (lambda d: d.update(schema="iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/2-0-0"),
     "not a resolver config this client reads"),
    (lambda d: d.pop("schema"), "a resolver config is self-describing JSON"),
])
def test_problems_are_reported_with_their_path(mutate, message: str) -> None:  # noqa: ANN001
    document = json.loads(json.dumps(SNOWPLOW_EXAMPLE))
    mutate(document)
    with pytest.raises(ResolverConfigError) as caught:
        parse_resolver_config(document)
    assert message in str(caught.value)


def test_the_checks_agree_with_the_published_resolver_config_schemas(iglu_central: Path) -> None:
    """Our structural check and Iglu Central's schemas give the same verdict on good and bad configs."""
    samples = []
    for mutate in [lambda d: None, lambda d: d["data"].pop("cacheSize"), lambda d: d["data"].update(extra=1),
                   lambda d: d["data"]["repositories"][0].pop("vendorPrefixes"),
                   lambda d: d["data"]["repositories"][1]["connection"]["http"].pop("uri"),
                   lambda d: d["data"].update(cacheTtl=None), lambda d: d["data"].update(cacheTtl=0)]:
        document = json.loads(json.dumps(SNOWPLOW_EXAMPLE))
        mutate(document)
        samples.append(document)
    for version in ["1-0-1", "1-0-2", "1-0-3"]:
        published = json.loads((iglu_central / "com.snowplowanalytics.iglu/resolver-config/jsonschema" /
                                version).read_text())
        for document in samples:
            if version < "1-0-2" and "cacheTtl" in document["data"]:
                document = json.loads(json.dumps(document))
                document["data"].pop("cacheTtl")
            document = {**document, "schema": f"iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/{version}"}
            theirs = not list(Draft4Validator(published).iter_errors(document["data"]))
            try:
                parse_resolver_config(document)
                ours = True
            except ResolverConfigError:
                ours = False
            assert ours == theirs, (version, document["data"])
