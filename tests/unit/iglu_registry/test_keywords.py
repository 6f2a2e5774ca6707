"""multipleOf in decimal, as Snowplow decides it, in both engines."""

from __future__ import annotations

import pytest

from iglu_registry.keywords import is_multiple_of
from iglu_registry.resolver import Resolver
from iglu_registry.schema_key import SchemaKey
from iglu_registry.validation import DataReport, SchemaValidator

KEY = SchemaKey.parse("iglu:com.acme/price/jsonschema/1-0-0")
SCHEMA = {"self": {"vendor": "com.acme", "name": "price", "format": "jsonschema", "version": "1-0-0"},
          "type": "object", "properties": {"price": {"type": "number", "multipleOf": 0.01},
                                           "count": {"type": "integer", "multipleOf": 5}}}


@pytest.mark.parametrize(("value", "by", "expected"), [
    (19.99, 0.01, True), (0.07, 0.01, True), (0.3, 0.1, True), (4.35, 0.05, True), (10, 0.01, True),
    (1e300, 0.01, True), (10 ** 20, 0.5, True), (-12.34, 0.01, True), (19.995, 0.01, False), (0.001, 0.01, False),
    (1e-300, 0.01, False), (7, 5, False), (-10, 5, True), (2 ** 70, 2, True), (7.5, 2.5, True), (7, 2.5, False),
])
def test_is_multiple_of_is_exact_on_the_written_number(value: float, by: float, expected: bool) -> None:
    assert is_multiple_of(value, by) is expected


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_both_engines_accept_prices_in_cents_and_report_the_rest_alike(engine: str) -> None:
    validator = SchemaValidator(Resolver.in_memory({KEY: SCHEMA}), engine=engine)  # type: ignore[arg-type]
    assert validator.validate(KEY, {"price": 19.99, "count": 15}) == []
    assert validator.validate(KEY, {"price": 19.995, "count": 7}) == [
        DataReport("$.count: 7 is not a multiple of 5", "$.count", "multipleOf", ("5",)),
        DataReport("$.price: 19.995 is not a multiple of 0.01", "$.price", "multipleOf", ("0.01",))]
