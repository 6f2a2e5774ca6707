"""The alerts ``sptk monitor rules`` writes: name, what it means for the data, and its runbook.

Each alert says whether it means *loss* (records may not arrive), *delay* (they arrive late)
or *drift* (they arrive, but their meaning changed), so whoever is paged knows which question
to answer first (docs/operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Impact = Literal["loss", "delay", "drift"]


@dataclass(frozen=True)
class Alert:
    name: str
    impact: Impact
    summary: str


ALERTS: tuple[Alert, ...] = (
    Alert("SptkPipelineDown", "delay", "Prometheus cannot scrape the sptk sidecar: no record is processed."),
    Alert("SptkNotReady", "delay",
          "The sptk sidecar reports not ready: a broker or registry probe fails, or it drains."),
    Alert("SptkFreshnessBudgetBurn", "delay",
          "Records reach their stream later than the freshness objective, fast enough to spend its error budget."),
    Alert("SptkDeliveryFailures", "loss",
          "Delivery reports fail faster than the delivery objective allows; unconfirmed records are at risk."),
    Alert("SptkInvalidBudgetBurn", "drift",
          "Records turn into bad rows faster than the invalid-rate objective allows."),
    Alert("SptkAvailabilityBudgetBurn", "delay",
          "The sidecar misses scrapes fast enough to spend its availability error budget."),
    Alert("SptkHighInvalidRate", "drift",
          "One app and schema sends more invalid records than the invalid-rate objective allows."),
    Alert("SptkConsumerLagGrowing", "delay", "The consumer lag of a source topic keeps growing."),
    Alert("SptkRegistryUnavailable", "delay",
          "The Iglu registry does not answer: events of uncached schemas are retried, then quarantined."),
    Alert("SptkQuarantineGrowing", "delay",
          "Records keep being quarantined (retryable bad rows): they wait for a replay."),
    Alert("SptkVolumeDrop", "loss", "A stream receives far fewer records than its seasonal baseline."),
    Alert("SptkVolumeSpike", "drift", "A stream receives far more records than its seasonal baseline."),
)

BY_NAME = {a.name: a for a in ALERTS}
