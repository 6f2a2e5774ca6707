"""CORS for the collector: browsers post events from any site, with the ``sp`` cookie attached.

A request sent with credentials is only readable (and, for a preflighted ``POST``, only
sent) when the answer names the page's origin exactly and allows credentials, so the
origin is echoed rather than ``*``, as Snowplow's own collector does.
"""

from __future__ import annotations

from collections.abc import Mapping

#: how long a browser may keep a preflight answer (Snowplow's collector uses the same hour)
PREFLIGHT_MAX_AGE_S = 3600


def cors_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers every collector answer carries: the request's origin echoed, credentials allowed."""
    return {"Access-Control-Allow-Origin": headers.get("origin") or "*",
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin"}


def preflight_headers(headers: Mapping[str, str], opt_out_header: str) -> dict[str, str]:
    """The answer to ``OPTIONS``: which methods and request headers a tracker may use."""
    asked = headers.get("access-control-request-headers")
    return {**cors_headers(headers),
            "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
            "Access-Control-Allow-Headers": asked or f"Content-Type, {opt_out_header}",
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S)}
