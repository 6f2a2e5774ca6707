"""The compiled fast path of the event codec (``sptk_native``, built from ``native/``), behind the usual API.

:func:`toolkit.contract.tsv.parse_line` tries :func:`parse` first. The extension checks
the whole line in one call and writes its canonical JSON while it is at it; for
any line it is not certain about (every invalid line, JSON nested deeper than
128 levels, an Iglu URI ending in a newline) it *declines* and the Python
parser, the reference, decides and explains. So results never depend on whether
the extension is installed, only speed does (``docs/adr/0003-native-codec.md``).

What the extension accepted becomes a :class:`NativeEvent`: an
:class:`~toolkit.contract.event.EnrichedEvent` that builds its Python parts (field
strings, decoded JSON, layout) only when first asked, with the same functions
the Python parser uses, and hands canonical JSON over as ready bytes.

``SPTK_NATIVE=0`` in the environment turns the fast path off (to compare, or to
rule it out); :data:`STATUS` says whether it is on and, if not, why.
"""

from __future__ import annotations

from typing import Any

from iglu_registry.native_engine import ENV_SWITCH as ENV_SWITCH  # the switch also turns native validation off
from iglu_registry.native_engine import switched_off
from iglu_registry.schema_key import SchemaKey
from toolkit.contract.event import EnrichedEvent, Timestamp
from toolkit.contract.fields import FIELDS
from toolkit.contract.layout import layout_of
from toolkit.contract.sdj import DERIVED_CONTEXTS_FIELD, SelfDescribingField, decode_contexts, decode_unstruct


def _load() -> tuple[Any, str]:
    """The extension module when it may be used, and a sentence saying which path is in use and why."""
    off = switched_off()
    if off is not None:
        return None, f"native fast path off: {off}"
    try:
        import sptk_native
    except ImportError as exc:
        return None, (f"native fast path not installed ({exc}); the pure-Python codec is in use. "
                      "Run scripts/setup with cargo on PATH to build it")
    expected = tuple((f.name, f.kind.value, f.max_length, f.required) for f in FIELDS)
    if tuple(getattr(sptk_native, "FIELDS", ())) != expected:
        return None, ("native fast path off: the installed sptk_native was built from another field table than "
                      "toolkit/contract/fields.py; run scripts/setup to rebuild it")
    return sptk_native, f"native fast path on (sptk_native {sptk_native.__version__})"


_module, STATUS = _load()
#: True when :func:`parse` can accept lines (else it declines every line)
AVAILABLE = _module is not None
_native_parse = _module.parse if _module is not None else None


def _sdj(event: NativeEvent) -> dict[str, SelfDescribingField]:
    native = event.native
    value = {}
    for name, text, decode in (("contexts", native.contexts, decode_contexts),
                               ("unstruct_event", native.unstruct_event, decode_unstruct),
                               (DERIVED_CONTEXTS_FIELD, native.derived_contexts, decode_contexts)):
        if text is not None:
            value[name] = decode(name, text)
    return value


def _layout(event: NativeEvent) -> Any:
    return layout_of(event.fields)


#: how each of EnrichedEvent's slots is filled on first use: by the functions the Python parser uses
_MAKERS: dict[str, Any] = {
    "line": lambda event: event.native.line,
    "fields": lambda event: event.native.fields,
    "sdj": _sdj,
    "layout": _layout,
}
_SLOTS = {name: getattr(EnrichedEvent, name) for name in _MAKERS}


class NativeEvent(EnrichedEvent):
    """An :class:`EnrichedEvent` checked by the extension; its Python parts are built on first use.

    ``line``, ``fields``, ``sdj`` and ``layout`` are what the Python parser
    would have produced, made by the same functions. They live in
    EnrichedEvent's own slots: an empty slot sends Python to ``__getattr__``,
    which fills it, so later reads cost what they cost on any event. The
    extension's own view is ``event.native`` (``sptk_native.Event``: field
    offsets, raw JSON texts, the ids, the canonical JSON bytes).
    """

    __slots__ = ("native",)

    native: Any

    def __init__(self, native: Any) -> None:
        _set_native(self, native)

    def __getattr__(self, name: str) -> Any:
        make = _MAKERS.get(name)
        if make is None:
            return super().__getattr__(name)
        value = make(self)
        _SLOTS[name].__set__(self, value)
        return value

    # the fields the pipeline reads on every record, straight from the extension

    @property
    def event_id(self) -> str:
        return self.native.event_id

    @property
    def collector_tstamp(self) -> Timestamp:
        return Timestamp.from_tsv(self.native.collector_tstamp)

    @property
    def event_fingerprint(self) -> str | None:
        return self.native.event_fingerprint

    @property
    def domain_userid(self) -> str | None:
        return self.native.domain_userid

    @property
    def network_userid(self) -> str | None:
        return self.native.network_userid

    @property
    def event_schema(self) -> SchemaKey | None:
        uri = self.native.event_schema_uri
        if uri is None:
            return None
        try:
            return SchemaKey.parse(uri)
        except ValueError:
            return None

    @property
    def canonical_json(self) -> bytes:
        """What :func:`toolkit.contract.profiles.canonical.to_json` gives for this event, already written."""
        return self.native.canonical_json


_set_native = NativeEvent.native.__set__  # type: ignore[attr-defined]


def parse(line: str | bytes | bytearray | memoryview) -> NativeEvent | None:
    """The event when the extension is certain of the line, else ``None`` (a decline: ask the Python parser)."""
    if _native_parse is None:
        return None
    if type(line) is not str and type(line) is not bytes:
        line = bytes(line)
    native = _native_parse(line)
    return None if native is None else NativeEvent(native)
