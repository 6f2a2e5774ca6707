"""Parse an enriched TSV line into an :class:`EnrichedEvent`, or a :class:`ParseFailure` that says why.

This is the pipeline's hot path, so it is a pure function built for speed.
Real streams repeat a handful of *shapes* (which of the 131 fields are
non-empty), so the parser precomputes a :class:`Layout` per shape: item getters
for the non-empty fields and one regular expression that checks every non-empty
typed field of the line in a single call. A line then costs a split, a few
whole-line checks done in C, that one match, and decoding its JSON fields.
Typed values are produced on demand (the event has the texts and knows they are
valid).

Any doubt sends the line down the slow route, which checks every field on its
own and so reports *every* problem of the line, not just the first. Nothing here
raises on bad data: a line that cannot be parsed comes back as a
:class:`ParseFailure`, which builds its Snowplow ``loader_parsing_error`` bad row.

The contract (what a valid line is) is documented in ``docs/event-contract.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import compress
from operator import gt
from typing import Any

from toolkit.contract import native_codec
from toolkit.contract.badrows import TOOLKIT_PROCESSOR, BadRow, Processor, loader_parsing_error
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.field_values import CERTAIN_PATTERNS, CONVERTERS
from toolkit.contract.fields import FIELD_COUNT, FIELDS, Field, FieldKind
from toolkit.contract.layout import DECODERS, LAYOUT_CACHE_LIMIT, LAYOUTS, POSITIONS, Layout, layout_of
from toolkit.contract.sdj import SdjError, SelfDescribingField

#: longest field value a bad row repeats in its error list (the payload always keeps the whole line)
ERROR_VALUE_LIMIT = 1024
#: one compiled pattern per sequence of typed kinds (many shapes share one), and how often each was asked for
_PATTERNS: dict[tuple[FieldKind, ...], re.Pattern[str]] = {}
_ASKED: dict[tuple[FieldKind, ...], int] = {}
#: compile a sequence's pattern when it is asked for this many times: compiling costs milliseconds, checking
#: a line field by field well under one, so a shape seen once or twice is cheaper without a pattern
COMPILE_AFTER = 3


# --- results ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: which, its value (cut at :data:`ERROR_VALUE_LIMIT`), and why."""

    field: str
    value: str
    message: str


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """A line that is not a valid enriched event, with everything wrong with it.

    ``kind`` follows Snowplow's analytics SDK: ``NotTSV`` (no tab at all),
    ``FieldNumberMismatch`` (not 131 fields) or ``RowDecodingError`` (131 fields,
    some invalid: see ``errors``). ``line`` is the line as given; bytes that are not
    UTF-8 are kept as ``surrogateescape`` decoding holds them.
    """

    line: str
    kind: str
    field_count: int
    errors: tuple[FieldError, ...] = ()

    @property
    def reason(self) -> str:
        """One line a person can act on."""
        if self.kind == "NotTSV":
            return (f"not an enriched TSV line: it has no tab character, and an enriched event is "
                    f"{FIELD_COUNT} tab-separated fields")
        if self.kind == "FieldNumberMismatch":
            return (f"wrong number of fields: {self.field_count} tab-separated fields where an enriched event "
                    f"has {FIELD_COUNT} (a tab inside a value, a truncated line, or another format?)")
        details = "; ".join(e.message for e in self.errors)
        return f"{len(self.errors)} invalid field{'s' if len(self.errors) != 1 else ''}: {details}"

    def failure(self) -> dict[str, Any]:
        """The ``failure`` object of a ``loader_parsing_error`` 2-0-0 bad row."""
        if self.kind == "NotTSV":
            return {"type": "NotTSV"}
        if self.kind == "FieldNumberMismatch":
            if self.field_count <= 1024:  # the schema's bound; beyond it say the same thing another valid way
                return {"type": "FieldNumberMismatch", "fieldCount": self.field_count}
            return {"type": "RowDecodingError",
                    "errors": [{"type": "UnhandledRowDecodingError", "message": self.reason}]}
        return {"type": "RowDecodingError", "errors": [
            {"type": "InvalidValue", "key": e.field[:32], "value": e.value, "message": e.message}
            for e in self.errors]}

    def bad_row(self, processor: Processor = TOOLKIT_PROCESSOR) -> BadRow:
        """The Snowplow ``loader_parsing_error`` bad row, with the original line as payload."""
        return loader_parsing_error(self.line, self.failure(), processor)


