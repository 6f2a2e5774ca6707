"""``sptk pipeline`` argument handling: every mistake is one clear line and exit 2, before anything is read."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from connectors.cli import pipeline
from connectors.pipeline_app import override, quick_config

ROOT = Path(__file__).resolve().parents[3]
RESOLVER = str(ROOT / "examples" / "iglu" / "resolver.json")


@pytest.mark.parametrize(("args", "message"), [
    (["run"], "give --config FILE, or all of --input PATH, --resolver FILE and --output"),
    (["run", "--input", "x.tsv", "--resolver", RESOLVER], "give --config FILE, or all of"),
    (["run", "--input", "x.tsv", "--resolver", RESOLVER, "--output", "s3://bucket"],
     "expected files:DIR or kafka:BOOTSTRAP"),
    (["run", "--input", "missing.tsv", "--resolver", RESOLVER, "--output", "files:/tmp/x"],
     "missing.tsv"),
    (["run", "--config", "nope.toml"], "config file nope.toml does not exist"),
    (["run", "--config", "x.toml", "--resolver", RESOLVER], "--resolver and --profile are for quick use"),
    (["replay-bad", "--config", "nope.yaml"], "config file nope.yaml does not exist"),
])
def test_mistakes_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(pipeline, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_quick_use_builds_a_complete_config(tmp_path: Path) -> None:
    (tmp_path / "in.tsv").write_text("")
    cfg = quick_config((str(tmp_path / "in.tsv"),), RESOLVER, "kafka:127.0.0.1:9092", topic_prefix="dev",
                       profile="python-sdk", environ={})
    assert cfg.kafka is not None and cfg.kafka.topic_prefix == "dev" and cfg.output.enriched_profile == "python-sdk"
    assert cfg.source.kind == "file" and cfg.topics.resolve(cfg.topics.raw).replication == 1
    stdin = quick_config(("-",), RESOLVER, f"files:{tmp_path}", environ={})
    assert stdin.source.kind == "stdin" and stdin.output.target.directory == tmp_path and stdin.kafka is None


def test_input_and_output_override_a_config_file(tmp_path: Path) -> None:
    (tmp_path / "in.tsv").write_text("")
    cfg = quick_config((str(tmp_path / "in.tsv"),), RESOLVER, "kafka:a:9092", environ={})
    dry = override(cfg, inputs=("-",), output=f"files:{tmp_path / 'dry'}")
    assert dry.source.kind == "stdin" and dry.output.target.kind == "files"
    moved = override(cfg, output="kafka:b:9092")
    assert moved.kafka is not None and moved.kafka.bootstrap_servers == "b:9092"
    with pytest.raises(ValueError, match="expected files:DIR, kafka or kafka:BOOTSTRAP"):
        override(cfg, output="ftp:x")


def test_the_command_line_wins_over_the_environment_and_the_environment_over_the_file(tmp_path: Path) -> None:
    (tmp_path / "in.tsv").write_text("")
    env = {"SPTK_KAFKA__BOOTSTRAP_SERVERS": "env:9092", "SPTK_DELIVERY__MAX_IN_FLIGHT": "7"}
    quick = quick_config((str(tmp_path / "in.tsv"),), RESOLVER, "kafka:cli:9092", environ=env)
    assert quick.kafka is not None and quick.kafka.bootstrap_servers == "cli:9092"
    assert quick.delivery.max_in_flight == 7 and quick.source.kind == "file"
    assert override(quick, output="kafka").require_kafka().bootstrap_servers == "cli:9092"
