"""Realistic enriched-event samples for the demo, the benchmarks and the tests.

The demo and the benchmarks need volumes of events no fixture holds, shaped like a
real web pipeline's output: several event types, users with sessions, custom and
derived contexts, a few lines that fail to parse, a few that violate their schema,
late arrivals and natural duplicates. Every event refers only to the project's own
example schemas (``examples/iglu/schemas``), so they validate without a network.
Generation is deterministic for a given spec, so a test can rely on exact counts.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from toolkit.contract.fields import BY_NAME, FIELD_COUNT

EXAMPLE_VENDOR = "com.acme"
CONTEXTS_WRAPPER = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0"
DERIVED_WRAPPER = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
UNSTRUCT_WRAPPER = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"

#: Kinds of deliberately bad lines, by the stage that must catch them.
PARSE_FAILURES = ("field_count", "bad_timestamp", "bad_event_id", "broken_json", "bad_int")
SCHEMA_FAILURES = ("missing_required", "out_of_range", "unknown_schema")


@dataclass(frozen=True, slots=True)
class SampleSpec:
    events: int = 1000
    seed: int = 42
    start: datetime = datetime(2026, 11, 1, tzinfo=UTC)
    duration: timedelta = timedelta(hours=6)
    users: int = 200
    parse_failure_ratio: float = 0.01
    schema_failure_ratio: float = 0.01
    late_ratio: float = 0.01
    late_by: timedelta = timedelta(hours=3)
    duplicate_ratio: float = 0.005
    app_ids: tuple[str, ...] = ("acme-web", "acme-shop")


@dataclass(slots=True)
class SampleStats:
    """What a generated sample contains, so a test or the demo can check the pipeline's accounting."""

    lines: int = 0
    by_event: dict[str, int] = field(default_factory=dict)
    parse_failures: dict[str, int] = field(default_factory=dict)
    schema_failures: dict[str, int] = field(default_factory=dict)
    late: int = 0
    duplicates: int = 0

    @property
    def expected_good(self) -> int:
        return self.lines - sum(self.parse_failures.values()) - sum(self.schema_failures.values())


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def _sdj(schema: str, data: object) -> dict[str, object]:
    return {"schema": schema, "data": data}


