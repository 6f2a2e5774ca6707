"""Diverting derived streams: the failure budgets joined with the topics and the bad row that replaces a message.

The producer (:class:`toolkit.kafka.producing.DeliveryProducer`, as its ``guard``) reports a
guarded topic's failed deliveries and probe confirmations here and gets back, for a message
to divert, the bad row to produce in its place for the same source record. The runner
passes every record's outputs through :meth:`Diversion.route`, which leaves them untouched
unless a stream is diverted. Decisions are :class:`~toolkit.pipeline.stream_budgets.StreamBudgets`'.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from toolkit.config.models import PipelineConfig
from toolkit.pipeline.fanout import derived_id
from toolkit.pipeline.outcomes import Output
from toolkit.pipeline.stream_budgets import Budget, StreamBudgets

#: builds the bad row of a diverted message from it, the record's input line and the reason
#: (:meth:`toolkit.pipeline.fanout.Pipeline.diverted`)
RowMaker = Callable[[Output, "bytes | None", str], Output]


def derived_budgets(cfg: PipelineConfig) -> dict[str, Budget]:
    """Each derived stream's budget: its ``failure_budget``, else ``delivery.derived_failure_budget``."""
    d = cfg.delivery
    return {derived_id(s): Budget(s.failure_budget or d.derived_failure_budget,
                                   d.derived_failure_window_s, d.derived_probe_interval_s)
            for s in cfg.derived}


class Diversion:
    """The guard of the derived streams that have a budget (``topics`` maps stream to topic)."""

    def __init__(self, budgets: StreamBudgets, topics: Mapping[str, str], make_row: RowMaker) -> None:
        self.budgets = budgets
        self.guarded = {stream: topic for stream, topic in topics.items() if budgets.guards(stream)}
        self._stream_of = {topic: stream for stream, topic in self.guarded.items()}
        self._make_row = make_row
        self.probing = budgets.probing

    def stream_of(self, topic: str) -> str | None:
        return self._stream_of.get(topic)

    def failed(self, stream: str, reason: str, *, permanent: bool = False, exhausted: bool = False) -> bool:
        return self.budgets.failed(stream, reason, permanent=permanent, exhausted=exhausted)

    def succeeded(self, stream: str) -> None:
        self.budgets.succeeded(stream)

    def divert(self, out: Output, line: bytes | None, reason: str) -> Output:
        """The bad row in place of ``out`` (counted as one diverted record of its stream)."""
        self.budgets.count_diverted(out.stream)
        return self._make_row(out, line, reason)

    def route(self, outs: Sequence[Output], line: bytes | None) -> Sequence[Output]:
        """``outs`` with each message of a diverted stream replaced by its bad row (``outs`` itself if none is)."""
        diverted = self.budgets.diverted
        if not diverted or not any(o.stream in diverted for o in outs):
            return outs
        admit = self.budgets.admit
        return [o if o.stream not in diverted or admit(o.stream)
                else self.divert(o, line, f"the stream is diverted ({self.budgets.reason(o.stream)})") for o in outs]
