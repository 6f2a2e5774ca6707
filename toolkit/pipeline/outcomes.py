"""What the pipeline makes of one record: the messages to write and the outcome that names why.

Every record that enters comes out as exactly one of

* :class:`Routed`: valid, written to the enriched stream (and to each derived stream whose
  filter and privacy rules it passed);
* :class:`Filtered`: valid, but kept out of the enriched stream by a rule (``rule`` says
  which), possibly still copied to derived streams;
* :class:`Invalid`: a bad row with a reason (``quarantined`` when the registry could not
  answer and a replay will run it again);

plus, for ``replay-bad`` input, :class:`Skipped` (left alone: a permanent bad row) and
:class:`Restored` (a diverted derived message written back into its stream).
Whatever the outcome, ``outputs`` holds every message the record produces, raw included,
so the runner tracks and acknowledges them all the same way. ``in = enriched + filtered +
bad`` is the invariant the runner's summary, the metrics and the tests check.
"""

from __future__ import annotations

from typing import NamedTuple

RAW = "raw"
ENRICHED = "enriched"
BAD = "bad"
#: the users' suppression records (``<prefix>.consent``), written when a consent event changes a user's state
CONSENT = "consent"

Headers = list[tuple[str, bytes]]


class Output(NamedTuple):
    """One message: its stream (``raw``, ``enriched``, ``bad``, ``derived.<name>.v<N>``) and Kafka topic."""

    stream: str
    topic: str
    key: bytes | None
    value: bytes
    headers: Headers


class Routed:
    """Valid and written to the enriched stream; ``derived`` names the derived streams that got a copy."""

    __slots__ = ("outputs", "event_id", "derived", "filtered", "line")
    kind = "enriched"

    def __init__(self, outputs: list[Output], event_id: str, derived: tuple[str, ...],
                 filtered: tuple[tuple[str, str], ...], line: bytes | None = None) -> None:
        self.outputs = outputs
        self.event_id = event_id
        self.derived = derived
        #: (derived stream, rule) for each derived stream the event was kept out of
        self.filtered = filtered
        #: the input line: a derived message diverted to the bad stream keeps it for ``replay-bad``
        self.line = line

    def __repr__(self) -> str:
        return f"Routed(event_id={self.event_id!r}, derived={self.derived}, filtered={self.filtered})"


class Filtered:
    """Valid, but a rule kept it out of the enriched stream (``rule``: ``privacy.enriched.require_consent``)."""

    __slots__ = ("outputs", "event_id", "rule", "derived", "filtered", "line")
    kind = "filtered"

    def __init__(self, outputs: list[Output], event_id: str, rule: str, derived: tuple[str, ...],
                 filtered: tuple[tuple[str, str], ...], line: bytes | None = None) -> None:
        self.outputs = outputs
        self.event_id = event_id
        self.rule = rule
        self.derived = derived
        self.filtered = filtered
        self.line = line

    def __repr__(self) -> str:
        return f"Filtered(event_id={self.event_id!r}, rule={self.rule!r}, derived={self.derived})"


class Invalid:
    """A bad row: ``bad_type`` (``schema_violations``, ...), the stage and error class of its headers, a reason."""

    __slots__ = ("outputs", "event_id", "bad_type", "stage", "error_class", "reason", "quarantined", "violated")
    kind = "bad"
    derived: tuple[str, ...] = ()
    filtered: tuple[tuple[str, str], ...] = ()
    line: bytes | None = None  # a bad row has no derived message that could be diverted

    def __init__(self, outputs: list[Output], event_id: str, bad_type: str, stage: str, error_class: str,
                 reason: str, quarantined: bool = False, violated: tuple[str, str] | None = None) -> None:
        self.outputs = outputs
        self.event_id = event_id
        self.bad_type = bad_type
        self.stage = stage
        self.error_class = error_class
        self.reason = reason
        self.quarantined = quarantined
        #: ``(app_id, schema URI)`` of a permanent schema violation: what the invalid-rate alerts are split by
        self.violated = violated

    def __repr__(self) -> str:
        return (f"Invalid({self.bad_type}, stage={self.stage!r}, class={self.error_class!r}, "
                f"quarantined={self.quarantined}, reason={self.reason!r})")


class Skipped:
    """A ``replay-bad`` input left as it is (not quarantined, or not replayable); nothing is written."""

    __slots__ = ("reason",)
    kind = "skipped"
    outputs: tuple[Output, ...] = ()
    event_id = ""
    derived: tuple[str, ...] = ()
    filtered: tuple[tuple[str, str], ...] = ()
    line: bytes | None = None

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Skipped({self.reason!r})"


class Restored:
    """A ``replay-bad`` input that was a diverted derived message: written again into ``stream`` and nowhere else."""

    __slots__ = ("outputs", "event_id", "stream", "line")
    kind = "restored"
    derived: tuple[str, ...] = ()
    filtered: tuple[tuple[str, str], ...] = ()

    def __init__(self, outputs: list[Output], event_id: str, stream: str, line: bytes) -> None:
        self.outputs = outputs
        self.event_id = event_id
        self.stream = stream
        #: the line again: a stream still failing diverts it once more
        self.line = line

    def __repr__(self) -> str:
        return f"Restored(event_id={self.event_id!r}, stream={self.stream!r})"


Outcome = Routed | Filtered | Invalid | Skipped | Restored
