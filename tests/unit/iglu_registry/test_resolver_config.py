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


#: How Snowplow users keep the file for enrich and the loaders: HOCON, with comments, unquoted keys
#: and values, newline-separated fields, a dotted path and the API key from the environment.
SNOWPLOW_HOCON = """\
# iglu_resolver.hocon: the registries this pipeline trusts
{
  "schema": "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3"
  data {
    cacheSize = 500
    cacheTtl = 600  // seconds
    repositories = [
      {
        name = "Iglu Central"
        priority = 0
        vendorPrefixes = [ com.snowplowanalytics ]
        connection.http.uri = "http://127.0.0.1:1/iglu-central"
      }
      {
        name = "Acme Iglu Server"
        priority = 1
        vendorPrefixes = [ "com.acme" ]
        connection {
          http {
            uri = "http://127.0.0.1:2/api"
            apikey = ${?IGLU_API_KEY}
          }
        }
      }
      {
        name = Local, priority = 2, vendorPrefixes = []
        connection.embedded.path = registry
      }
    ]
  }
}
"""


def test_a_snowplow_hocon_config_is_read_like_its_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IGLU_API_KEY", "from-the-environment")
    file = tmp_path / "iglu_resolver.hocon"
    file.write_text(SNOWPLOW_HOCON)
    json_file = tmp_path / "resolver.json"
    expected = json.loads(json.dumps(SNOWPLOW_EXAMPLE))
    expected["data"]["repositories"][1]["connection"]["http"]["apikey"] = "from-the-environment"
    json_file.write_text(json.dumps(expected))
    assert load_resolver_config(file) == load_resolver_config(json_file)
    resolver = Resolver.from_config(file)
    server = next(r for r in resolver.repositories if r.ref.name == "Acme Iglu Server")
    assert isinstance(server, HttpRepository) and server.apikey == "from-the-environment"

    monkeypatch.delenv("IGLU_API_KEY")  # ${?VAR}: an optional substitution; unset, the key is left out
    assert load_resolver_config(file).repositories[1].apikey is None


def test_a_hocon_mistake_names_its_line(tmp_path: Path) -> None:
    file = tmp_path / "iglu_resolver.conf"
    file.write_text(SNOWPLOW_HOCON.replace("cacheTtl = 600", "cacheTtl = [600"))
    with pytest.raises(ResolverConfigError, match=r"iglu_resolver\.conf: invalid HOCON at line \d+"):
        load_resolver_config(file)
    file.write_text(SNOWPLOW_HOCON.replace("priority = 1", "priority = high"))
    with pytest.raises(ResolverConfigError, match=r"\$\.data\.repositories\[1\]\.priority: 'high'"):
        load_resolver_config(file)


def test_a_json_file_keeps_its_json_error(tmp_path: Path) -> None:
    """A ``.json`` file neither reads is reported as JSON, with its line, not as HOCON's complaint."""
    file = tmp_path / "resolver.json"
    file.write_text(json.dumps(SNOWPLOW_EXAMPLE, indent=2).replace('"cacheTtl": 600', '"cacheTtl": [600'))
    with pytest.raises(ResolverConfigError, match=r"resolver\.json: invalid JSON at line 6 column"):
        load_resolver_config(file)
    file.write_text("// kept as Snowplow's tools allow: a comment in a .json file\n" + json.dumps(SNOWPLOW_EXAMPLE))
    assert load_resolver_config(file).cache_size == 500


def test_every_reader_of_a_resolver_file_takes_hocon(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from toolkit.cli.root import main

    examples = Path(__file__).resolve().parents[3] / "examples" / "iglu"
    file = tmp_path / "resolver.hocon"
    file.write_text(f"""
        # the project's examples, as HOCON
        schema: "iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-3"
        data: {{
          cacheSize: 10
          repositories: [{{name: examples, priority: 0, vendorPrefixes: [com.acme],
                           connection.embedded.path: "{examples}"}}]
        }}
    """)
    result = CliRunner().invoke(main, ["iglu", "resolve", "iglu:com.acme/button_click/jsonschema/1-0-0",
                                       "--resolver", str(file)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["self"]["name"] == "button_click"


def test_json_stays_the_fast_path_hocon_is_not_even_imported(tmp_path: Path) -> None:
    import subprocess
    import sys

    file = tmp_path / "resolver.json"
    file.write_text(json.dumps(SNOWPLOW_EXAMPLE))
    probe = ("import sys; from pathlib import Path; from iglu_registry.resolver_config import load_resolver_config; "
             f"load_resolver_config(Path({str(file)!r})); print('pyhocon' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[3])
    assert done.stdout.strip() == "False"


def test_the_hocon_example_in_the_docs_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    doc = (Path(__file__).resolve().parents[3] / "docs" / "iglu.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```hocon\n(.*?)```", doc, flags=re.S)
    file = tmp_path / "iglu_resolver.hocon"
    file.write_text(block)
    monkeypatch.setenv("IGLU_API_KEY", "k")
    config = load_resolver_config(file)
    assert config.repositories[0].vendor_prefixes == ("com.acme",) and config.repositories[0].apikey == "k"
