"""The Kafka adapter: the only place in the project that imports ``confluent_kafka``.

Keeping the client library behind one door means delivery settings (idempotence,
``acks=all``), error translation and headers are decided once, and the rest of
the code can be tested without a broker.
"""

from toolkit.kafka.client import (
    KafkaConfigError,
    KafkaUnavailable,
    admin_client,
    consumer,
    create_topics,
    idempotent_producer,
    wait_until_ready,
    warm_up_producer_ids,
)
from toolkit.kafka.consuming import ConsumedMessage, KafkaConsumeError, PartitionLag, TrackedConsumer, partition_key
from toolkit.kafka.headers import MessageHeaders, new_trace_id
from toolkit.kafka.producing import (
    DeliveryFailed,
    DeliveryProducer,
    DeliveryReport,
    MessageTooLarge,
    ProducerQueueFull,
    TopicMissing,
    TransactionAborted,
    message_size,
)
from toolkit.kafka.stats import KafkaStats, parse_stats, stats_settings

__all__ = [
    "ConsumedMessage",
    "DeliveryFailed",
    "DeliveryProducer",
    "DeliveryReport",
    "KafkaConfigError",
    "KafkaConsumeError",
    "KafkaStats",
    "KafkaUnavailable",
    "MessageHeaders",
    "MessageTooLarge",
    "PartitionLag",
    "ProducerQueueFull",
    "TopicMissing",
    "TrackedConsumer",
    "TransactionAborted",
    "admin_client",
    "consumer",
    "create_topics",
    "idempotent_producer",
    "message_size",
    "new_trace_id",
    "parse_stats",
    "partition_key",
    "stats_settings",
    "wait_until_ready",
    "warm_up_producer_ids",
]
