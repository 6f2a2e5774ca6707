"""Marketing fields from the page URL: enrich's campaign attribution and cross-navigation enrichments.

With enrich's default configuration: ``utm_medium/source/term/content/campaign`` fill
``mkt_medium/source/term/content/campaign``, and the first click id present (in the order
``gclid``, ``msclkid``, ``dclid``) fills ``mkt_clickid`` with its network in ``mkt_network``. The
``_sp`` parameter a tracker adds when linking across domains (``<domain_userid>.<milliseconds>``)
fills ``refr_domain_userid`` and ``refr_dvce_tstamp``.
"""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qsl

from connectors.collector.params import Invalid, millis, text

#: enriched field -> the page-URL parameters that fill it, first present wins (enrich's defaults)
CAMPAIGN_FIELDS: dict[str, tuple[str, ...]] = {
    "mkt_medium": ("utm_medium",),
    "mkt_source": ("utm_source",),
    "mkt_term": ("utm_term",),
    "mkt_content": ("utm_content",),
    "mkt_campaign": ("utm_campaign",),
}
#: click-id parameter -> its network, in the order they are looked for
CLICK_IDS: dict[str, str] = {"gclid": "Google", "msclkid": "Microsoft", "dclid": "DoubleClick"}
CROSS_DOMAIN = "_sp"


def _query(query: str) -> dict[str, str]:
    return dict(parse_qsl(query, keep_blank_values=True, errors="replace"))


def attribution(query: str) -> dict[str, str]:
    """The ``mkt_*`` fields a page URL's (still encoded) query string gives."""
    params = _query(query)
    out = {}
    for name, sources in CAMPAIGN_FIELDS.items():
        value = next((params[s] for s in sources if params.get(s)), None)
        if value is not None:
            out[name] = text(value)
    for param, network in CLICK_IDS.items():
        if params.get(param):
            out.update(mkt_clickid=text(params[param]), mkt_network=network)
            break
    return out


def cross_domain(query: str) -> dict[str, str]:
    """``refr_domain_userid``/``refr_dvce_tstamp`` from ``_sp``; a timestamp that is not milliseconds is left out."""
    value = _query(query).get(CROSS_DOMAIN)
    if not value:
        return {}
    duid, _, moment = value.partition(".")
    out = {"refr_domain_userid": text(duid)} if duid else {}
    if moment:
        with contextlib.suppress(Invalid):
            out["refr_dvce_tstamp"] = millis(moment)
    return out
