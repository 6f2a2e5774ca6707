"""`sptk config schema` describes every config the toolkit accepts, so editors can check files as they are typed."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from toolkit.cli.root import main

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"


def _schema() -> dict[str, Any]:
    result = CliRunner().invoke(main, ["config", "schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _blocks(path: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def _example_configs() -> list[tuple[str, dict[str, Any], bool]]:
    """(where, document, complete) for every pipeline configuration shown in docs/ and examples/.

    A block whose top-level keys are all pipeline sections is a configuration; one without the
    required sections is an excerpt (the runbooks show only the ``[source]`` they change).
    """
    from toolkit.config.models import PipelineConfig

    sections = set(PipelineConfig.model_fields)
    found: list[tuple[str, Any]] = []
    for doc in sorted(DOCS.rglob("*.md")):
        found += [(f"{doc.relative_to(ROOT)} toml #{i}", tomllib.loads(b)) for i, b in enumerate(_blocks(doc, "toml"))]
        for i, block in enumerate(_blocks(doc, "yaml")):
            for j, data in enumerate(yaml.safe_load_all(block)):
                if isinstance(data, dict) and data.get("kind") == "ConfigMap":  # a pod's config, inline
                    found += [(f"{doc.relative_to(ROOT)} yaml #{i}.{j} {name}", tomllib.loads(text))
                              for name, text in data["data"].items() if name.endswith(".toml")]
                else:
                    found.append((f"{doc.relative_to(ROOT)} yaml #{i}.{j}", data))
    for path in sorted((ROOT / "examples").rglob("*")):
        if path.suffix in (".yaml", ".yml"):
            found.append((str(path.relative_to(ROOT)), yaml.safe_load(path.read_text(encoding="utf-8"))))
        elif path.suffix == ".toml":
            found.append((str(path.relative_to(ROOT)), tomllib.loads(path.read_text(encoding="utf-8"))))
    return [(where, data, {"source", "iglu"} <= set(data)) for where, data in found
            if isinstance(data, dict) and data and set(data) <= sections]


def test_the_schema_validates_every_example_config_in_docs_and_examples() -> None:
    schema = _schema()
    excerpt_schema = {k: v for k, v in schema.items() if k != "required"}
    examples = _example_configs()
    wheres = [where for where, _, _ in examples]
    assert any("pipeline.md toml" in w for w in wheres) and any("pipeline.md yaml" in w for w in wheres)
    assert any("kubernetes.md" in w for w in wheres) and any("systemd.md" in w for w in wheres)
    assert "examples/demo/pipeline.yaml" in wheres
    for where, data, complete in examples:
        validator = jsonschema.Draft202012Validator(schema if complete else excerpt_schema)
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]
        assert errors == [], where


@pytest.mark.parametrize(
    ("mistake", "where"),
    [
        ({"kafka": {"bootstrap_server": "x", "topic_prefix": "p"}}, "kafka"),
        ({"delivery": {"max_in_flight": "many"}}, "delivery/max_in_flight"),
        ({"sidecar": {"log_format": "xml"}}, "sidecar/log_format"),
        ({"kafka": {"bootstrap_servers": "x", "topic_prefix": "p", "producer": {"acks": "1"}}}, "kafka/producer"),
        ({"kafka": {"bootstrap_servers": "x", "topic_prefix": "p", "common": {"sasl.password": "x"}}},
         "kafka/common"),
        ({"privacy": {"enriched": {"pseudonymisation_key": "inline"}}}, "privacy/enriched"),
        ({"derived": [{"name": "c", "version": 1, "owner": "o", "filter": {"field": "app_id", "op": "equals"}}]},
         "derived/0/filter"),
        ({"derived": [{"name": "c", "version": 1, "owner": "o", "filter": {"all": [{"valu": 1}]}}]},
         "derived/0/filter"),
    ],
)
def test_the_schema_catches_what_the_loader_refuses(mistake: dict[str, Any], where: str) -> None:
    data = {"source": {"kind": "stdin"}, "iglu": {"resolver_config": "r.json"}, **mistake}
    errors = list(jsonschema.Draft202012Validator(_schema()).iter_errors(data))
    assert errors, f"the schema accepted {mistake}"
    found = [("/".join(map(str, e.absolute_path)), e.message) for e in _flattened(errors)]  # into anyOf branches
    assert any(p.startswith(where) for p, _ in found), found


def _flattened(errors: list[Any]) -> list[Any]:
    return [x for e in errors for x in [e, *_flattened(list(e.context or ()))]]


def test_the_schema_carries_the_key_reference_for_editors() -> None:
    schema = _schema()
    kafka = schema["$defs"]["KafkaConfig"]["properties"]["bootstrap_servers"]
    assert "host:port" in kafka["description"]
    privacy = schema["$defs"]["PrivacyConfig"]["properties"]
    assert {"pseudonymisation_key_env", "pseudonymisation_key_file"} <= set(privacy)
    assert "pseudonymisation_key" not in privacy