def _compact(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class _Generator:
    def __init__(self, spec: SampleSpec, stats: SampleStats) -> None:
        self.spec = spec
        self.stats = stats
        self.rng = random.Random(spec.seed)
        self.users = [
            (str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
             str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
             self.rng.random() < 0.8)  # domain_userid, network_userid, analytics consent
            for _ in range(spec.users)
        ]
        self.sessions: dict[int, tuple[str, int]] = {}

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def event(self, index: int) -> tuple[list[str], str]:
        rng, spec = self.rng, self.spec
        row = [""] * FIELD_COUNT

        def put(name: str, value: object) -> None:
            row[BY_NAME[name].position] = str(value)

        offset = spec.duration * (index / max(1, spec.events))
        collector = spec.start + offset + timedelta(milliseconds=rng.randint(0, 999))
        user_index = rng.randrange(len(self.users))
        domain_userid, network_userid, consent = self.users[user_index]
        if user_index not in self.sessions or rng.random() < 0.05:
            count = self.sessions.get(user_index, ("", 0))[1] + 1
            self.sessions[user_index] = (self._uuid(), count)
        session_id, session_idx = self.sessions[user_index]

        kind = rng.choices(
            ["page_view", "page_ping", "struct", "button_click", "checkout_step", "transaction"],
            weights=[50, 15, 10, 15, 5, 5],
        )[0]
        put("app_id", rng.choice(spec.app_ids))
        put("platform", "web")
        put("etl_tstamp", _ts(collector + timedelta(seconds=2)))
        put("collector_tstamp", _ts(collector))
        put("dvce_created_tstamp", _ts(collector - timedelta(milliseconds=rng.randint(5, 900))))
        put("dvce_sent_tstamp", _ts(collector - timedelta(milliseconds=rng.randint(1, 5))))
        put("derived_tstamp", _ts(collector - timedelta(milliseconds=rng.randint(1, 5))))
        put("event_id", self._uuid())
        put("name_tracker", "sp")
        put("v_tracker", "js-3.24.2")
        put("v_collector", "ssc-3.2.0-kafka")
        put("v_etl", "snowplow-enrich-kafka-5.1.0")
        put("user_ipaddress", f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
        put("domain_userid", domain_userid)
        put("network_userid", network_userid)
        put("domain_sessionid", session_id)
        put("domain_sessionidx", session_idx)
        if rng.random() < 0.3:
            put("user_id", f"customer-{user_index}")
        put("geo_country", rng.choice(["DE", "FR", "GB", "US", "NL"]))
        put("geo_latitude", f"{rng.uniform(-60, 60):.4f}")
        put("geo_longitude", f"{rng.uniform(-120, 120):.4f}")
        path = rng.choice(["/", "/shop", "/shop/boots", "/cart", "/checkout", "/blog/winter-sale"])
        put("page_url", f"https://www.acme.example{path}")
        put("page_urlscheme", "https")
        put("page_urlhost", "www.acme.example")
        put("page_urlport", 443)
        put("page_urlpath", path)
        put("page_title", f"Acme | {path.strip('/') or 'home'}")
        put("useragent", "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0")
        put("br_lang", "en-GB")
        put("br_cookies", "1")
        put("br_viewwidth", rng.choice([1280, 1440, 390, 412]))
        put("br_viewheight", rng.choice([720, 900, 844]))
        put("os_timezone", "Europe/Berlin")
        put("dvce_ismobile", rng.choice(["0", "1"]))
        put("dvce_screenwidth", 1920)
        put("dvce_screenheight", 1080)
        put("doc_charset", "UTF-8")

        contexts = [_sdj(f"iglu:{EXAMPLE_VENDOR}/consent/jsonschema/1-0-0",
                         {"analytics": consent, "marketing": consent and rng.random() < 0.5})]
        event_name, event_schema_name = kind, kind
        if kind == "page_view":
            event, vendor = "page_view", "com.snowplowanalytics.snowplow"
            if path.startswith("/shop/"):
                contexts.append(self._product())
        elif kind == "page_ping":
            event, vendor = "page_ping", "com.snowplowanalytics.snowplow"
            for name in ("pp_xoffset_min", "pp_xoffset_max", "pp_yoffset_min", "pp_yoffset_max"):
                put(name, rng.randint(0, 2000))
        elif kind == "struct":
            event, vendor, event_name = "struct", "com.google.analytics", "event"
            put("se_category", "video")
            put("se_action", rng.choice(["play", "pause", "seek"]))
            put("se_label", "winter-campaign")
            put("se_value", rng.choice(["1", "2.5", "30"]))
        elif kind == "transaction":
            event, vendor = "transaction", "com.snowplowanalytics.snowplow"
            put("tr_orderid", f"order-{index}")
            put("tr_total", f"{rng.uniform(5, 500):.2f}")
            put("tr_tax", f"{rng.uniform(0, 50):.2f}")
            put("tr_currency", "EUR")
        else:
            event, vendor = "unstruct", EXAMPLE_VENDOR
            if kind == "button_click":
                data: dict[str, object] = {"id": rng.choice(["add-to-cart", "buy-now", "newsletter"]),
                                           "label": "Add to cart", "target_url": "https://www.acme.example/cart"}
                contexts.append(self._product())
            else:
                data = {"step": rng.randint(1, 4), "option": rng.choice(["card", "paypal", "invoice"])}
            put("unstruct_event", _compact(_sdj(UNSTRUCT_WRAPPER,
                                                _sdj(f"iglu:{EXAMPLE_VENDOR}/{kind}/jsonschema/1-0-0", data))))
        if kind in ("page_view", "page_ping", "transaction"):
            event_schema_name = kind
        put("event", event)
        put("event_vendor", vendor)
        put("event_name", event_name if kind != "struct" else "event")
        put("event_format", "jsonschema")
        put("event_version", "1-0-0")
        put("contexts", _compact(_sdj(CONTEXTS_WRAPPER, contexts)))
        put("derived_contexts", _compact(_sdj(DERIVED_WRAPPER, [
            _sdj(f"iglu:{EXAMPLE_VENDOR}/device_class/jsonschema/1-0-0",
                 {"class": rng.choice(["desktop", "mobile", "tablet"]), "confidence": round(rng.random(), 3)})])))
        digest = hashlib.md5("\t".join(row).encode(), usedforsecurity=False).hexdigest()
        put("event_fingerprint", digest)
        return row, event_schema_name

    def _product(self) -> dict[str, object]:
        sku = self.rng.choice(["BOOT-1", "BOOT-2", "SCARF-7", "HAT-3"])
        return _sdj(f"iglu:{EXAMPLE_VENDOR}/product/jsonschema/1-0-0",
                    {"sku": sku, "name": sku.title(), "price": round(self.rng.uniform(5, 200), 2),
                     "category": "winter"})

    def break_parse(self, row: list[str], how: str) -> str:
        if how == "field_count":
            return "\t".join(row[:100])
        if how == "bad_timestamp":
            row[BY_NAME["collector_tstamp"].position] = "2026-13-45 25:61:00.000"
        elif how == "bad_event_id":
            row[BY_NAME["event_id"].position] = "not-a-uuid"
        elif how == "broken_json":
            row[BY_NAME["contexts"].position] = row[BY_NAME["contexts"].position][:-7]
        elif how == "bad_int":
            row[BY_NAME["domain_sessionidx"].position] = "two"
        return "\t".join(row)

    def break_schema(self, row: list[str], how: str) -> str:
        contexts = BY_NAME["contexts"].position
        wrapper = json.loads(row[contexts])
        if how == "missing_required":
            wrapper["data"][0]["data"].pop("analytics")
        elif how == "out_of_range":
            wrapper["data"].append(_sdj(f"iglu:{EXAMPLE_VENDOR}/product/jsonschema/1-0-0",
                                        {"sku": "BROKEN", "price": -1}))
        elif how == "unknown_schema":
            wrapper["data"].append(_sdj(f"iglu:{EXAMPLE_VENDOR}/not_published_yet/jsonschema/1-0-0", {"x": 1}))
        row[contexts] = _compact(wrapper)
        return "\t".join(row)


def generate(spec: SampleSpec = SampleSpec(), stats: SampleStats | None = None) -> Iterator[str]:
    """Yield enriched TSV lines (without newline) in arrival order; fill ``stats`` as it goes.

    Late events carry a ``collector_tstamp`` ``spec.late_by`` earlier than their
    neighbours, as they would after a tracker's offline queue flushes.
    """
    stats = stats if stats is not None else SampleStats()
    gen = _Generator(spec, stats)
    rng = random.Random(spec.seed + 1)  # separate stream: changing ratios keeps the events themselves
    for index in range(spec.events):
        row, name = gen.event(index)
        roll = rng.random()
        if roll < spec.parse_failure_ratio:
            bucket, how = stats.parse_failures, PARSE_FAILURES[index % len(PARSE_FAILURES)]
            line = gen.break_parse(row, how)
        elif roll < spec.parse_failure_ratio + spec.schema_failure_ratio:
            bucket, how = stats.schema_failures, SCHEMA_FAILURES[index % len(SCHEMA_FAILURES)]
            line = gen.break_schema(row, how)
        else:
            if rng.random() < spec.late_ratio:
                position = BY_NAME["collector_tstamp"].position
                late = datetime.strptime(row[position], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
                row[position] = _ts(late - spec.late_by)
                stats.late += 1
            bucket, how = stats.by_event, name
            line = "\t".join(row)
        copies = 2 if rng.random() < spec.duplicate_ratio else 1
        stats.duplicates += copies - 1
        for _ in range(copies):
            bucket[how] = bucket.get(how, 0) + 1
            stats.lines += 1
            yield line
