"""The one table of the 131 enriched-event fields.

Parsing, serialisation, routing field checks and warehouse DDL all read this
table, so a field's position, name and type are defined exactly once. Column
names follow the warehouse (``atomic.events``); where Snowplow's Python
analytics SDK spells a field differently, ``python_sdk_name`` records it so the
``python-sdk`` JSON profile can reproduce it. ``max_length`` comes from Iglu
Central's ``iglu:com.snowplowanalytics.snowplow/atomic/jsonschema/1-0-0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class FieldKind(Enum):
    """How a field's TSV text is typed."""

    STRING = "string"
    UUID = "uuid"
    INT = "int"
    DOUBLE = "double"
    BOOL = "bool"
    TSTAMP = "tstamp"
    CONTEXTS = "contexts"
    UNSTRUCT = "unstruct"
    DERIVED_CONTEXTS = "derived_contexts"

    @property
    def is_self_describing(self) -> bool:
        return self in (FieldKind.CONTEXTS, FieldKind.UNSTRUCT, FieldKind.DERIVED_CONTEXTS)


@dataclass(frozen=True, slots=True)
class Field:
    position: int
    name: str
    kind: FieldKind
    max_length: int | None = None
    required: bool = False
    python_sdk_name: str | None = None

    @property
    def sdk_name(self) -> str:
        """The key Snowplow's Python/JS/Go SDKs use for this field."""
        return self.python_sdk_name or self.name


