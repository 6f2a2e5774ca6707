"""`sptk topics plan|apply` and check_drift against the real broker."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolkit.cli.root import main
from toolkit.config.loading import load_config
from toolkit.kafka.admin import describe_topics, grow_partitions, set_topic_configs
from toolkit.kafka.topics import Action, TopicDrift, check_drift, declared_topics, read_plan


def write_config(tmp_path: Path, bootstrap: str, prefix: str, extra: str = "", derived_partitions: int = 3) -> Path:
    path = tmp_path / "pipeline.toml"
    path.write_text(f"""
[kafka]
bootstrap_servers = "{bootstrap}"
topic_prefix = "{prefix}"

[topics.defaults]
partitions = 2
replication = 1
retention_ms = 3600000

[topics.bad]
retention_ms = 7200000
cleanup_policy = "delete"

[source]
kind = "stdin"

[iglu]
resolver_config = "resolver.json"

[[derived]]
name = "clicks"
version = 1
owner = "team-web"
[derived.topic]
partitions = {derived_partitions}
{extra}
""")
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout


@pytest.fixture
def prefix() -> str:
    return f"test.topics.{uuid.uuid4().hex[:8]}"


def test_plan_apply_and_drift_end_to_end(tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    cfg_path = write_config(tmp_path, kafka_bootstrap, prefix)
    names = [f"{prefix}.raw", f"{prefix}.enriched", f"{prefix}.bad", f"{prefix}.derived.clicks.v1"]

    code, out = run("topics", "plan", "--config", str(cfg_path))
    assert code == 0, out  # only creations: not drift
    assert out.count("create ") == 4 and "4 topics: 4 to create" in out
    with pytest.raises(TopicDrift, match="missing"):
        check_drift(load_config(cfg_path))

    code, out = run("topics", "apply", "--config", str(cfg_path))
    assert code == 0, out
    assert [line.split()[1] for line in out.splitlines() if line.startswith("created")] == names
    state = describe_topics(kafka_bootstrap, names)
    assert state[f"{prefix}.derived.clicks.v1"].partitions == 3
    assert state[f"{prefix}.bad"].configs["retention.ms"] == "7200000"
    assert state[f"{prefix}.raw"].configs["retention.ms"] == "3600000"

    code, out = run("topics", "plan", "--config", str(cfg_path))
    assert code == 0 and "4 in sync" in out
    assert check_drift(load_config(cfg_path)).has_drift is False

    # Someone changes a topic by hand: retention and an extra partition.
    set_topic_configs(kafka_bootstrap, f"{prefix}.enriched", {"retention.ms": "60000"})
    grow_partitions(kafka_bootstrap, f"{prefix}.raw", 4)
    code, out = run("topics", "plan", "--config", str(cfg_path), "--json")
    assert code == 1  # drift is a finding (docs/cli.md), not a usage error
    plan = {t["topic"]: t for t in json.loads(out)["topics"]}
    code, text = run("topics", "plan", "--config", str(cfg_path), "--json", str(tmp_path / "plan.json"))
    assert code == 1 and json.loads((tmp_path / "plan.json").read_text()) == json.loads(out)
    assert f"refuse  {prefix}.raw" in text  # the file takes the JSON; stdout keeps the text
    enriched_changes = {c["setting"]: c for c in plan[f"{prefix}.enriched"]["changes"] if c["action"] != "ok"}
    assert enriched_changes == {"retention.ms": {"setting": "retention.ms", "declared": "3600000",
                                                 "actual": "60000", "action": "alter", "reason": ""}}
    assert plan[f"{prefix}.raw"]["action"] == "refuse"
    with pytest.raises(TopicDrift, match=f"{prefix}.enriched: retention.ms is 60000, declared 3600000"):
        check_drift(load_config(cfg_path))

    code, out = run("topics", "apply", "--config", str(cfg_path))
    assert code == 1, out  # the partition shrink is refused; the retention is fixed
    assert f"altered  {prefix}.enriched: retention.ms=3600000" in out
    assert f"refused  {prefix}.raw: partitions is 4, declared 2: Kafka cannot remove partitions" in out
    assert describe_topics(kafka_bootstrap, [f"{prefix}.enriched"])[f"{prefix}.enriched"].configs[
        "retention.ms"] == "3600000"

    # Declaring 4 partitions for raw and more for the derived stream: apply grows the derived topic.
    cfg_path = write_config(tmp_path, kafka_bootstrap, prefix, extra="[topics.raw]\npartitions = 4\n",
                            derived_partitions=5)
    cfg = load_config(cfg_path)
    assert {t.spec.name: t.action for t in read_plan(cfg).topics}[f"{prefix}.derived.clicks.v1"] is Action.ALTER
    code, out = run("topics", "apply", "--config", str(cfg_path))
    assert code == 0, out
    assert describe_topics(kafka_bootstrap, [f"{prefix}.derived.clicks.v1"])[
        f"{prefix}.derived.clicks.v1"].partitions == 5


def test_allow_drift_starts_with_warnings(tmp_path: Path, kafka_bootstrap: str, prefix: str,
                                          caplog: pytest.LogCaptureFixture) -> None:
    cfg_path = write_config(tmp_path, kafka_bootstrap, prefix, extra="[topics]\nallow_drift = true\n")
    assert run("topics", "apply", "--config", str(cfg_path))[0] == 0
    set_topic_configs(kafka_bootstrap, f"{prefix}.bad", {"retention.ms": "1000"})
    plan = check_drift(load_config(cfg_path))
    assert plan.has_drift
    assert f"topic {prefix}.bad: retention.ms is 1000, declared 7200000" in caplog.text


def test_replication_beyond_the_cluster_is_refused_with_the_reason(
        tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    cfg_path = write_config(tmp_path, kafka_bootstrap, prefix, extra="[topics.enriched]\nreplication = 3\n")
    reason = f"{prefix}.enriched: replication 3 needs at least 3 brokers, the cluster has 1"
    # the plan predicts what apply will do: it knows how many brokers the cluster has
    planned = CliRunner().invoke(main, ["topics", "plan", "--config", str(cfg_path)])
    assert planned.exit_code == 1, planned.output
    assert re.search(rf"^refuse  {re.escape(prefix)}\.enriched +partitions=2 replication=3 ", planned.stdout, re.M)
    assert f"apply would refuse {reason}" in planned.stderr
    assert planned.stdout.count("create  ") == 3
    code, out = run("topics", "plan", "--config", str(cfg_path), "--json", "-")
    assert code == 1
    assert {t["topic"]: t["action"] for t in json.loads(out)["topics"]}[f"{prefix}.enriched"] == "refuse"
    code, out = run("topics", "apply", "--config", str(cfg_path))
    assert code == 1
    assert f"refused  {reason}" in out
    assert len([s for s in describe_topics(kafka_bootstrap, [t.name for t in declared_topics(
        load_config(cfg_path))]).values() if s is not None]) == 3


def test_config_and_broker_errors_are_one_clear_line(tmp_path: Path, prefix: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[kafka]\nbootstrap_servers = "x"\ntopic_prefix = "p"\n[source]\nkind = "stdin"\n'
                   '[iglu]\nresolver_config = "r.json"\n[topics.raw]\npartitons = 3\n')
    result = CliRunner().invoke(main, ["topics", "plan", "--config", str(bad)])
    assert result.exit_code == 2  # the config is unusable: a person must fix it, as with `pipeline run`
    assert "topics.raw.partitons: unknown key; did you mean 'partitions'?" in result.output
    down = write_config(tmp_path, "127.0.0.1:1", prefix,
                        extra='[kafka.common]\n"socket.connection.setup.timeout.ms" = 1000\n"log_level" = 0\n')
    result = CliRunner().invoke(main, ["topics", "plan", "--config", str(down)], catch_exceptions=False)
    assert result.exit_code == 3  # the broker did not answer: retrying can help
    assert result.stderr.startswith("sptk topics plan: cannot read topic metadata from 127.0.0.1:1")


def test_a_misspelled_librdkafka_property_is_the_same_clean_line_and_exit_2_everywhere(
        tmp_path: Path, kafka_bootstrap: str, prefix: str) -> None:
    import subprocess
    import sys

    cfg_path = write_config(tmp_path, kafka_bootstrap, prefix, extra='[kafka.common]\n"sasl.mechanismz" = "PLAIN"\n')
    (tmp_path / "resolver.json").write_text((Path(__file__).resolve().parents[3] / "examples" / "iglu" /
                                             "resolver.json").read_text())
    sptk = str(Path(sys.executable).parent / "sptk")
    messages = {}
    for command in (["topics", "plan"], ["topics", "apply"], ["pipeline", "run"]):
        result = subprocess.run([sptk, *command, "--config", str(cfg_path)], capture_output=True, text=True,
                                timeout=120, stdin=subprocess.DEVNULL)
        assert result.returncode == 2, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
        line = result.stderr.strip().splitlines()[-1]
        assert line.startswith(f"sptk {' '.join(command)}: "), line
        messages[command[1]] = line.split(": ", 1)[1]
    assert len(set(messages.values())) == 1, messages
    message = messages["plan"]
    assert 'No such configuration property: "sasl.mechanismz"' in message and "[kafka.common]" in message
    assert "KafkaError{" not in message