ParseResult = EnrichedEvent | ParseFailure


# --- parsing ---------------------------------------------------------------------------------------------------


def parse_line(line: str | bytes | bytearray | memoryview) -> EnrichedEvent | ParseFailure:
    """Parse one enriched TSV line (one trailing ``\\n`` or ``\\r\\n`` is ignored). Never raises on bad data.

    Bytes are decoded as UTF-8; a field that is not valid UTF-8 is reported like
    any other invalid field, and the failure's ``line`` keeps its bytes (decoded with
    ``surrogateescape``), which the bad row's payload shows as ``\\xNN``
    (:func:`toolkit.contract.badrows.escape_line`).

    The compiled fast path (:mod:`toolkit.contract.native_codec`) takes the lines it is
    certain about; the rest, and every error, go to :func:`parse_line_python`.
    """
    if _native_parse is not None:
        event = _native_parse(line)
        if event is not None:
            return event
    return parse_line_python(line)


_native_parse = native_codec.parse if native_codec.AVAILABLE else None


def parse_line_python(line: str | bytes | bytearray | memoryview) -> EnrichedEvent | ParseFailure:
    """:func:`parse_line` without the compiled fast path: the reference the fast path must reproduce."""
    if type(line) is str:
        return _parse_text(line)
    return _parse_bytes(bytes(line))


def _parse_text(text: str) -> EnrichedEvent | ParseFailure:
    if text[-1:] == "\n":
        text = text[:-2] if text[-2:] == "\r\n" else text[:-1]
    fields = text.split("\t")
    if len(fields) != FIELD_COUNT:
        return ParseFailure(text, "NotTSV" if len(fields) == 1 else "FieldNumberMismatch", len(fields))
    layout = LAYOUTS.get(tuple(compress(POSITIONS, fields))) or layout_of(fields)
    if (not layout.required_ok or "\x00" in text or not (text.isascii() or _is_unicode(text))
            or any(map(gt, map(len, layout.limited(fields)), layout.limits))):
        return _parse_slowly(text, fields)
    if layout.typed_kinds:
        pattern = layout.typed_pattern or _typed_pattern(layout)
        if (pattern is None or pattern.fullmatch("\t".join(layout.typed(fields))) is None) \
                and not _typed_values_hold(layout, fields):
            return _parse_slowly(text, fields)
    sdj = {}
    for position, name, decode in layout.self_describing:
        try:
            sdj[name] = decode(name, fields[position])
        except SdjError:
            return _parse_slowly(text, fields)
    return EnrichedEvent(text, tuple(fields), sdj, layout)


def _typed_pattern(layout: Layout) -> re.Pattern[str] | None:
    """The layout's pattern: shared by every shape with the same typed kinds, compiled once they recur."""
    kinds = layout.typed_kinds
    pattern = _PATTERNS.get(kinds)
    if pattern is None:
        asked = _ASKED.get(kinds, 0) + 1
        if asked < COMPILE_AFTER:
            if len(_ASKED) >= LAYOUT_CACHE_LIMIT:
                _ASKED.clear()
            _ASKED[kinds] = asked
            return None
        if len(_PATTERNS) >= LAYOUT_CACHE_LIMIT:
            _PATTERNS.clear()
        pattern = _PATTERNS[kinds] = re.compile("\t".join(f"(?:{CERTAIN_PATTERNS[k]})" for k in kinds), re.ASCII)
        _ASKED.pop(kinds, None)
    layout.typed_pattern = pattern
    return pattern


