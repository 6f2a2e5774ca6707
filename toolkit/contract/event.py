"""The typed, immutable enriched event that every stage of the toolkit passes around.

An :class:`EnrichedEvent` keeps the line it was parsed from, the 131 field texts
and the decoded JSON fields, so it can be written back byte for byte and still be
read as data: ``event.get("geo_latitude")`` is a ``float``, ``event.collector_tstamp`` a
:class:`Timestamp`, ``event.contexts`` a decoded
:class:`~toolkit.contract.sdj.SelfDescribingField`. Events come from
:func:`toolkit.contract.tsv.parse_line`, which has already checked every field, so nothing
here can fail on bad data.
"""

from __future__ import annotations

from typing import Any

from iglu_registry.schema_key import SchemaKey
from toolkit.contract.field_values import Timestamp, is_shortest, typed_value
from toolkit.contract.fields import BY_NAME, FIELDS, FieldKind, field
from toolkit.contract.sdj import Entity, SelfDescribingField, SelfDescribingJson

__all__ = ["EnrichedEvent", "Timestamp"]

_EVENT_ID = BY_NAME["event_id"].position
_COLLECTOR_TSTAMP = BY_NAME["collector_tstamp"].position
_EVENT_FINGERPRINT = BY_NAME["event_fingerprint"].position
_DOMAIN_USERID = BY_NAME["domain_userid"].position
_NETWORK_USERID = BY_NAME["network_userid"].position
_EVENT_SCHEMA = tuple(BY_NAME[n].position for n in ("event_vendor", "event_name", "event_format", "event_version"))
_INDEX: dict[str, int] = {name: f.position for name, f in BY_NAME.items()}
_NUMBER_KINDS = (FieldKind.INT, FieldKind.DOUBLE)


def _set(name: str) -> Any:
    """The slot's own setter: how ``__init__`` fills an object whose ``__setattr__`` refuses every change."""
    return getattr(EnrichedEvent, name).__set__


