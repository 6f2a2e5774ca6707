"""docs/collector.md's parameter table, rendered from the adapter's tables so the two cannot disagree.

``python -m connectors.collector.reference`` rewrites the part of docs/collector.md between
:data:`BEGIN` and :data:`END`; ``--check`` only says whether it is stale (exit 1). The rows come
from :data:`connectors.collector.params.PARAMS` (parameter → field), :data:`DERIVED` (fields the
request and the enrichments fill) and :data:`NOT_FILLED` (the rest of the 131, with the reason).
"""

from __future__ import annotations

import sys
from pathlib import Path

from connectors.collector import campaigns, useragent
from connectors.collector.adapter import FINGERPRINT_EXCLUDED
from connectors.collector.params import NOT_MAPPED, PARAMS, RULES
from toolkit.contract.fields import FIELD_NAMES

BEGIN = ("<!-- BEGIN parameter table: generated from connectors/collector/params.py by "
         "`python -m connectors.collector.reference` -->")
END = "<!-- END parameter table -->"
DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "collector.md"

_URL_PARTS = ("urlscheme", "urlhost", "urlport", "urlpath", "urlquery", "urlfragment")
#: enriched field -> what fills it when no parameter names it
DERIVED: dict[str, str] = {
    "collector_tstamp": "when the collector received the request",
    "etl_tstamp": "when the adapter ran",
    "v_collector": "the collector's name and version (`cv` overrides)",
    "v_etl": "`sptk-adapter-<version>`",
    "event_id": "a new UUID v4 when the tracker sent no `eid`",
    "user_ipaddress": "the request's client IP (`ip` overrides)",
    "useragent": "the request's User-Agent header (`ua` overrides)",
    "network_userid": "the collector's network-user-id cookie (`nuid`, `tnuid` override)",
    "page_url": "the request's Referer header when the tracker sent no `url`",
    **{f"page_{part}": "the page URL split; path, query and fragment stay encoded; port 443 for https, "
                       "80 otherwise when absent" for part in _URL_PARTS},
    **{f"refr_{part}": "the referrer URL (`refr`) split, as the page URL" for part in _URL_PARTS},
    "refr_medium": "referer parser: `internal` (same host as the page), `search`, `social`, `email`, `unknown`",
    "refr_source": "referer parser: the source's name (`Google`)",
    "refr_term": "referer parser: the search term, for search engines",
    **{name: f"page URL parameter {', '.join(f'`{s}`' for s in sources)}"
       for name, sources in campaigns.CAMPAIGN_FIELDS.items()},
    "mkt_clickid": f"page URL click id: the first of {', '.join(f'`{c}`' for c in campaigns.CLICK_IDS)}",
    "mkt_network": "the click id's network: " + ", ".join(f"`{c}` → {n}" for c, n in campaigns.CLICK_IDS.items()),
    "refr_domain_userid": "page URL `_sp` (cross-domain linking): the part before the dot",
    "refr_dvce_tstamp": "page URL `_sp`: the milliseconds after the dot",
    **{name: "user agent parsed with ua-parser (uap-core rules)" for name in useragent.FILLED},
    "event_vendor": "the event's schema: fixed for pv, pp, se, tr, ti; the self-describing event's for ue",
    "event_name": "as event_vendor",
    "event_format": "as event_vendor",
    "event_version": "as event_vendor",
    "derived_tstamp": "`true_tstamp` if set; else collector_tstamp - (dvce_sent_tstamp - dvce_created_tstamp) "
                      "when the device sent after it created; else collector_tstamp",
    "event_fingerprint": "MD5 hex of `name\\x1fvalue\\x1f` over the event's parameters sorted by name, "
                         f"except {', '.join(f'`{p}`' for p in sorted(FINGERPRINT_EXCLUDED))}",
}
#: enriched fields the adapter leaves empty, and why
NOT_FILLED: dict[str, str] = {
    **{name: "no IP lookups (no geo or ISP database)" for name in FIELD_NAMES
       if name.startswith(("geo_", "ip_"))},
    **{name: "uap-core has no answer for it (user-agent-utils, which filled it, is abandoned)"
       for name in useragent.NOT_FILLED},
    **{name: "no currency conversion enrichment (it needs an exchange-rate service)"
       for name in ("tr_total_base", "tr_tax_base", "tr_shipping_base", "ti_price_base", "base_currency")},
    "derived_contexts": "no enrichment here writes contexts",
    "etl_tags": "unused by enrich too",
}


def _codes(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def render_table() -> str:
    lines = ["### Tracker-protocol parameters", "",
             "| parameter | enriched field(s) | conversion | meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| `{p.name}` | {_codes(p.fields)} | {RULES[p.rule][1]} | {p.meaning} |" for p in PARAMS]
    lines += ["", "### Parameters not mapped", "", "| parameter | why |", "| --- | --- |"]
    lines += [f"| {_codes(name.split(', '))} | {why} |" for name, why in NOT_MAPPED.items()]
    lines += ["", "### Fields the request and the enrichments fill", "", "| enriched field | from |", "| --- | --- |"]
    lines += [f"| `{name}` | {source} |" for name, source in DERIVED.items()]
    lines += ["", "### Fields left empty", "", "| enriched field | why |", "| --- | --- |"]
    lines += [f"| `{name}` | {why} |" for name, why in NOT_FILLED.items()]
    return "\n".join(lines)


def update_document(text: str) -> str:
    """``text`` with the table between the markers replaced; ValueError when the markers are missing."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"docs/collector.md must hold the markers {BEGIN!r} and {END!r}, in that order")
    return text[:start + len(BEGIN)] + "\n" + render_table() + "\n" + text[end:]


def main(argv: list[str]) -> int:
    text = DOCUMENT.read_text(encoding="utf-8")
    updated = update_document(text)
    if "--check" in argv:
        if updated != text:
            print(f"{DOCUMENT} is stale: run `python -m connectors.collector.reference`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
