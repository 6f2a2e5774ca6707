"""The network user id: Snowplow's third-party ``sp`` cookie, read from a request and set on its answer.

The collector, not the tracker, owns this id: a browser sends the cookie to the
collector's domain from every site that embeds a tracker, so it follows a user across
sites where the tracker's own first-party ``domain_userid`` cannot. A request that
carries the opt-out header gets neither cookie nor id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from toolkit.config.inputs import CollectorCookieConfig


def cookie_value(headers: Mapping[str, str], name: str) -> str | None:
    """The value of cookie ``name`` in the request's ``Cookie`` header, if it carries a usable one."""
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:  # one malformed cookie of another site must not cost the user their id
        for part in raw.split(";"):
            key, _, value = part.strip().partition("=")
            if key == name and value:
                return value.strip('"')
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None and morsel.value else None


def cookie_domain(cfg: CollectorCookieConfig, headers: Mapping[str, str]) -> str | None:
    """The first configured domain the request's ``Origin`` host is (or is under), else the fallback."""
    origin = headers.get("origin", "")
    host = (urlsplit(origin).hostname or "") if origin else ""
    for domain in cfg.domains:
        bare = domain.lstrip(".").lower()
        if host == bare or host.endswith("." + bare):
            return domain
    return cfg.fallback_domain


@dataclass(frozen=True)
class NetworkUser:
    """The request's network user id, and the ``Set-Cookie`` value that keeps it (None: set none)."""

    network_userid: str | None
    set_cookie: str | None


def network_user(cfg: CollectorCookieConfig, headers: Mapping[str, str], opted_out: bool) -> NetworkUser:
    """The id the cookie holds (a new one when it holds none), renewed for ``max_age_s``."""
    if opted_out or not cfg.enabled:
        return NetworkUser(None, None)
    nuid = cookie_value(headers, cfg.name)
    if nuid is None or len(nuid) > 128:
        nuid = str(uuid.uuid4())
    parts = [f"{cfg.name}={nuid}", f"Max-Age={cfg.max_age_s}", "Path=/"]
    domain = cookie_domain(cfg, headers)
    if domain:
        parts.append(f"Domain={domain}")
    parts += ["SameSite=None", "Secure"] if cfg.secure else ["SameSite=Lax"]
    if cfg.http_only:
        parts.append("HttpOnly")
    return NetworkUser(nuid, "; ".join(parts))
