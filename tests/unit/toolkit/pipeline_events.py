"""Small hand-made enriched events and configs for the pipeline's unit tests (the project's own example schemas)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from iglu_registry.errors import ErrorKind, RegistryFailure
from iglu_registry.repositories import EmbeddedRepository, RepositoryRef
from iglu_registry.resolver import Resolver, ResolverSettings
from iglu_registry.schema_key import SchemaKey
from iglu_registry.validation import SchemaValidator
from toolkit.config.loading import parse_config
from toolkit.config.models import PipelineConfig
from toolkit.contract.event import EnrichedEvent
from toolkit.contract.fields import BY_NAME, FIELD_COUNT
from toolkit.contract.tsv import parse_line
from toolkit.pipeline.validate import EventValidator, RetryPolicy

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples" / "iglu"
CONTEXTS = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0"
DERIVED = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
UNSTRUCT = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"
PRODUCT = "iglu:com.acme/product/jsonschema/1-0-0"
CONSENT = "iglu:com.acme/consent/jsonschema/1-0-0"
CLICK = "iglu:com.acme/button_click/jsonschema/1-0-0"
CHECKOUT = "iglu:com.acme/checkout_step/jsonschema/1-0-0"
DEVICE = "iglu:com.acme/device_class/jsonschema/1-0-0"


def sdj(schema: str, data: Any) -> dict[str, Any]:
    return {"schema": schema, "data": data}


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def line(**fields: Any) -> str:
    """A valid enriched TSV line: required fields filled in, the given ones (by warehouse name) set.

    ``contexts``/``derived_contexts`` may be lists of entities and ``unstruct_event`` one entity:
    they are wrapped in their Snowplow wrappers.
    """
    row = [""] * FIELD_COUNT
    base: dict[str, Any] = {
        "app_id": "acme-web", "platform": "web", "collector_tstamp": "2026-11-01 10:00:00.123",
        "event": "page_view", "event_id": str(uuid.uuid4()), "v_collector": "ssc-3.2.0", "v_etl": "enrich-5.1.0",
        "domain_userid": "d-user-1", "network_userid": "n-user-1", "user_ipaddress": "10.0.0.1",
        "event_vendor": "com.snowplowanalytics.snowplow", "event_name": "page_view", "event_format": "jsonschema",
        "event_version": "1-0-0",
    }
    base.update(fields)
    for name, value in base.items():
        if value is None:
            continue
        if name in ("contexts", "derived_contexts") and isinstance(value, list):
            value = compact(sdj(CONTEXTS if name == "contexts" else DERIVED, value))
        elif name == "unstruct_event" and isinstance(value, dict):
            value = compact(sdj(UNSTRUCT, value))
        row[BY_NAME[name].position] = str(value)
    return "\t".join(row)


def event(**fields: Any) -> EnrichedEvent:
    parsed = parse_line(line(**fields))
    assert isinstance(parsed, EnrichedEvent), parsed
    return parsed


def config(**sections: Any) -> PipelineConfig:
    """A files-output config over the example registry, with extra sections merged in."""
    data: dict[str, Any] = {"source": {"kind": "stdin"}, "iglu": {"resolver_config": str(EXAMPLES / "resolver.json")},
                            "output": {"target": "files:/tmp/sptk-unit-never-written"}}
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return parse_config(data, base_dir=ROOT, environ={"SPTK_PSEUDONYMISATION_KEY": "unit-test-key"})


class FlakyRepository:
    """The example schemas behind a switch: ``down = True`` makes every fetch a repository failure (no sockets)."""

    def __init__(self, name: str = "flaky registry") -> None:
        self.ref = RepositoryRef(name, 0)
        self.class_priority = 100
        self._inner = EmbeddedRepository(RepositoryRef("examples", 0), EXAMPLES)
        self.down = False
        self.fetches = 0

    def fetch(self, key: SchemaKey) -> dict:
        self.fetches += 1
        if self.down:
            raise RegistryFailure.of(ErrorKind.REPO_FAILURE, "cannot connect to http://registry.invalid: refused")
        return self._inner.fetch(key)

    def list_versions(self, vendor: str, name: str, format: str, model: int) -> list[SchemaKey]:
        if self.down:
            raise RegistryFailure.of(ErrorKind.REPO_FAILURE, "cannot connect to http://registry.invalid: refused")
        return self._inner.list_versions(vendor, name, format, model)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def flaky_validator(repo: FlakyRepository, clock: FakeClock, retry: RetryPolicy | None = None) -> EventValidator:
    retry = retry or RetryPolicy()
    resolver = Resolver([repo], cache_size=100, cache_ttl=600, settings=ResolverSettings(attempts_per_lookup=1),
                        clock=clock, sleep=clock.sleep)
    return EventValidator(SchemaValidator(resolver), retry, sleep=clock.sleep, clock=clock)
