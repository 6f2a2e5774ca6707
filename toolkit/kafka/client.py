"""Client construction and broker readiness, with the delivery defaults from DESIGN.md."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from toolkit.kafka.client_logs import librdkafka_logger

#: At-least-once defaults: no loss on broker failover, no duplicates from producer retries.
PRODUCER_DEFAULTS: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 5,
    "compression.type": "lz4",
}

CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable.auto.commit": False,
    "enable.auto.offset.store": False,
    "auto.offset.reset": "earliest",
}


class KafkaUnavailable(RuntimeError):
    """The broker could not be reached; retrying later can help."""

    retryable = True


class KafkaConfigError(ValueError):
    """librdkafka refused the client settings (an unknown property, a bad value); retrying cannot help."""

    @classmethod
    def refused(cls, exc: KafkaException, settings: str, tables: str) -> KafkaConfigError:
        """The error for a client librdkafka would not create, naming the config tables to check."""
        err = exc.args[0] if exc.args else exc
        reason = err.str() if isinstance(err, KafkaError) else str(err)
        return cls(f"librdkafka refused the {settings} settings: {reason}. Check {tables} in the pipeline config.")


def client_settings(defaults: Mapping[str, Any], bootstrap: str,
                    overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The librdkafka settings of any client the toolkit makes: defaults, overrides, the bootstrap servers.

    Every client logs through :func:`librdkafka_logger`: left alone, librdkafka writes each of its
    lines straight to stderr (a down broker gives about twenty ``%3|…|FAIL|…`` lines a second per
    client); routed, they take the command's log format and each kind shows once per interval.
    """
    conf = {**defaults, "logger": librdkafka_logger(), **(overrides or {})}
    conf["bootstrap.servers"] = bootstrap
    return conf


#: Admin clients are short-lived metadata tools: librdkafka's info lines from them (such as
#: "Purging 1 unserved events from background queue" when one is torn down after a topic
#: creation) read like data loss to an operator and say nothing useful; notices, warnings and
#: errors still show. ``[kafka.common] log_level`` overrides it.
ADMIN_DEFAULTS: dict[str, Any] = {"log_level": 5}


def admin_client(bootstrap: str, overrides: Mapping[str, Any] | None = None) -> AdminClient:
    try:
        return AdminClient(client_settings(ADMIN_DEFAULTS, bootstrap, overrides))
    except KafkaException as exc:
        raise KafkaConfigError.refused(exc, "admin client", "[kafka.common]") from exc


def idempotent_producer(bootstrap: str, overrides: Mapping[str, Any] | None = None) -> Producer:
    return Producer(client_settings(PRODUCER_DEFAULTS, bootstrap, overrides))


def consumer(bootstrap: str, group_id: str, overrides: Mapping[str, Any] | None = None) -> Consumer:
    conf = client_settings(CONSUMER_DEFAULTS, bootstrap, overrides)
    conf["group.id"] = group_id
    return Consumer(conf)


def wait_until_ready(bootstrap: str, timeout_s: float = 60.0, settings: Mapping[str, Any] | None = None) -> float:
    """Block until the cluster answers a metadata request; return the seconds waited.

    A metadata answer (not an open port) is the readiness test because a KRaft
    broker listens before its controller has elected itself.
    """
    started = time.monotonic()
    # log_level 0: "connection refused" while the broker boots is expected, not news.
    admin = admin_client(bootstrap, {**(settings or {}), "socket.connection.setup.timeout.ms": 2000, "log_level": 0})
    last_error: Exception | None = None
    while time.monotonic() - started < timeout_s:
        try:
            metadata = admin.list_topics(timeout=2)
            if metadata.brokers:
                return time.monotonic() - started
        except KafkaException as exc:
            last_error = exc
        time.sleep(0.2)
    raise KafkaUnavailable(
        f"Kafka at {bootstrap} did not answer a metadata request within {timeout_s:.0f}s"
        f" (last error: {last_error}). Check that the broker is running"
        " (scripts/kafka-local status) and that the address is right."
    )


def warm_up_producer_ids(bootstrap: str, timeout_s: float = 60.0, settings: Mapping[str, Any] | None = None) -> None:
    """Block until the cluster hands out producer ids, asking once with librdkafka's logs off.

    A new cluster creates its transaction state and fetches a block of producer ids only when
    the first producer asks, and answers "coordinator load in progress" until then. The first
    idempotent producer (every pipeline's) would print that as a raw librdkafka line
    (``%4|...|GETPID|...: retrying``) although it recovers by itself. Asking here, as part of a
    broker's start-up, keeps it out of every later run.
    """
    import uuid

    producer = Producer({**(settings or {}), "bootstrap.servers": bootstrap,
                         "transactional.id": f"sptk-warm-up-{uuid.uuid4().hex}", "log_level": 0})
    try:
        producer.init_transactions(timeout_s)
    except KafkaException as exc:
        raise KafkaUnavailable(f"Kafka at {bootstrap} did not hand out a producer id within {timeout_s:.0f}s: "
                               f"{exc.args[0]}") from exc


def create_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int = 1,
    replication: int = 1,
    config: Mapping[str, str] | None = None,
    timeout_s: float = 30.0,
) -> None:
    """Create topics, treating 'already exists' as success so callers can be re-run."""
    admin = admin_client(bootstrap)
    new = [NewTopic(t, num_partitions=partitions, replication_factor=replication, config=dict(config or {}))
           for t in topics]
    for name, future in admin.create_topics(new, operation_timeout=timeout_s).items():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as exc:
            err = exc.args[0]
            if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise RuntimeError(f"could not create topic {name!r} on {bootstrap}: {err}") from exc
