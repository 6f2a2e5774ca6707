"""Page and referer URLs split into the enriched ``*_urlscheme/host/port/path/query/fragment`` fields.

As enrich's ``explodeUri`` does: path, query and fragment stay percent-encoded as sent, and a URL
without a port gets its scheme's default (443 for ``https``, 80 for anything else).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from connectors.collector.params import Invalid, text


@dataclass(frozen=True, slots=True)
class UrlParts:
    scheme: str
    host: str
    port: int
    path: str
    query: str
    fragment: str

    def fields(self, prefix: str) -> dict[str, str]:
        """The six enriched fields for ``prefix`` (``page`` or ``refr``), empty parts as ``""``."""
        return {f"{prefix}_urlscheme": self.scheme, f"{prefix}_urlhost": self.host,
                f"{prefix}_urlport": str(self.port), f"{prefix}_urlpath": self.path,
                f"{prefix}_urlquery": self.query, f"{prefix}_urlfragment": self.fragment}


def split(url: str) -> SplitResult:
    """``urlsplit`` with enrich's one repair (a space becomes ``%20``); :class:`Invalid` when it is no URL."""
    try:
        return urlsplit(url.strip().replace(" ", "%20"))
    except ValueError as exc:
        raise Invalid(f"a URL ({exc})") from None


def explode(url: str) -> UrlParts | None:
    """The parts of an absolute URL; None for one without scheme or host (enrich leaves those fields empty too)."""
    parts = split(url)
    if not parts.scheme or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        raise Invalid("a URL whose port is a number from 0 to 65535") from None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    return UrlParts(parts.scheme, parts.hostname, port, text(parts.path), text(parts.query), text(parts.fragment))
