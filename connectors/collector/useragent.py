"""Browser and OS fields from the user agent, parsed with ``ua-parser`` (the uap-core rules).

Snowplow filled the ``br_*``/``os_*``/``dvce_*`` columns with its user-agent-utils enrichment,
whose library is abandoned; its successor, the ua-parser enrichment, reads the same uap-core rules
as the ``ua-parser`` package but writes a context instead of columns. So the columns here carry
ua-parser's answers where they mean the same thing: ``br_family`` (``Chrome``), ``br_version``
(``120.0.0``), ``br_name`` (family and major version, ``Chrome 120``, as user-agent-utils named
browsers), ``os_family`` (``Mac OS X``) and ``os_name`` (family and major version). uap-core has no
answer for ``br_type``, ``br_renderengine``, ``os_manufacturer``, ``dvce_type`` or
``dvce_ismobile``, so those stay empty rather than guessed.
"""

from __future__ import annotations

from functools import lru_cache

from ua_parser import parse

from connectors.collector.params import text
from toolkit.contract.fields import BY_NAME

#: fields this module fills, for the parameter table's documentation
FILLED = ("br_name", "br_family", "br_version", "os_name", "os_family")
NOT_FILLED = ("br_type", "br_renderengine", "os_manufacturer", "dvce_type", "dvce_ismobile")


def _fit(name: str, value: str) -> str:
    limit = BY_NAME[name].max_length
    value = text(value)
    return value[:limit] if limit else value


def _joined(*parts: str | None) -> str:
    return ".".join(p for p in parts if p)


@lru_cache(maxsize=4096)
def fields(useragent: str) -> dict[str, str]:
    """The browser and OS fields for one user agent (real traffic repeats a few, hence the cache)."""
    result = parse(useragent)
    out: dict[str, str] = {}
    browser = result.user_agent
    if browser is not None and browser.family != "Other":
        out["br_family"] = browser.family
        out["br_version"] = _joined(browser.major, browser.minor, browser.patch)
        out["br_name"] = f"{browser.family} {browser.major}" if browser.major else browser.family
    system = result.os
    if system is not None and system.family != "Other":
        out["os_family"] = system.family
        out["os_name"] = f"{system.family} {system.major}" if system.major else system.family
    return {name: _fit(name, value) for name, value in out.items() if value}
