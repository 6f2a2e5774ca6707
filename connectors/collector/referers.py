"""refr_medium/source/term from the referrer URL (placeholder until the referer data is wired in)."""

from __future__ import annotations

from connectors.collector.urls import UrlParts


def classify(refr: UrlParts, page_host: str | None) -> dict[str, str]:
    if page_host is not None and refr.host == page_host:
        return {"refr_medium": "internal"}
    return {}
