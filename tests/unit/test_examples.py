"""The example configurations under examples/ load, so the demo cannot rot silently."""

from __future__ import annotations

import json
from pathlib import Path

from iglu_registry.resolver import Resolver
from iglu_registry.schema_key import SchemaKey
from toolkit.config.loading import load_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_demo_pipeline_config_loads_with_its_derived_stream_and_resolver() -> None:
    cfg = load_config(EXAMPLES / "demo" / "pipeline.yaml", environ={"SPTK_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert cfg.require_kafka().bootstrap_servers == "127.0.0.1:1"
    assert [d.stream_id for d in cfg.derived] == ["checkout.v1"]
    assert Path(cfg.iglu.resolver_config).resolve() == (EXAMPLES / "iglu" / "resolver.json").resolve()


def test_example_resolver_resolves_every_example_schema() -> None:
    resolver = Resolver.from_config(EXAMPLES / "iglu" / "resolver.json")
    schemas = sorted(p for p in (EXAMPLES / "iglu" / "schemas").rglob("*") if p.is_file())
    assert len(schemas) >= 8
    for path in schemas:
        key = SchemaKey.from_path(str(path.relative_to(EXAMPLES / "iglu" / "schemas")))
        resolved = resolver.lookup(key)
        assert getattr(resolved, "schema", None) == json.loads(path.read_text()), key


def test_the_example_registry_passes_the_projects_own_lint_and_check_strictly() -> None:
    from click.testing import CliRunner

    from toolkit.cli.iglu import iglu

    for command in ("lint", "check"):
        result = CliRunner().invoke(iglu, [command, "--strict", str(EXAMPLES / "iglu")])
        assert result.exit_code == 0, f"sptk iglu {command} --strict examples/iglu:\n{result.output}"
