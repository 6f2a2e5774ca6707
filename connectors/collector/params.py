"""The tracker-protocol parameter table: which enriched field each parameter fills, and how its text converts.

One table, read by the adapter (:mod:`connectors.collector.adapter`) and rendered into
docs/collector.md by :mod:`connectors.collector.reference`, so the documentation cannot drift
from what the code does. It follows Snowplow enrich's ``Transform`` map (the last Apache-2.0
version) parameter by parameter; each conversion reproduces enrich's text for the field
(``tr_tt=8000`` stays ``8000``, ``tid=028288`` becomes ``28288``, ``dtm`` milliseconds become
``YYYY-MM-DD HH:MM:SS.mmm``). A conversion that fails raises :class:`Invalid` with the
expectation the tracker did not meet, which becomes a ``tracker_protocol_violations`` message.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

import orjson

from toolkit.contract.field_values import INT32_MAX, INT32_MIN

#: the largest ``dtm``/``stm``/``ttm`` enrich accepts: 9999-12-31 23:59:59.999 UTC in milliseconds
MAX_MILLIS = 253_402_300_799_999
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DIMENSIONS = re.compile(r"([0-9]+)x([0-9]+)", re.ASCII)
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
#: C0 controls and DEL, which enrich removes from text fields (a tab becomes four spaces first)
_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


class Invalid(ValueError):
    """A parameter value the tracker protocol does not allow; ``expectation`` says what it should be."""

    def __init__(self, expectation: str) -> None:
        super().__init__(expectation)
        self.expectation = expectation


# --- conversions: text as received -> the enriched field's text ---------------------------------------------


def text(value: str) -> str:
    """Enrich's ``fixTabsNewlines``: a tab becomes four spaces, other control characters go."""
    if value.isprintable():
        return value
    return _CONTROLS.sub("", value.replace("\t", "    "))


def integer(value: str) -> str:
    """A 32-bit integer in its plain spelling (``028288`` -> ``28288``)."""
    if _INTEGER.fullmatch(value.strip()) is None:
        raise Invalid("an integer (digits with an optional sign)")
    number = int(value)
    if not INT32_MIN <= number <= INT32_MAX:
        raise Invalid(f"an integer between {INT32_MIN} and {INT32_MAX}")
    return str(number)


def double_like(value: str) -> str:
    """Enrich's ``stringToDoubleLike``: any decimal, written without an exponent (``1e3`` -> ``1000``)."""
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise Invalid("a decimal number such as 12.5") from None
    if not number.is_finite():
        raise Invalid("a finite decimal number (not NaN or Infinity)")
    return format(number, "f")


def boolean(value: str) -> str:
    """Enrich's ``stringToBooleanLikeJByte``: ``1`` or ``0``."""
    if value in ("1", "0"):
        return value
    raise Invalid("1 or 0")


def a_uuid(value: str) -> str:
    """A UUID, as enrich's ``validateUuid`` wants it, in lower case."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Invalid("a UUID such as 4f2a6b4c-2e1d-4c5f-9c0b-1a2b3c4d5e6f") from None


def millis(value: str) -> str:
    """Milliseconds since the epoch as an enriched timestamp (``1410278340704`` -> ``2014-09-09 15:59:00.704``)."""
    if not value.isascii() or not value.isdigit():
        raise Invalid("milliseconds since 1970-01-01 UTC, as digits")
    number = int(value)
    if number > MAX_MILLIS:
        raise Invalid(f"milliseconds since 1970-01-01 UTC, at most {MAX_MILLIS} (year 9999)")
    return tstamp(_EPOCH + timedelta(milliseconds=number))


def tstamp(moment: datetime) -> str:
    """An aware datetime as the enriched TSV writes timestamps: UTC, milliseconds."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def dimensions(value: str) -> tuple[str, str]:
    """Enrich's ``extractViewDimensions``: ``1920x1080`` -> (``1920``, ``1080``)."""
    m = _DIMENSIONS.fullmatch(value)
    if m is None:
        raise Invalid("WIDTHxHEIGHT in pixels, such as 1920x1080")
    width, height = int(m[1]), int(m[2])
    if width > INT32_MAX or height > INT32_MAX:
        raise Invalid(f"WIDTHxHEIGHT with each at most {INT32_MAX}")
    return str(width), str(height)


#: ``e`` -> the ``event`` field, and the schema enrich gives each fixed event type
EVENT_TYPES: dict[str, tuple[str, str | None]] = {
    "pv": ("page_view", "iglu:com.snowplowanalytics.snowplow/page_view/jsonschema/1-0-0"),
    "pp": ("page_ping", "iglu:com.snowplowanalytics.snowplow/page_ping/jsonschema/1-0-0"),
    "se": ("struct", "iglu:com.google.analytics/event/jsonschema/1-0-0"),
    "ev": ("struct", "iglu:com.google.analytics/event/jsonschema/1-0-0"),  # legacy spelling of se
    "ue": ("unstruct", None),  # the schema is the self-describing event's own
    "tr": ("transaction", "iglu:com.snowplowanalytics.snowplow/transaction/jsonschema/1-0-0"),
    "ti": ("transaction_item", "iglu:com.snowplowanalytics.snowplow/transaction_item/jsonschema/1-0-0"),
    "ad": ("ad_impression", "iglu:com.snowplowanalytics.snowplow/ad_impression/jsonschema/1-0-0"),  # legacy
}
#: ``p`` values enrich accepts
PLATFORMS = ("web", "mob", "pc", "srv", "app", "tv", "cnsl", "iot")


