"""A validator over the project's example schemas: the adapter's unit tests need no network and no shared data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.collector.payload import CollectorPayload
from iglu_registry.resolver import Resolver
from iglu_registry.validation import SchemaValidator

ROOT = Path(__file__).resolve().parents[4]
ARRIVED = datetime(2024, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)


@pytest.fixture(scope="session")
def validator() -> SchemaValidator:
    return SchemaValidator(Resolver.from_config(ROOT / "examples" / "iglu" / "resolver.json"))


def get(querystring: str, **request: object) -> CollectorPayload:
    """A GET /i request as the collector would hand it over."""
    return CollectorPayload("GET", "/i", querystring, None, None, ARRIVED, **request)  # type: ignore[arg-type]