def _typed_values_hold(layout: Layout, fields: list[str]) -> bool:
    """Type each typed field, for the rare valid values outside the certain patterns (29 February, INT32_MIN)."""
    try:
        for kind, text in zip(layout.typed_kinds, layout.typed(fields), strict=True):
            CONVERTERS[kind](text)
    except ValueError:
        return False
    return True


def _is_unicode(text: str) -> bool:
    """False when a ``str`` holds lone surrogates (from ``surrogateescape`` decoding), which no UTF-8 can carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _parse_slowly(text: str, fields: list[str], undecodable: dict[int, str] | None = None
                  ) -> EnrichedEvent | ParseFailure:
    """Check every field on its own: slower, but it names every problem of the line."""
    errors = []
    sdj = {}
    for f, value in zip(FIELDS, fields, strict=True):
        problem = undecodable.get(f.position) if undecodable else None
        if problem:
            errors.append(FieldError(f.name, _cut(value), f"{f.name} {problem}"))
            continue
        decoded, messages = _check_field(f, value)
        errors.extend(FieldError(f.name, _cut(value), m) for m in messages)
        if decoded is not None:
            sdj[f.name] = decoded
    if errors:
        return ParseFailure(text, "RowDecodingError", len(fields), tuple(errors))
    return EnrichedEvent(text, tuple(fields), sdj, layout_of(fields))


def _check_field(f: Field, value: str) -> tuple[SelfDescribingField | None, list[str]]:
    """Every problem of one field as full sentences, and its decoded JSON if it is a self-describing field."""
    name = f.name
    if not value:
        return None, [f"{name} is required and cannot be empty"] if f.required else []
    if "\x00" in value:
        return None, [f"{name} contains a NUL character (U+0000) at position {value.index(chr(0))}, "
                      "which no warehouse text column can store"]
    if not value.isascii() and not _is_unicode(value):
        bad = next(c for c in value if "\ud800" <= c <= "\udfff")
        return None, [f"{name} contains the lone surrogate U+{ord(bad):04X}, which is not valid Unicode"]
    if f.max_length and len(value) > f.max_length:
        return None, [f"{name} is {len(value)} characters long, longer than the {f.max_length} allowed "
                      "(iglu:com.snowplowanalytics.snowplow/atomic/jsonschema/1-0-0 and the atomic.events column)"]
    try:
        if f.kind.is_self_describing:
            return DECODERS[f.kind](name, value), []
        CONVERTERS[f.kind](value)
    except SdjError as exc:
        return None, list(exc.messages)  # already full sentences starting with the field or a path inside it
    except ValueError as exc:
        return None, [f"{name} {_quote(value)} {exc}"]
    return None, []


def _quote(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:80] + "...")


def _cut(value: str) -> str:
    if len(value) <= ERROR_VALUE_LIMIT:
        return value
    return f"{value[:ERROR_VALUE_LIMIT]}... ({len(value)} characters in total; the payload holds the whole line)"


def _parse_bytes(data: bytes) -> EnrichedEvent | ParseFailure:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _utf8_failure(data)
    return _parse_text(text)


def _utf8_failure(data: bytes) -> EnrichedEvent | ParseFailure:
    if data[-1:] == b"\n":
        data = data[:-2] if data[-2:] == b"\r\n" else data[:-1]
    line = data.decode("utf-8", "surrogateescape")
    raw_fields = data.split(b"\t")
    if len(raw_fields) != FIELD_COUNT:
        return ParseFailure(line, "NotTSV" if len(raw_fields) == 1 else "FieldNumberMismatch", len(raw_fields))
    undecodable: dict[int, str] = {}
    fields = []
    for position, raw in enumerate(raw_fields):
        try:
            fields.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            fields.append(raw.decode("utf-8", "backslashreplace"))
            undecodable[position] = (f"is not valid UTF-8: byte 0x{raw[exc.start]:02x} at byte offset {exc.start} "
                                     f"of the field ({exc.reason})")
    return _parse_slowly(line, fields, undecodable)


def to_tsv(event: EnrichedEvent) -> str:
    """The event as an enriched TSV line, without a line terminator: exactly the line it was parsed from."""
    return event.line
