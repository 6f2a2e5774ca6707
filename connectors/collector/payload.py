"""One HTTP request as the collector received it: what the raw stream carries and what bad rows keep.

The adapter (:mod:`connectors.collector.adapter`) turns a :class:`CollectorPayload` into enriched
events; a payload it cannot use becomes a bad row that holds the payload, so nothing a tracker sent
is lost. :meth:`CollectorPayload.to_json` is the raw stream's record and :meth:`CollectorPayload.from_json`
reads it back exactly (bytes of a body that is not UTF-8 included), so a raw topic can be replayed
through the adapter. :meth:`CollectorPayload.bad_row_payload` is the shape Snowplow's
``adapter_failures`` and ``tracker_protocol_violations`` schemas want, which cannot be read back
(it keeps the parameters decoded, not the request), hence two methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from toolkit.contract.badrows import TOOLKIT_PROCESSOR, escape_line, timestamp, unescape_line
from toolkit.pipeline.bad_rows import PARAMETER_MAX

#: the path Snowplow trackers POST batches to, and the vendor/version it names
TP2_PATH = "/com.snowplowanalytics.snowplow/tp2"
#: the paths of single GET events (tracker protocol 1)
TP1_PATHS = ("/i", "/ice.png")
SNOWPLOW_VENDOR = "com.snowplowanalytics.snowplow"
#: ``v_collector`` of the toolkit's own collector
DEFAULT_COLLECTOR = f"sptk-collector-{TOOLKIT_PROCESSOR.version}"


@dataclass(frozen=True, slots=True)
class CollectorPayload:
    """One request as the collector received it (what the raw stream can carry)."""

    method: str  #: "GET" or "POST"
    path: str  #: "/i", "/ice.png", "/com.snowplowanalytics.snowplow/tp2", or any other path
    querystring: str  #: raw, still percent-encoded ("" when none)
    body: bytes | None  #: already gunzipped; None for GET
    content_type: str | None
    collector_tstamp: datetime  #: aware UTC, when the request arrived
    ip: str | None = None  #: client IP (after X-Forwarded-For trust, decided by the server)
    user_agent: str | None = None
    referer: str | None = None
    network_userid: str | None = None  #: from the cookie, or a new one the server set; None when opted out
    hostname: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    collector: str = DEFAULT_COLLECTOR  #: v_collector

    @property
    def vendor_version(self) -> tuple[str, str]:
        """The adapter the path names, as bad rows record it: ``(vendor, version)``."""
        if self.path in TP1_PATHS:
            return SNOWPLOW_VENDOR, "tp1"
        parts = [p for p in self.path.split("/") if p]
        if len(parts) == 2:
            return parts[0][:64], parts[1][:16]
        return (parts[0][:64] if parts else "unknown"), "unknown"

    def parameters(self) -> list[tuple[str, str]]:
        """The query string's name/value pairs, decoded as UTF-8 (``+`` is a space), in order."""
        return parse_qsl(self.querystring, keep_blank_values=True, errors="replace")

    def body_text(self) -> str | None:
        """The body as text; bytes that are not UTF-8 read as ``\\xNN`` (see :func:`escape_line`)."""
        return None if self.body is None else escape_line(self.body)

    def to_json(self) -> dict[str, Any]:
        """The raw stream's record; :meth:`from_json` gives the same payload back."""
        return {
            "method": self.method,
            "path": self.path,
            "querystring": self.querystring,
            "body": self.body_text(),
            "contentType": self.content_type,
            "collectorTstamp": self.collector_tstamp.astimezone(UTC).isoformat(),
            "ipAddress": self.ip,
            "useragent": self.user_agent,
            "refererUri": self.referer,
            "networkUserId": self.network_userid,
            "hostname": self.hostname,
            "headers": [[name, value] for name, value in self.headers],
            "collector": self.collector,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> CollectorPayload:
        """Read :meth:`to_json`'s record back; ``ValueError``/``KeyError``/``TypeError`` for anything else."""
        body = obj["body"]
        tstamp = datetime.fromisoformat(obj["collectorTstamp"])
        if tstamp.tzinfo is None:
            raise ValueError("collectorTstamp must carry its time zone (the collector writes UTC)")
        return cls(
            method=obj["method"], path=obj["path"], querystring=obj["querystring"],
            body=None if body is None else unescape_line(body), content_type=obj["contentType"],
            collector_tstamp=tstamp.astimezone(UTC), ip=obj["ipAddress"], user_agent=obj["useragent"],
            referer=obj["refererUri"], network_userid=obj["networkUserId"], hostname=obj["hostname"],
            headers=tuple((str(n), str(v)) for n, v in obj["headers"]), collector=obj["collector"])

    def bad_row_payload(self, parameters: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        """The ``payload`` of an ``adapter_failures``/``tracker_protocol_violations`` bad row (Snowplow's shape).

        ``parameters`` replaces the querystring (one event of a batch). The schemas bound each
        text: a parameter value longer than 512 characters is split over several entries of
        its name, in order (as the pipeline's bad rows do); the other texts are cut to their
        bound (the raw stream's record keeps them whole).
        """
        vendor, version = self.vendor_version
        pairs = self.parameters() if parameters is None else parameters
        return {
            "vendor": vendor,
            "version": version,
            "querystring": [{"name": n[:PARAMETER_MAX], "value": v[i:i + PARAMETER_MAX]}
                            for n, v in pairs for i in range(0, max(len(v), 1), PARAMETER_MAX)],
            "contentType": _cut(self.content_type, 256),
            "body": self.body_text() if parameters is None else None,
            "collector": self.collector[:32],
            "encoding": "UTF-8",
            "hostname": _cut(self.hostname, 8192),
            "timestamp": timestamp(self.collector_tstamp),
            "ipAddress": _cut(self.ip, 128),
            "useragent": _cut(self.user_agent, 4096),
            "refererUri": _cut(self.referer, 8192),
            "headers": [f"{n}: {v}"[:8192] for n, v in self.headers],
            "networkUserId": self.network_userid,
        }


def _cut(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]
