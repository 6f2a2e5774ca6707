"""Topic ACLs on a private secured broker: `sptk topics apply` grants them, Kafka enforces them, `plan` sees drift."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from click.testing import CliRunner
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from tests.conftest import SecureBroker
from toolkit.cli.root import main


def write_config(tmp_path: Path, broker: SecureBroker, prefix: str) -> Path:
    path = tmp_path / "pipeline.toml"
    path.write_text(f"""
[kafka]
bootstrap_servers = "{broker.bootstrap}"
topic_prefix = "{prefix}"

[kafka.common]
"security.protocol" = "SASL_PLAINTEXT"
"sasl.mechanism" = "PLAIN"
"sasl.username" = "admin"
"sasl.password_file" = "{broker.password_file('admin')}"

[topics.defaults]
partitions = 1
replication = 1

[[topics.acls]]
principal = "User:reader"
read = ["raw", "enriched"]
groups = ["reader-*"]

[[topics.acls]]
principal = "User:stranger"
groups = ["stranger-app"]

[source]
kind = "stdin"

[iglu]
resolver_config = "resolver.json"
""")
    return path


def topics(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["topics", *args])
    return result.exit_code, result.output


def first_message(settings: dict[str, str], topic: str, *, group: str, timeout_s: float = 30.0) -> bytes | KafkaError:
    """The first message of ``topic`` as ``settings``' user sees it, or the error the broker answers instead."""
    consumer = Consumer({**settings, "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                return msg.error()
            return msg.value() or b""
        raise AssertionError(f"no message and no error on {topic} within {timeout_s}s")
    finally:
        consumer.close()


def test_acls_are_applied_enforced_and_their_drift_is_planned(tmp_path: Path, secure_kafka: SecureBroker) -> None:
    prefix = f"test.acl.{uuid.uuid4().hex[:8]}"
    raw = f"{prefix}.raw"
    config = write_config(tmp_path, secure_kafka, prefix)
    assert "sasl.password" not in config.read_text().replace("sasl.password_file", "")

    code, out = topics("plan", "--config", str(config))
    assert code == 0, out  # nothing exists yet: topics and grants are creations, not drift
    assert f"grant   allow User:reader read topic {raw} from *" in out

    code, out = topics("apply", "--config", str(config))
    assert code == 0, out
    assert f"granted  allow User:reader read topic {raw} from *" in out
    assert "granted  allow User:reader read group reader-* from *" in out
    code, out = topics("plan", "--config", str(config))
    assert code == 0 and "ok      acls" in out, out

    producer = Producer(secure_kafka.client("admin"))
    producer.produce(raw, b"line 1")
    assert producer.flush(30) == 0

    assert first_message(secure_kafka.client("reader"), raw, group="reader-app") == b"line 1"
    # the stranger may use its group, but nothing grants it raw
    refused = first_message(secure_kafka.client("stranger"), raw, group="stranger-app")
    assert isinstance(refused, KafkaError) and refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, refused
    del producer

    # by hand: revoke the reader's grant on raw, and grant the stranger one
    admin = AdminClient(secure_kafka.client("admin"))
    for future in admin.delete_acls([AclBindingFilter(ResourceType.TOPIC, raw, ResourcePatternType.LITERAL,
                                                      "User:reader", "*", AclOperation.READ,
                                                      AclPermissionType.ALLOW)]).values():
        assert len(future.result(timeout=30)) == 1
    for future in admin.create_acls([AclBinding(ResourceType.TOPIC, raw, ResourcePatternType.LITERAL, "User:stranger",
                                                "*", AclOperation.READ, AclPermissionType.ALLOW)]).values():
        future.result(timeout=30)

    code, out = topics("plan", "--config", str(config), "--json", "-")
    assert code == 1
    acls = json.loads(out[out.index("\n{") + 1: out.rindex("}") + 1])["acls"]
    assert acls["drift"] is True
    assert acls["missing"] == [f"allow User:reader read topic {raw} from *"]
    assert acls["extra"] == [f"allow User:stranger read topic {raw} from *"]

    code, out = topics("apply", "--config", str(config))
    assert code == 0, out
    assert f"revoked  allow User:stranger read topic {raw} from *" in out
    code, out = topics("plan", "--config", str(config))
    assert code == 0, out
    refused = first_message(secure_kafka.client("stranger"), raw, group="stranger-app")
    assert isinstance(refused, KafkaError) and refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, refused
