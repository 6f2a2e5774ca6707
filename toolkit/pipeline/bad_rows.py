"""The bad rows the pipeline emits after parsing, and how ``replay-bad`` gets the original line back.

``schema_violations`` 2-0-1 wants a ``payload`` made for events that came from a collector:
``raw`` (the tracker's query-string parameters) and ``enriched`` (the atomic fields). Our
input is an enriched TSV line, which has no tracker payload, so the payload is filled as
honestly as the schema allows:

* ``payload.enriched``: all 131 atomic fields by warehouse name, as the schema types them
  (integers for the 25 columns it types as integer, such as ``br_viewwidth`` and the
  ``br_features_*`` flags; numbers for ``geo_latitude`` and ``geo_longitude``; the exact TSV
  text for everything else, ``txn_id`` included; ``null`` when empty);
* ``payload.raw``: ``vendor = "com.snowplowanalytics.snowplow"``, ``version = "enriched-tsv"``
  (the input format), ``loaderName = "snowplow-kafka-toolkit"``, ``encoding = "UTF-8"``,
  ``timestamp`` = the event's ``collector_tstamp``, and ``parameters`` = the exact TSV text of
  every field whose JSON value in ``payload.enriched`` does not spell it (``+3`` read as ``3``,
  ``52.50`` read as ``52.5``), as ``{"name": <field>, "value": <text>}`` (a text longer than
  the schema's 512 characters is split over several entries of that name, in order);
  ``null`` when every value spells its text.

So the original line is ``payload.enriched`` in field order, each value written back as text
(``null`` as empty), with ``payload.raw.parameters`` overriding the fields it names:
:func:`original_line` does exactly that, and a test proves it byte for byte on every sample
and fixture. ``loader_parsing_error``, ``size_violation`` and ``generic_error`` keep the line
as their string payload (cut to fit, for size violations), escaped by
:func:`toolkit.contract.badrows.escape_line` so that :func:`replay_line` gets its exact bytes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toolkit.contract.badrows import ARTIFACT, BADROWS_VENDOR, BadRow, bad_row, escape_line, timestamp, unescape_line
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.fields import BY_NAME, FIELDS

SCHEMA_VIOLATIONS = "schema_violations"
SIZE_VIOLATION = "size_violation"
GENERIC_ERROR = "generic_error"
LOADER_PARSING_ERROR = "loader_parsing_error"
#: the ``sp.error.class`` of a diverted derived message, and the start of its generic_error's first error:
#: ``StreamUnavailable: derived.<name>.v<N>`` names the one stream ``replay-bad`` writes it back to
STREAM_UNAVAILABLE = "StreamUnavailable"

RAW_VENDOR = "com.snowplowanalytics.snowplow"
RAW_VERSION = "enriched-tsv"
PARAMETER_MAX = 512
#: size_violation's ``actualSizeBytes`` and ``maximumAllowedSizeBytes`` are capped by the schema
SIZE_FIELD_MAX = 1_073_741_824

#: the columns schema_violations 2-0-1 types as integer (txn_id, an int in the TSV, it types as a string)
_INTEGER = frozenset({
    "domain_sessionidx", "page_urlport", "refr_urlport", "ti_quantity", "pp_xoffset_min", "pp_xoffset_max",
    "pp_yoffset_min", "pp_yoffset_max", "br_features_pdf", "br_features_flash", "br_features_java",
    "br_features_director", "br_features_quicktime", "br_features_realplayer", "br_features_windowsmedia",
    "br_features_gears", "br_features_silverlight", "br_cookies", "br_viewwidth", "br_viewheight", "dvce_ismobile",
    "dvce_screenwidth", "dvce_screenheight", "doc_width", "doc_height"})
#: ... and as number
_NUMBER = frozenset({"geo_latitude", "geo_longitude"})


def _typed(name: str, text: str) -> Any:
    if name in _INTEGER:
        return int(text)
    if name in _NUMBER:
        return float(text)
    return text


def _spelled(value: Any) -> str:
    """How :func:`original_line` writes a ``payload.enriched`` value back as TSV text."""
    if value is None:
        return ""
    if type(value) is float:
        return repr(value)
    return str(value)


def enriched_payload(event: EnrichedEvent) -> tuple[dict[str, Any], list[dict[str, str]] | None]:
    """``payload.enriched`` and ``payload.raw.parameters`` for an event (see the module docstring)."""
    enriched: dict[str, Any] = {}
    parameters: list[dict[str, str]] = []
    for f, text in zip(FIELDS, event.fields, strict=True):
        if not text:
            enriched[f.name] = None
            continue
        value = _typed(f.name, text)
        enriched[f.name] = value
        if _spelled(value) != text:
            for start in range(0, len(text), PARAMETER_MAX):
                parameters.append({"name": f.name, "value": text[start:start + PARAMETER_MAX]})
    return enriched, parameters or None


def schema_violations(event: EnrichedEvent, messages: tuple[dict[str, Any], ...] | list[dict[str, Any]]) -> BadRow:
    """The ``schema_violations`` 2-0-1 bad row of an event whose self-describing JSON failed validation."""
    enriched, parameters = enriched_payload(event)
    collected = str(event.collector_tstamp)
    raw = {"vendor": RAW_VENDOR, "version": RAW_VERSION, "parameters": parameters, "loaderName": ARTIFACT,
           "encoding": "UTF-8",
           # RFC 3339 (the schema's date-time) has no year 0 or negative years, which the TSV contract allows
           "timestamp": None if collected.startswith(("-", "0000")) else collected}
    return bad_row(SCHEMA_VIOLATIONS, {"timestamp": timestamp(), "messages": list(messages)},
                   {"raw": raw, "enriched": enriched})


def size_violation(line: bytes | str, actual: int, limit: int, expectation: str) -> BadRow:
    """A record (or one of its outputs) too large for its topic; ``line`` is its start, already cut to fit."""
    return bad_row(SIZE_VIOLATION, {"timestamp": timestamp(), "maximumAllowedSizeBytes": min(limit, SIZE_FIELD_MAX),
                                    "actualSizeBytes": min(actual, SIZE_FIELD_MAX), "expectation": expectation[:256]},
                   escape_line(line))


# --------------------------------------------------------------------------------------------
# Reading bad rows back (replay-bad)
# --------------------------------------------------------------------------------------------


class NotReplayable(ValueError):
    """A bad row that cannot (or should not) be processed again; the message says why."""


def original_line(payload: Mapping[str, Any]) -> str:
    """The enriched TSV line a ``schema_violations`` payload was made from (byte for byte once UTF-8 encoded)."""
    enriched = payload.get("enriched")
    raw = payload.get("raw") or {}
    if not isinstance(enriched, Mapping):
        raise NotReplayable("payload.enriched is missing: this bad row was not made from an enriched event")
    overrides: dict[str, str] = {}
    for p in raw.get("parameters") or ():
        if isinstance(p, Mapping) and isinstance(p.get("name"), str) and isinstance(p.get("value"), str):
            overrides[p["name"]] = overrides.get(p["name"], "") + p["value"]
    unknown = [k for k in enriched if k not in BY_NAME]
    if unknown:
        raise NotReplayable(f"payload.enriched holds {unknown[:3]}, which are not enriched-event fields")
    return "\t".join(overrides[f.name] if f.name in overrides else _spelled(enriched.get(f.name)) for f in FIELDS)


def diverted_stream(row: Mapping[str, Any]) -> str | None:
    """The derived stream a ``generic_error`` row was diverted from (its first error names it), else None."""
    if bad_row_type(row) != GENERIC_ERROR:
        return None
    errors = ((row.get("data") or {}).get("failure") or {}).get("errors")
    first = errors[0] if isinstance(errors, list) and errors else None
    prefix = f"{STREAM_UNAVAILABLE}: "
    if isinstance(first, str) and first.startswith(prefix) and first[len(prefix):].startswith("derived."):
        return first[len(prefix):]
    return None


def is_retryable(row: Mapping[str, Any]) -> bool:
    """True for a row a replay may fix: quarantined (a registry could not answer) or diverted (its stream failed).

    A ``schema_violations`` row is quarantined when every message is a registry that could not answer;
    this mirrors :attr:`iglu_registry.errors.ResolutionError.retryable` on the JSON: a lookup history
    with any error other than ``NotFound`` (or no history at all) means the schema may well exist.
    """
    if diverted_stream(row) is not None:
        return True
    schema = row.get("schema")
    if not isinstance(schema, str) or not schema.startswith(f"iglu:{BADROWS_VENDOR}/{SCHEMA_VIOLATIONS}/"):
        return False
    messages = ((row.get("data") or {}).get("failure") or {}).get("messages")
    if not isinstance(messages, list) or not messages:
        return False
    for m in messages:
        error = m.get("error") if isinstance(m, Mapping) else None
        if not isinstance(error, Mapping) or error.get("error") != "ResolutionError":
            return False
        history = error.get("lookupHistory") or []
        if history and all(all(isinstance(e, Mapping) and e.get("error") == "NotFound" for e in h.get("errors") or ())
                           for h in history if isinstance(h, Mapping)):
            return False
    return True


def bad_row_type(row: Mapping[str, Any]) -> str | None:
    """``schema_violations`` for ``iglu:com.snowplowanalytics.snowplow.badrows/schema_violations/...``."""
    schema = row.get("schema")
    prefix = f"iglu:{BADROWS_VENDOR}/"
    if isinstance(schema, str) and schema.startswith(prefix):
        return schema[len(prefix):].split("/", 1)[0]
    return None


def replay_line(row: Mapping[str, Any], include_all: bool) -> bytes:
    """The line to process again for a bad row, byte for byte; :class:`NotReplayable` says why there is none.

    Without ``include_all`` only retryable rows (:func:`is_retryable`) are replayed; with it,
    every row that still holds its whole input line. The line is taken as it is, never
    stripped: an enriched line ends in empty tab-separated fields.
    """
    kind = bad_row_type(row)
    data = row.get("data") if isinstance(row.get("data"), Mapping) else {}
    if kind is None:
        raise NotReplayable("not a Snowplow bad row (no iglu:com.snowplowanalytics.snowplow.badrows/... schema)")
    if kind == SCHEMA_VIOLATIONS:
        if not include_all and not is_retryable(row):
            raise NotReplayable("a permanent schema violation (invalid data or a schema no repository has); "
                                "use --all to run it again after fixing the schema")
        payload = data.get("payload")
        if not isinstance(payload, Mapping):
            raise NotReplayable("schema_violations bad row without a payload object")
        return original_line(payload).encode()
    if not include_all and diverted_stream(row) is None:
        raise NotReplayable(f"a {kind} bad row is not quarantined; use --all to run it again")
    if kind in (LOADER_PARSING_ERROR, GENERIC_ERROR) and isinstance(data.get("payload"), str):
        try:
            return unescape_line(data["payload"])
        except ValueError as exc:
            raise NotReplayable(f"the {kind} payload is not a line this toolkit escaped: {exc}") from None
    if kind == SIZE_VIOLATION:
        raise NotReplayable("a size_violation keeps only the start of its record; read the record again from its "
                            "source (raw topic or archive) instead")
    raise NotReplayable(f"a {kind} bad row does not hold an enriched TSV line")