def event_type(value: str) -> str:
    try:
        return EVENT_TYPES[value][0]
    except KeyError:
        raise Invalid(f"one of the event type codes {', '.join(EVENT_TYPES)}") from None


def platform(value: str) -> str:
    if value in PLATFORMS:
        return value
    raise Invalid(f"one of the platform codes {', '.join(PLATFORMS)}")


def json_text(value: str) -> object:
    """Self-describing JSON sent as plain (URL-encoded) text (``co``, ``ue_pr``)."""
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"JSON text ({exc})") from None


def base64_json(value: str) -> object:
    """Self-describing JSON sent base64-encoded (``cx``, ``ue_px``): URL-safe or standard, padding optional."""
    cleaned = value.strip().replace("-", "+").replace("_", "/").replace(" ", "+")
    try:
        raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("base64 (URL-safe or standard alphabet, padding optional) of JSON text") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"base64 of JSON text; it decodes, but not to JSON ({exc})") from None


# --- the table ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Param:
    """One tracker-protocol parameter: the enriched field(s) it fills and the rule that converts it."""

    name: str
    fields: tuple[str, ...]
    rule: str
    meaning: str

    @property
    def convert(self) -> Callable[[str], object]:
        return RULES[self.rule][0]


#: rule name -> (conversion, what the documentation says about it)
RULES: dict[str, tuple[Callable[[str], object], str]] = {
    "text": (text, "text (a tab becomes 4 spaces, control characters go)"),
    "integer": (integer, "32-bit integer"),
    "decimal": (double_like, "decimal, written without exponent (`1e3` → `1000`)"),
    "boolean": (boolean, "`1` or `0`"),
    "uuid": (a_uuid, "UUID (lower-cased)"),
    "millis": (millis, "milliseconds since the epoch → `YYYY-MM-DD HH:MM:SS.mmm` UTC"),
    "dimensions": (dimensions, "`WIDTHxHEIGHT` → two integers"),
    "event": (event_type, "event type code → event name (`pv` → `page_view`)"),
    "platform": (platform, f"one of {', '.join(f'`{p}`' for p in PLATFORMS)}"),
    "json": (json_text, "self-describing JSON, URL-encoded text"),
    "base64 json": (base64_json, "self-describing JSON, base64 (URL-safe or standard, padding optional)"),
}

