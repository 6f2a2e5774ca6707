"""The Kafka adapter: the only place in the project that imports ``confluent_kafka``.

Keeping the client library behind one door means delivery settings (idempotence,
``acks=all``), error translation and headers are decided once, and the rest of
the code can be tested without a broker.
"""

from toolkit.kafka.client import (
    KafkaUnavailable,
    admin_client,
    consumer,
    create_topics,
    idempotent_producer,
    wait_until_ready,
)

__all__ = [
    "KafkaUnavailable",
    "admin_client",
    "consumer",
    "create_topics",
    "idempotent_producer",
    "wait_until_ready",
]
