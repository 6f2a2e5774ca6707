//! The 131 enriched-event fields, in TSV order: a copy of `toolkit/fields.py`.
//!
//! `toolkit.native_codec` compares this table with the Python one when it loads the module and
//! refuses the native path if they differ, so a stale build can never type a field differently.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Str,
    Uuid,
    Int,
    Double,
    Bool,
    Tstamp,
    Contexts,
    Unstruct,
    DerivedContexts,
}

impl Kind {
    /// The `FieldKind` value of `toolkit/fields.py`.
    pub fn python_name(self) -> &'static str {
        match self {
            Kind::Str => "string",
            Kind::Uuid => "uuid",
            Kind::Int => "int",
            Kind::Double => "double",
            Kind::Bool => "bool",
            Kind::Tstamp => "tstamp",
            Kind::Contexts => "contexts",
            Kind::Unstruct => "unstruct",
            Kind::DerivedContexts => "derived_contexts",
        }
    }
}

pub struct F {
    pub name: &'static str,
    pub kind: Kind,
    /// 0 when the field has no limit
    pub max_length: usize,
    pub required: bool,
}

use Kind::*;

pub const FIELD_COUNT: usize = 131;

pub static FIELDS: [F; FIELD_COUNT] = [
    F { name: "app_id", kind: Str, max_length: 255, required: false },
    F { name: "platform", kind: Str, max_length: 255, required: false },
    F { name: "etl_tstamp", kind: Tstamp, max_length: 0, required: false },
    F { name: "collector_tstamp", kind: Tstamp, max_length: 0, required: true },
    F { name: "dvce_created_tstamp", kind: Tstamp, max_length: 0, required: false },
    F { name: "event", kind: Str, max_length: 128, required: false },
    F { name: "event_id", kind: Uuid, max_length: 0, required: true },
    F { name: "txn_id", kind: Int, max_length: 0, required: false },
    F { name: "name_tracker", kind: Str, max_length: 128, required: false },
    F { name: "v_tracker", kind: Str, max_length: 100, required: false },
    F { name: "v_collector", kind: Str, max_length: 100, required: true },
    F { name: "v_etl", kind: Str, max_length: 100, required: true },
    F { name: "user_id", kind: Str, max_length: 255, required: false },
    F { name: "user_ipaddress", kind: Str, max_length: 128, required: false },
    F { name: "user_fingerprint", kind: Str, max_length: 128, required: false },
    F { name: "domain_userid", kind: Str, max_length: 128, required: false },
    F { name: "domain_sessionidx", kind: Int, max_length: 0, required: false },
    F { name: "network_userid", kind: Str, max_length: 128, required: false },
    F { name: "geo_country", kind: Str, max_length: 2, required: false },
    F { name: "geo_region", kind: Str, max_length: 3, required: false },
    F { name: "geo_city", kind: Str, max_length: 75, required: false },
    F { name: "geo_zipcode", kind: Str, max_length: 15, required: false },
    F { name: "geo_latitude", kind: Double, max_length: 0, required: false },
    F { name: "geo_longitude", kind: Double, max_length: 0, required: false },
    F { name: "geo_region_name", kind: Str, max_length: 100, required: false },
    F { name: "ip_isp", kind: Str, max_length: 100, required: false },
    F { name: "ip_organization", kind: Str, max_length: 128, required: false },
    F { name: "ip_domain", kind: Str, max_length: 128, required: false },
    F { name: "ip_netspeed", kind: Str, max_length: 100, required: false },
    F { name: "page_url", kind: Str, max_length: 4096, required: false },
    F { name: "page_title", kind: Str, max_length: 2000, required: false },
    F { name: "page_referrer", kind: Str, max_length: 4096, required: false },
    F { name: "page_urlscheme", kind: Str, max_length: 16, required: false },
    F { name: "page_urlhost", kind: Str, max_length: 255, required: false },
    F { name: "page_urlport", kind: Int, max_length: 0, required: false },
    F { name: "page_urlpath", kind: Str, max_length: 3000, required: false },
    F { name: "page_urlquery", kind: Str, max_length: 6000, required: false },
    F { name: "page_urlfragment", kind: Str, max_length: 3000, required: false },
    F { name: "refr_urlscheme", kind: Str, max_length: 16, required: false },
    F { name: "refr_urlhost", kind: Str, max_length: 255, required: false },
    F { name: "refr_urlport", kind: Int, max_length: 0, required: false },
    F { name: "refr_urlpath", kind: Str, max_length: 6000, required: false },
    F { name: "refr_urlquery", kind: Str, max_length: 6000, required: false },
    F { name: "refr_urlfragment", kind: Str, max_length: 3000, required: false },
    F { name: "refr_medium", kind: Str, max_length: 25, required: false },
    F { name: "refr_source", kind: Str, max_length: 50, required: false },
    F { name: "refr_term", kind: Str, max_length: 255, required: false },
    F { name: "mkt_medium", kind: Str, max_length: 255, required: false },
    F { name: "mkt_source", kind: Str, max_length: 255, required: false },
    F { name: "mkt_term", kind: Str, max_length: 255, required: false },
    F { name: "mkt_content", kind: Str, max_length: 500, required: false },
    F { name: "mkt_campaign", kind: Str, max_length: 255, required: false },
    F { name: "contexts", kind: Contexts, max_length: 0, required: false },
    F { name: "se_category", kind: Str, max_length: 1000, required: false },
    F { name: "se_action", kind: Str, max_length: 1000, required: false },
    F { name: "se_label", kind: Str, max_length: 4096, required: false },
    F { name: "se_property", kind: Str, max_length: 1000, required: false },
    F { name: "se_value", kind: Double, max_length: 0, required: false },
    F { name: "unstruct_event", kind: Unstruct, max_length: 0, required: false },
    F { name: "tr_orderid", kind: Str, max_length: 255, required: false },
    F { name: "tr_affiliation", kind: Str, max_length: 255, required: false },
    F { name: "tr_total", kind: Double, max_length: 0, required: false },
    F { name: "tr_tax", kind: Double, max_length: 0, required: false },
    F { name: "tr_shipping", kind: Double, max_length: 0, required: false },
    F { name: "tr_city", kind: Str, max_length: 255, required: false },
    F { name: "tr_state", kind: Str, max_length: 255, required: false },
    F { name: "tr_country", kind: Str, max_length: 255, required: false },
    F { name: "ti_orderid", kind: Str, max_length: 255, required: false },
    F { name: "ti_sku", kind: Str, max_length: 255, required: false },
    F { name: "ti_name", kind: Str, max_length: 255, required: false },
    F { name: "ti_category", kind: Str, max_length: 255, required: false },
    F { name: "ti_price", kind: Double, max_length: 0, required: false },
    F { name: "ti_quantity", kind: Int, max_length: 0, required: false },
    F { name: "pp_xoffset_min", kind: Int, max_length: 0, required: false },
    F { name: "pp_xoffset_max", kind: Int, max_length: 0, required: false },
    F { name: "pp_yoffset_min", kind: Int, max_length: 0, required: false },
    F { name: "pp_yoffset_max", kind: Int, max_length: 0, required: false },
    F { name: "useragent", kind: Str, max_length: 1000, required: false },
    F { name: "br_name", kind: Str, max_length: 50, required: false },
    F { name: "br_family", kind: Str, max_length: 50, required: false },
    F { name: "br_version", kind: Str, max_length: 50, required: false },
    F { name: "br_type", kind: Str, max_length: 50, required: false },
    F { name: "br_renderengine", kind: Str, max_length: 50, required: false },
    F { name: "br_lang", kind: Str, max_length: 255, required: false },
    F { name: "br_features_pdf", kind: Bool, max_length: 0, required: false },
    F { name: "br_features_flash", kind: Bool, max_length: 0, required: false },
    F { name: "br_features_java", kind: Bool, max_length: 0, required: false },
    F { name: "br_features_director", kind: Bool, max_length: 0, required: false },
    F { name: "br_features_quicktime", kind: Bool, max_length: 0, required: false },
    F { name: "br_features_realplayer", kind: Bool, max_length: 0, required: false },
    F { name: "br_features_windowsmedia", kind: Bool, max_length: 0, required: false },
    F { name: "br_features_gears", kind: Bool, max_length: 0, required: false },
    F { name: "br_features_silverlight", kind: Bool, max_length: 0, required: false },
    F { name: "br_cookies", kind: Bool, max_length: 0, required: false },
    F { name: "br_colordepth", kind: Str, max_length: 12, required: false },
    F { name: "br_viewwidth", kind: Int, max_length: 0, required: false },
    F { name: "br_viewheight", kind: Int, max_length: 0, required: false },
    F { name: "os_name", kind: Str, max_length: 50, required: false },
    F { name: "os_family", kind: Str, max_length: 50, required: false },
    F { name: "os_manufacturer", kind: Str, max_length: 50, required: false },
    F { name: "os_timezone", kind: Str, max_length: 255, required: false },
    F { name: "dvce_type", kind: Str, max_length: 50, required: false },
    F { name: "dvce_ismobile", kind: Bool, max_length: 0, required: false },
    F { name: "dvce_screenwidth", kind: Int, max_length: 0, required: false },
    F { name: "dvce_screenheight", kind: Int, max_length: 0, required: false },
    F { name: "doc_charset", kind: Str, max_length: 128, required: false },
    F { name: "doc_width", kind: Int, max_length: 0, required: false },
    F { name: "doc_height", kind: Int, max_length: 0, required: false },
    F { name: "tr_currency", kind: Str, max_length: 3, required: false },
    F { name: "tr_total_base", kind: Double, max_length: 0, required: false },
    F { name: "tr_tax_base", kind: Double, max_length: 0, required: false },
    F { name: "tr_shipping_base", kind: Double, max_length: 0, required: false },
    F { name: "ti_currency", kind: Str, max_length: 3, required: false },
    F { name: "ti_price_base", kind: Double, max_length: 0, required: false },
    F { name: "base_currency", kind: Str, max_length: 3, required: false },
    F { name: "geo_timezone", kind: Str, max_length: 64, required: false },
    F { name: "mkt_clickid", kind: Str, max_length: 128, required: false },
    F { name: "mkt_network", kind: Str, max_length: 64, required: false },
    F { name: "etl_tags", kind: Str, max_length: 500, required: false },
    F { name: "dvce_sent_tstamp", kind: Tstamp, max_length: 0, required: false },
    F { name: "refr_domain_userid", kind: Str, max_length: 128, required: false },
    F { name: "refr_dvce_tstamp", kind: Tstamp, max_length: 0, required: false },
    F { name: "derived_contexts", kind: DerivedContexts, max_length: 0, required: false },
    F { name: "domain_sessionid", kind: Str, max_length: 128, required: false },
    F { name: "derived_tstamp", kind: Tstamp, max_length: 0, required: false },
    F { name: "event_vendor", kind: Str, max_length: 1000, required: false },
    F { name: "event_name", kind: Str, max_length: 1000, required: false },
    F { name: "event_format", kind: Str, max_length: 128, required: false },
    F { name: "event_version", kind: Str, max_length: 128, required: false },
    F { name: "event_fingerprint", kind: Str, max_length: 128, required: false },
    F { name: "true_tstamp", kind: Tstamp, max_length: 0, required: false },
];

pub const COLLECTOR_TSTAMP: usize = 3;
pub const EVENT_ID: usize = 6;
pub const DOMAIN_USERID: usize = 15;
pub const NETWORK_USERID: usize = 17;
pub const GEO_LATITUDE: usize = 22;
pub const GEO_LONGITUDE: usize = 23;
pub const CONTEXTS: usize = 52;
pub const UNSTRUCT_EVENT: usize = 58;
pub const DERIVED_CONTEXTS: usize = 122;
pub const EVENT_VENDOR: usize = 125;
pub const EVENT_FINGERPRINT: usize = 129;

/// Names the Python/JS/Go SDKs use where they differ from the warehouse column.
pub static ALIASES: [(&str, usize); 1] = [("refr_device_tstamp", 121)];

/// The position of a field by warehouse or SDK name.
pub fn position(name: &str) -> Option<usize> {
    FIELDS
        .iter()
        .position(|f| f.name == name)
        .or_else(|| ALIASES.iter().find(|(alias, _)| *alias == name).map(|(_, p)| *p))
}