_T = "text"
PARAMS: tuple[Param, ...] = (
    Param("e", ("event",), "event", "event type"),
    Param("aid", ("app_id",), _T, "application id"),
    Param("p", ("platform",), "platform", "platform"),
    Param("tv", ("v_tracker",), _T, "tracker version"),
    Param("tna", ("name_tracker",), _T, "tracker namespace"),
    Param("cv", ("v_collector",), _T, "collector version (overrides the collector's own)"),
    Param("eid", ("event_id",), "uuid", "event id (a new UUID when absent)"),
    Param("tid", ("txn_id",), "integer", "transaction id (legacy)"),
    Param("uid", ("user_id",), _T, "user id set by the business"),
    Param("duid", ("domain_userid",), _T, "first-party cookie user id"),
    Param("nuid", ("network_userid",), _T, "third-party cookie user id (overrides the collector's cookie)"),
    Param("tnuid", ("network_userid",), _T, "network user id set by the tracker (overrides nuid and the cookie)"),
    Param("sid", ("domain_sessionid",), "uuid", "session id"),
    Param("vid", ("domain_sessionidx",), "integer", "session index"),
    Param("fp", ("user_fingerprint",), _T, "user fingerprint"),
    Param("ip", ("user_ipaddress",), _T, "IP address (overrides the request's)"),
    Param("ua", ("useragent",), _T, "user agent (overrides the request's)"),
    Param("dtm", ("dvce_created_tstamp",), "millis", "device timestamp when the event was created"),
    Param("stm", ("dvce_sent_tstamp",), "millis", "device timestamp when the event was sent"),
    Param("ttm", ("true_tstamp",), "millis", "true timestamp set by the business"),
    Param("tz", ("os_timezone",), _T, "time zone"),
    Param("lang", ("br_lang",), _T, "browser language"),
    Param("cs", ("doc_charset",), _T, "document character set"),
    Param("cd", ("br_colordepth",), _T, "screen colour depth"),
    Param("res", ("dvce_screenwidth", "dvce_screenheight"), "dimensions", "screen resolution"),
    Param("vp", ("br_viewwidth", "br_viewheight"), "dimensions", "browser viewport"),
    Param("ds", ("doc_width", "doc_height"), "dimensions", "document size"),
    Param("cookie", ("br_cookies",), "boolean", "cookies enabled"),
    Param("f_pdf", ("br_features_pdf",), "boolean", "PDF plugin"),
    Param("f_fla", ("br_features_flash",), "boolean", "Flash plugin"),
    Param("f_java", ("br_features_java",), "boolean", "Java plugin"),
    Param("f_dir", ("br_features_director",), "boolean", "Director plugin"),
    Param("f_qt", ("br_features_quicktime",), "boolean", "QuickTime plugin"),
    Param("f_realp", ("br_features_realplayer",), "boolean", "RealPlayer plugin"),
    Param("f_wma", ("br_features_windowsmedia",), "boolean", "Windows Media plugin"),
    Param("f_gears", ("br_features_gears",), "boolean", "Gears plugin"),
    Param("f_ag", ("br_features_silverlight",), "boolean", "Silverlight plugin"),
    Param("url", ("page_url",), _T, "page URL (the request's Referer header when absent)"),
    Param("page", ("page_title",), _T, "page title"),
    Param("refr", ("page_referrer",), _T, "referrer URL"),
    Param("co", ("contexts",), "json", "custom entities (wins over cx)"),
    Param("cx", ("contexts",), "base64 json", "custom entities"),
    Param("ue_pr", ("unstruct_event",), "json", "self-describing event (wins over ue_px)"),
    Param("ue_px", ("unstruct_event",), "base64 json", "self-describing event"),
    Param("se_ca", ("se_category",), _T, "structured event category"),
    Param("se_ac", ("se_action",), _T, "structured event action"),
    Param("se_la", ("se_label",), _T, "structured event label"),
    Param("se_pr", ("se_property",), _T, "structured event property"),
    Param("se_va", ("se_value",), "decimal", "structured event value"),
    Param("ev_ca", ("se_category",), _T, "legacy spelling of se_ca"),
    Param("ev_ac", ("se_action",), _T, "legacy spelling of se_ac"),
    Param("ev_la", ("se_label",), _T, "legacy spelling of se_la"),
    Param("ev_pr", ("se_property",), _T, "legacy spelling of se_pr"),
    Param("ev_va", ("se_value",), "decimal", "legacy spelling of se_va"),
    Param("tr_id", ("tr_orderid",), _T, "transaction order id"),
    Param("tr_af", ("tr_affiliation",), _T, "transaction affiliation"),
    Param("tr_tt", ("tr_total",), "decimal", "transaction total"),
    Param("tr_tx", ("tr_tax",), "decimal", "transaction tax"),
    Param("tr_sh", ("tr_shipping",), "decimal", "transaction shipping"),
    Param("tr_ci", ("tr_city",), _T, "transaction city"),
    Param("tr_st", ("tr_state",), _T, "transaction state"),
    Param("tr_co", ("tr_country",), _T, "transaction country"),
    Param("tr_cu", ("tr_currency",), _T, "transaction currency"),
    Param("ti_id", ("ti_orderid",), _T, "item order id"),
    Param("ti_sk", ("ti_sku",), _T, "item SKU"),
    Param("ti_nm", ("ti_name",), _T, "item name"),
    Param("ti_na", ("ti_name",), _T, "item name (the spelling some trackers use)"),
    Param("ti_ca", ("ti_category",), _T, "item category"),
    Param("ti_pr", ("ti_price",), "decimal", "item price"),
    Param("ti_qu", ("ti_quantity",), "integer", "item quantity"),
    Param("ti_cu", ("ti_currency",), _T, "item currency"),
    Param("pp_mix", ("pp_xoffset_min",), "integer", "page ping: minimum horizontal offset"),
    Param("pp_max", ("pp_xoffset_max",), "integer", "page ping: maximum horizontal offset"),
    Param("pp_miy", ("pp_yoffset_min",), "integer", "page ping: minimum vertical offset"),
    Param("pp_may", ("pp_yoffset_max",), "integer", "page ping: maximum vertical offset"),
)
BY_PARAM: dict[str, Param] = {p.name: p for p in PARAMS}
#: parameters whose value another parameter of the same field beats when both are present
OUTRANKED: dict[str, str] = {"cx": "co", "ue_px": "ue_pr", "nuid": "tnuid", "ev_ca": "se_ca", "ev_ac": "se_ac",
                             "ev_la": "se_la", "ev_pr": "se_pr", "ev_va": "se_va", "ti_na": "ti_nm"}

#: tracker-protocol parameters the adapter reads but maps to no field of their own, and why
NOT_MAPPED: dict[str, str] = {
    "mac": "MAC address: no enriched field holds it (enrich does not map it either); kept in event_fingerprint",
    "evn": "legacy event vendor of tracker protocol 1: enrich ignores it; the vendor comes from the event's schema",
    "ad_ba, ad_ca, ad_ad, ad_uid": "legacy ad-impression fields: no enriched fields (trackers send ad events as "
                                   "self-describing events now)",
    "any other": "ignored, as enrich ignores parameters it does not know; kept in event_fingerprint",
}
