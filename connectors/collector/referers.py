"""refr_medium/source/term: Snowplow's referer-parser lookup over Snowplow's referers data.

No referer-parser library for Python is maintained (the two on the package index stopped in 2016
and 2021), so the lookup is implemented here as Snowplow's referer-parser does it, over Snowplow's
own ``referers.json``, which ``scripts/referer-data`` (run by ``scripts/setup``) puts in
``.cache/referer-parser/``; ``SPTK_REFERERS_FILE`` names another copy. The rules:

* a referrer on the page's own host is ``internal`` (no source, no term);
* otherwise the referrer's host and path are looked up (host + whole path, host + first path
  segment, host; then again without the leftmost subdomain): a hit gives the medium (``search``,
  ``social``, ``email``, ``unknown``) and the source's name, and for search engines the term, the
  first query parameter the engine is known to use;
* no hit is medium ``unknown``;
* a referrer that is not ``http``/``https`` gets no fields.

Without the data file the enrichment is off, as in enrich without its configuration: the three
fields stay empty (one warning in the log says why).
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl

import orjson

from connectors.collector.params import text
from connectors.collector.urls import UrlParts
from toolkit.contract.fields import BY_NAME

log = logging.getLogger(__name__)
ENVIRONMENT = "SPTK_REFERERS_FILE"
DEFAULT_FILE = Path(__file__).resolve().parents[2] / ".cache" / "referer-parser" / "referers.json"


class Referers:
    """The referers data as a lookup table: ``host[/path]`` -> (medium, source, search parameters)."""

    def __init__(self, data: dict[str, dict[str, dict[str, list[str]]]]) -> None:
        self.by_domain: dict[str, tuple[str, str, tuple[str, ...]]] = {}
        for medium, sources in data.items():
            for source, spec in sources.items():
                for domain in spec.get("domains", ()):
                    self.by_domain[domain] = (medium, source, tuple(spec.get("parameters", ())))

    @classmethod
    def load(cls, path: Path) -> Referers:
        return cls(orjson.loads(path.read_bytes()))

    def find(self, host: str, path: str) -> tuple[str, str, tuple[str, ...]] | None:
        segments = path.split("/")
        while host:
            for candidate in (host + path, f"{host}/{segments[1]}" if len(segments) > 1 else None, host):
                if candidate and candidate in self.by_domain:
                    return self.by_domain[candidate]
            host = host.partition(".")[2]
        return None

    def classify(self, refr: UrlParts, page_host: str | None) -> dict[str, str]:
        """``refr_medium``/``refr_source``/``refr_term`` for a referrer seen on a page of ``page_host``."""
        if refr.scheme not in ("http", "https"):
            return {}
        if page_host is not None and refr.host == page_host:
            return {"refr_medium": "internal"}
        found = self.find(refr.host, refr.path)
        if found is None:
            return {"refr_medium": "unknown"}
        medium, source, parameters = found
        out = {"refr_medium": medium, "refr_source": _fit("refr_source", source)}
        if medium == "search" and parameters:
            term = next((v for k, v in parse_qsl(refr.query, keep_blank_values=True, errors="replace")
                         if k in parameters), None)
            if term:
                out["refr_term"] = _fit("refr_term", term)
        return out


def _fit(name: str, value: str) -> str:
    limit = BY_NAME[name].max_length
    value = text(value)
    return value[:limit] if limit else value


@lru_cache(maxsize=1)
def referers() -> Referers | None:
    """The referers data the adapter uses, or None (with a warning) when there is none."""
    path = Path(os.environ.get(ENVIRONMENT) or DEFAULT_FILE)
    try:
        return Referers.load(path)
    except FileNotFoundError:
        log.warning("referer data %s is absent: refr_medium, refr_source and refr_term stay empty. Run "
                    "scripts/referer-data (scripts/setup does), or set %s to a referers.json", path, ENVIRONMENT)
    except (OSError, orjson.JSONDecodeError, AttributeError, TypeError) as exc:
        log.warning("referer data %s cannot be read (%s): refr_medium, refr_source and refr_term stay empty; "
                    "replace it with Snowplow's referers.json (scripts/referer-data)", path, exc)
    return None


def classify(refr: UrlParts, page_host: str | None) -> dict[str, str]:
    """The referer-parser fields, with the data :func:`referers` loads (none without it)."""
    table = referers()
    return {} if table is None else table.classify(refr, page_host)
