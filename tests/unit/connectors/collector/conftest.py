"""A validator over the project's example schemas and Iglu Central, both read from disk (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.collector.payload import CollectorPayload
from iglu_registry.repositories import EmbeddedRepository, RepositoryRef
from iglu_registry.resolver import Resolver
from iglu_registry.validation import SchemaValidator

ROOT = Path(__file__).resolve().parents[4]
ARRIVED = datetime(2024, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)


def validator_for(iglu_central: Path) -> SchemaValidator:
    """The example schemas (com.acme) first, then Iglu Central (payload_data and Snowplow's own schemas)."""
    return SchemaValidator(Resolver([
        EmbeddedRepository(RepositoryRef("examples", 0, ("com.acme",)), ROOT / "examples" / "iglu"),
        EmbeddedRepository(RepositoryRef("iglu-central", 1), iglu_central.parent)]))


@pytest.fixture(scope="session")
def validator(iglu_central: Path) -> SchemaValidator:
    return validator_for(iglu_central)


def get(querystring: str, **request: object) -> CollectorPayload:
    """A GET /i request as the collector would hand it over."""
    return CollectorPayload("GET", "/i", querystring, None, None, ARRIVED, **request)  # type: ignore[arg-type]