FIELDS: tuple[Field, ...] = (
    Field(0, 'app_id', FieldKind.STRING, max_length=255),
    Field(1, 'platform', FieldKind.STRING, max_length=255),
    Field(2, 'etl_tstamp', FieldKind.TSTAMP),
    Field(3, 'collector_tstamp', FieldKind.TSTAMP, required=True),
    Field(4, 'dvce_created_tstamp', FieldKind.TSTAMP),
    Field(5, 'event', FieldKind.STRING, max_length=128),
    Field(6, 'event_id', FieldKind.UUID, required=True),
    Field(7, 'txn_id', FieldKind.INT),
    Field(8, 'name_tracker', FieldKind.STRING, max_length=128),
    Field(9, 'v_tracker', FieldKind.STRING, max_length=100),
    Field(10, 'v_collector', FieldKind.STRING, max_length=100, required=True),
    Field(11, 'v_etl', FieldKind.STRING, max_length=100, required=True),
    Field(12, 'user_id', FieldKind.STRING, max_length=255),
    Field(13, 'user_ipaddress', FieldKind.STRING, max_length=128),
    Field(14, 'user_fingerprint', FieldKind.STRING, max_length=128),
    Field(15, 'domain_userid', FieldKind.STRING, max_length=128),
    Field(16, 'domain_sessionidx', FieldKind.INT),
    Field(17, 'network_userid', FieldKind.STRING, max_length=128),
    Field(18, 'geo_country', FieldKind.STRING, max_length=2),
    Field(19, 'geo_region', FieldKind.STRING, max_length=3),
    Field(20, 'geo_city', FieldKind.STRING, max_length=75),
    Field(21, 'geo_zipcode', FieldKind.STRING, max_length=15),
    Field(22, 'geo_latitude', FieldKind.DOUBLE),
    Field(23, 'geo_longitude', FieldKind.DOUBLE),
    Field(24, 'geo_region_name', FieldKind.STRING, max_length=100),
    Field(25, 'ip_isp', FieldKind.STRING, max_length=100),
    Field(26, 'ip_organization', FieldKind.STRING, max_length=128),
    Field(27, 'ip_domain', FieldKind.STRING, max_length=128),
    Field(28, 'ip_netspeed', FieldKind.STRING, max_length=100),
    Field(29, 'page_url', FieldKind.STRING, max_length=4096),
    Field(30, 'page_title', FieldKind.STRING, max_length=2000),
    Field(31, 'page_referrer', FieldKind.STRING, max_length=4096),
    Field(32, 'page_urlscheme', FieldKind.STRING, max_length=16),
    Field(33, 'page_urlhost', FieldKind.STRING, max_length=255),
    Field(34, 'page_urlport', FieldKind.INT),
    Field(35, 'page_urlpath', FieldKind.STRING, max_length=3000),
    Field(36, 'page_urlquery', FieldKind.STRING, max_length=6000),
    Field(37, 'page_urlfragment', FieldKind.STRING, max_length=3000),
    Field(38, 'refr_urlscheme', FieldKind.STRING, max_length=16),
    Field(39, 'refr_urlhost', FieldKind.STRING, max_length=255),
    Field(40, 'refr_urlport', FieldKind.INT),
    Field(41, 'refr_urlpath', FieldKind.STRING, max_length=6000),
    Field(42, 'refr_urlquery', FieldKind.STRING, max_length=6000),
    Field(43, 'refr_urlfragment', FieldKind.STRING, max_length=3000),
    Field(44, 'refr_medium', FieldKind.STRING, max_length=25),
    Field(45, 'refr_source', FieldKind.STRING, max_length=50),
    Field(46, 'refr_term', FieldKind.STRING, max_length=255),
    Field(47, 'mkt_medium', FieldKind.STRING, max_length=255),
    Field(48, 'mkt_source', FieldKind.STRING, max_length=255),
    Field(49, 'mkt_term', FieldKind.STRING, max_length=255),
    Field(50, 'mkt_content', FieldKind.STRING, max_length=500),
    Field(51, 'mkt_campaign', FieldKind.STRING, max_length=255),
    Field(52, 'contexts', FieldKind.CONTEXTS),
    Field(53, 'se_category', FieldKind.STRING, max_length=1000),
    Field(54, 'se_action', FieldKind.STRING, max_length=1000),
    Field(55, 'se_label', FieldKind.STRING, max_length=4096),
    Field(56, 'se_property', FieldKind.STRING, max_length=1000),
    Field(57, 'se_value', FieldKind.DOUBLE),
    Field(58, 'unstruct_event', FieldKind.UNSTRUCT),
    Field(59, 'tr_orderid', FieldKind.STRING, max_length=255),
    Field(60, 'tr_affiliation', FieldKind.STRING, max_length=255),
    Field(61, 'tr_total', FieldKind.DOUBLE),
    Field(62, 'tr_tax', FieldKind.DOUBLE),
    Field(63, 'tr_shipping', FieldKind.DOUBLE),
    Field(64, 'tr_city', FieldKind.STRING, max_length=255),
    Field(65, 'tr_state', FieldKind.STRING, max_length=255),
    Field(66, 'tr_country', FieldKind.STRING, max_length=255),
    Field(67, 'ti_orderid', FieldKind.STRING, max_length=255),
    Field(68, 'ti_sku', FieldKind.STRING, max_length=255),
    Field(69, 'ti_name', FieldKind.STRING, max_length=255),
    Field(70, 'ti_category', FieldKind.STRING, max_length=255),
    Field(71, 'ti_price', FieldKind.DOUBLE),
    Field(72, 'ti_quantity', FieldKind.INT),
    Field(73, 'pp_xoffset_min', FieldKind.INT),
    Field(74, 'pp_xoffset_max', FieldKind.INT),
    Field(75, 'pp_yoffset_min', FieldKind.INT),
    Field(76, 'pp_yoffset_max', FieldKind.INT),
    Field(77, 'useragent', FieldKind.STRING, max_length=1000),
    Field(78, 'br_name', FieldKind.STRING, max_length=50),
    Field(79, 'br_family', FieldKind.STRING, max_length=50),
    Field(80, 'br_version', FieldKind.STRING, max_length=50),
    Field(81, 'br_type', FieldKind.STRING, max_length=50),
    Field(82, 'br_renderengine', FieldKind.STRING, max_length=50),
    Field(83, 'br_lang', FieldKind.STRING, max_length=255),
    Field(84, 'br_features_pdf', FieldKind.BOOL),
    Field(85, 'br_features_flash', FieldKind.BOOL),
    Field(86, 'br_features_java', FieldKind.BOOL),
    Field(87, 'br_features_director', FieldKind.BOOL),
    Field(88, 'br_features_quicktime', FieldKind.BOOL),
    Field(89, 'br_features_realplayer', FieldKind.BOOL),
    Field(90, 'br_features_windowsmedia', FieldKind.BOOL),
    Field(91, 'br_features_gears', FieldKind.BOOL),
    Field(92, 'br_features_silverlight', FieldKind.BOOL),
    Field(93, 'br_cookies', FieldKind.BOOL),
    Field(94, 'br_colordepth', FieldKind.STRING, max_length=12),
    Field(95, 'br_viewwidth', FieldKind.INT),
    Field(96, 'br_viewheight', FieldKind.INT),
    Field(97, 'os_name', FieldKind.STRING, max_length=50),
    Field(98, 'os_family', FieldKind.STRING, max_length=50),
    Field(99, 'os_manufacturer', FieldKind.STRING, max_length=50),
    Field(100, 'os_timezone', FieldKind.STRING, max_length=255),
    Field(101, 'dvce_type', FieldKind.STRING, max_length=50),
    Field(102, 'dvce_ismobile', FieldKind.BOOL),
    Field(103, 'dvce_screenwidth', FieldKind.INT),
    Field(104, 'dvce_screenheight', FieldKind.INT),
    Field(105, 'doc_charset', FieldKind.STRING, max_length=128),
    Field(106, 'doc_width', FieldKind.INT),
    Field(107, 'doc_height', FieldKind.INT),
    Field(108, 'tr_currency', FieldKind.STRING, max_length=3),
    Field(109, 'tr_total_base', FieldKind.DOUBLE),
    Field(110, 'tr_tax_base', FieldKind.DOUBLE),
    Field(111, 'tr_shipping_base', FieldKind.DOUBLE),
    Field(112, 'ti_currency', FieldKind.STRING, max_length=3),
    Field(113, 'ti_price_base', FieldKind.DOUBLE),
    Field(114, 'base_currency', FieldKind.STRING, max_length=3),
    Field(115, 'geo_timezone', FieldKind.STRING, max_length=64),
    Field(116, 'mkt_clickid', FieldKind.STRING, max_length=128),
    Field(117, 'mkt_network', FieldKind.STRING, max_length=64),
    Field(118, 'etl_tags', FieldKind.STRING, max_length=500),
    Field(119, 'dvce_sent_tstamp', FieldKind.TSTAMP),
    Field(120, 'refr_domain_userid', FieldKind.STRING, max_length=128),
    Field(121, 'refr_dvce_tstamp', FieldKind.TSTAMP, python_sdk_name='refr_device_tstamp'),
    Field(122, 'derived_contexts', FieldKind.DERIVED_CONTEXTS),
    Field(123, 'domain_sessionid', FieldKind.STRING, max_length=128),
    Field(124, 'derived_tstamp', FieldKind.TSTAMP),
    Field(125, 'event_vendor', FieldKind.STRING, max_length=1000),
    Field(126, 'event_name', FieldKind.STRING, max_length=1000),
    Field(127, 'event_format', FieldKind.STRING, max_length=128),
    Field(128, 'event_version', FieldKind.STRING, max_length=128),
    Field(129, 'event_fingerprint', FieldKind.STRING, max_length=128),
    Field(130, 'true_tstamp', FieldKind.TSTAMP),
)

FIELD_COUNT = len(FIELDS)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
for _f in FIELDS:
    if _f.python_sdk_name:
        BY_NAME.setdefault(_f.python_sdk_name, _f)
del _f

CONTEXTS = BY_NAME["contexts"].position
UNSTRUCT_EVENT = BY_NAME["unstruct_event"].position
DERIVED_CONTEXTS = BY_NAME["derived_contexts"].position
GEO_LATITUDE = BY_NAME["geo_latitude"].position
GEO_LONGITUDE = BY_NAME["geo_longitude"].position


def field(name: str) -> Field:
    """Look a field up by warehouse or SDK name, with an error that lists what exists."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(
            f"unknown enriched-event field {name!r}; known fields are: {', '.join(FIELD_NAMES)}"
        ) from None