class EnrichedEvent:
    """One valid enriched event. Immutable; build events with :func:`toolkit.contract.tsv.parse_line`.

    Parsing has checked every field, so typing one cannot fail; it happens on
    demand, which keeps the pipeline's hot path to what it actually reads.

    * ``event.get(name)`` / ``event.<name>``: the typed value of a field, by warehouse
      or SDK name (``None`` when the field is empty). Strings and UUIDs are ``str``,
      ints ``int``, doubles ``float``, booleans ``bool``, timestamps
      :class:`Timestamp`, the three JSON fields :class:`~toolkit.contract.sdj.SelfDescribingField`.
    * ``event.text(name)``: the field exactly as the TSV spells it.
    * ``event.line``: the whole line; ``event.fields``: the 131 texts; ``event.values``: the 131 typed values.
    """

    __slots__ = ("line", "fields", "sdj", "layout")

    line: str
    fields: tuple[str, ...]
    #: the decoded self-describing fields present, by name
    sdj: dict[str, SelfDescribingField]
    #: which fields are non-empty, precomputed per line shape by the parser (serialisers use it)
    layout: Any

    def __init__(self, line: str, fields: tuple[str, ...], sdj: dict[str, SelfDescribingField],
                 layout: Any = None) -> None:
        _set_line(self, line)
        _set_fields(self, fields)
        _set_sdj(self, sdj)
        _set_layout(self, layout)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"EnrichedEvent is immutable (tried to set {name!r}); parse a changed line instead")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"EnrichedEvent is immutable (tried to delete {name!r})")

    def get(self, name: str) -> Any:
        """The typed value of a field by warehouse name (or the Python SDK's spelling), or ``None`` if empty."""
        index = _INDEX.get(name)
        if index is None:
            field(name)  # raises KeyError listing every known field
        return self._value(index)  # type: ignore[arg-type]

    def _value(self, index: int) -> Any:
        f = FIELDS[index]
        if f.kind.is_self_describing:
            return self.sdj.get(f.name)
        return typed_value(f, self.fields[index])

    def text(self, name: str) -> str:
        """The field's text exactly as in the TSV line (``""`` when empty)."""
        index = _INDEX.get(name)
        if index is None:
            field(name)
        return self.fields[index]  # type: ignore[index]

    @property
    def values(self) -> tuple[Any, ...]:
        """All 131 typed values in TSV order, ``None`` for empty fields."""
        return tuple(self._value(i) for i in range(len(self.fields)))

    @property
    def typed(self) -> dict[str, Any]:
        """The typed value of every non-empty field, by warehouse name, in TSV order."""
        return {f.name: self._value(f.position) for f in FIELDS if self.fields[f.position]}

    @property
    def verbatim(self) -> dict[str, str]:
        """Number fields whose text is not the default spelling of their value (``12.50``, ``+3``), by name.

        JSON keeps values, not spellings; a writer that must give the TSV line
        back keeps these texts.
        """
        out = {}
        for f in FIELDS:
            text = self.fields[f.position]
            if text and f.kind in _NUMBER_KINDS and not is_shortest(typed_value(f, text), text):
                out[f.name] = text
        return out

    def __getattr__(self, name: str) -> Any:
        index = _INDEX.get(name)
        if index is None:
            raise AttributeError(f"EnrichedEvent has no field or attribute {name!r}")
        return self._value(index)

    # -- the fields the pipeline reads on every record ---------------------------------------------------------

    @property
    def event_id(self) -> str:
        return self.fields[_EVENT_ID]

    @property
    def collector_tstamp(self) -> Timestamp:
        return Timestamp.from_tsv(self.fields[_COLLECTOR_TSTAMP])

    @property
    def event_fingerprint(self) -> str | None:
        return self.fields[_EVENT_FINGERPRINT] or None

    @property
    def domain_userid(self) -> str | None:
        return self.fields[_DOMAIN_USERID] or None

    @property
    def network_userid(self) -> str | None:
        return self.fields[_NETWORK_USERID] or None

    @property
    def contexts(self) -> SelfDescribingField | None:
        return self.sdj.get("contexts")

    @property
    def unstruct_event(self) -> SelfDescribingField | None:
        return self.sdj.get("unstruct_event")

    @property
    def derived_contexts(self) -> SelfDescribingField | None:
        return self.sdj.get("derived_contexts")

    @property
    def self_describing_fields(self) -> tuple[SelfDescribingField, ...]:
        """The non-empty JSON fields in TSV order: contexts, unstruct_event, derived_contexts."""
        sdj = self.sdj
        return tuple(sdj[n] for n in ("contexts", "unstruct_event", "derived_contexts") if n in sdj)

    @property
    def entities(self) -> tuple[Entity, ...]:
        """Every entity (custom contexts, the unstructured event, derived contexts), in TSV order."""
        return tuple(e for sdj in self.self_describing_fields for e in sdj.entities)

    def self_describing(self) -> list[SelfDescribingJson]:
        """Every self-describing JSON to validate, wrappers included, each with its path in the event."""
        return [s for sdj in self.self_describing_fields for s in sdj.self_describing()]

    @property
    def event_schema(self) -> SchemaKey | None:
        """The event's own schema: the unstructured event's key, else event_vendor/name/format/version."""
        unstruct = self.sdj.get("unstruct_event")
        if unstruct is not None:
            return unstruct.entities[0].key
        parts = [self.fields[i] for i in _EVENT_SCHEMA]
        if all(parts):
            try:
                return SchemaKey.parse("iglu:{}/{}/{}/{}".format(*parts))
            except ValueError:
                return None
        return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EnrichedEvent) and other.line == self.line

    def __hash__(self) -> int:
        return hash(self.line)

    def __repr__(self) -> str:
        return (f"EnrichedEvent(event_id={self.event_id!r}, event={self.fields[5]!r}, "
                f"collector_tstamp={str(self.collector_tstamp)!r})")


_set_line = _set("line")
_set_fields = _set("fields")
_set_sdj = _set("sdj")
_set_layout = _set("layout")
