"""A registry that cannot answer: cached schemas keep flowing, the rest is retried, quarantined and replayed."""

from __future__ import annotations

import logging

import orjson
import pytest

from toolkit.kafka.headers import MessageHeaders
from toolkit.pipeline.bad_rows import is_retryable
from toolkit.pipeline.fanout import Pipeline
from toolkit.pipeline.outcomes import Invalid, Routed
from toolkit.pipeline.validate import RetryPolicy

from .pipeline_events import (
    CHECKOUT,
    CLICK,
    CONSENT,
    DEVICE,
    PRODUCT,
    FakeClock,
    FlakyRepository,
    config,
    flaky_validator,
    line,
    sdj,
)


def setup(retry: RetryPolicy | None = None) -> tuple[Pipeline, FlakyRepository, FakeClock]:
    repo, clock = FlakyRepository(), FakeClock()
    p = Pipeline(config(), flaky_validator(repo, clock, retry), pipeline_id="t")
    return p, repo, clock


def consent() -> dict:
    return sdj(CONSENT, {"analytics": True, "marketing": True})


def test_cached_schemas_flow_and_uncached_ones_are_retried_then_quarantined() -> None:
    p, repo, clock = setup(RetryPolicy(retries=2, backoff_s=0.5, hold_s=10))
    warm = line(contexts=[consent()])
    assert isinstance(p.process(warm.encode(), "s:1"), Routed)
    repo.down = True
    assert isinstance(p.process(line(contexts=[consent()]).encode(), "s:2"), Routed)  # cached: no registry needed
    assert clock.sleeps == []
    needs_product = line(contexts=[consent(), sdj(PRODUCT, {"sku": "A", "price": 1})])
    outcome = p.process(needs_product.encode(), "s:3")
    assert isinstance(outcome, Invalid) and outcome.quarantined and outcome.bad_type == "schema_violations"
    assert clock.sleeps == [0.5, 1.0]  # retried with backoff before quarantining
    headers = MessageHeaders.from_kafka(outcome.outputs[1].headers)
    assert (headers.error_class, headers.error_retryable, headers.error_stage) == ("RegistryUnavailable", True,
                                                                                    "validate")
    row = orjson.loads(outcome.outputs[1].value)
    assert is_retryable(row)
    message = row["data"]["failure"]["messages"][0]
    assert message["schemaKey"] == PRODUCT and message["error"]["error"] == "ResolutionError"
    assert message["error"]["lookupHistory"][0]["errors"][0]["error"] == "RepoFailure"
    # on hold: the next event needing that schema is quarantined at once, without stalling the stream
    assert isinstance(p.process(needs_product.replace("10:00:00", "10:00:01").encode(), "s:4"), Invalid)
    assert clock.sleeps == [0.5, 1.0]
    # after the hold the registry is tried again; it is back, so the event goes through
    clock.now += 11
    repo.down = False
    assert isinstance(p.process(needs_product.encode(), "s:5"), Routed)
    # and the quarantined row replays into enriched, without a second raw copy
    replayed = p.replay(outcome.outputs[1].value, "replay of bad:0")
    assert isinstance(replayed, Routed) and [o.stream for o in replayed.outputs] == ["enriched"]
    assert orjson.loads(replayed.outputs[0].value)["event_id"] == outcome.event_id


def test_a_registry_that_comes_back_during_the_retries_lets_the_event_through() -> None:
    p, repo, clock = setup(RetryPolicy(retries=3, backoff_s=1, hold_s=10))
    repo.down = True
    original = clock.sleep

    def heal_after_first_pause(seconds: float) -> None:
        original(seconds)
        repo.down = False
    clock.sleep = heal_after_first_pause  # type: ignore[method-assign]
    p.validator._sleep = heal_after_first_pause
    assert isinstance(p.process(line(contexts=[consent()]).encode(), "s:1"), Routed)


def test_a_permanent_problem_wins_over_an_unreachable_registry() -> None:
    p, repo, clock = setup(RetryPolicy(retries=0))
    assert isinstance(p.process(line(contexts=[consent()]).encode(), "s:0"), Routed)  # consent cached
    repo.down = True
    invalid_and_unreachable = line(contexts=[sdj(CONSENT, {"analytics": "yes"}),
                                             sdj(PRODUCT, {"sku": "A", "price": 1})])
    outcome = p.process(invalid_and_unreachable.encode(), "s:1")
    assert isinstance(outcome, Invalid) and not outcome.quarantined
    assert MessageHeaders.from_kafka(outcome.outputs[1].headers).error_class == "SchemaViolation"
    assert not is_retryable(orjson.loads(outcome.outputs[1].value))


def test_a_schema_no_repository_has_is_permanent_not_quarantined() -> None:
    p, repo, clock = setup()
    outcome = p.process(line(unstruct_event=sdj("iglu:com.acme/unknown/jsonschema/1-0-0", {}),
                             event="unstruct").encode(), "s:1")
    assert isinstance(outcome, Invalid) and not outcome.quarantined and clock.sleeps == []
    assert "schema not found in any repository" in outcome.reason


def test_the_unstructured_event_schema_is_validated_too() -> None:
    p, _, _ = setup()
    assert isinstance(p.process(line(unstruct_event=sdj(CLICK, {"id": "x"}), event="unstruct").encode(), "s:1"),
                      Routed)
    wrong = p.process(line(unstruct_event=sdj(CHECKOUT, {"step": "two"}), event="unstruct").encode(), "s:2")
    assert isinstance(wrong, Invalid) and "unstruct_event.data" in wrong.reason


def test_an_outage_stalls_once_per_schema_then_quarantines_without_pausing_until_the_registry_answers(
        caplog: pytest.LogCaptureFixture) -> None:
    """A round over the schemas takes longer than the hold: the holds must not expire into a new stall each."""
    p, repo, clock = setup(RetryPolicy(retries=2, backoff_s=0.5, hold_s=1.0))
    assert isinstance(p.process(line(contexts=[]).encode(), "s:0"), Routed)  # the contexts wrapper is cached
    repo.down = True
    entities = [sdj(PRODUCT, {"sku": "A", "price": 1}), consent(), sdj(DEVICE, {"class": "mobile", "confidence": 1}),
                sdj(CHECKOUT, {"step": 2})]
    caplog.set_level(logging.INFO, logger="toolkit.pipeline.validate")
    outcomes = []
    for i in range(40):
        clock.now += 0.25  # time passes between events: every hold runs out several times
        outcomes.append(p.process(line(contexts=[entities[i % 4]]).encode(), f"s:{i + 1}"))
    assert all(isinstance(o, Invalid) and o.quarantined for o in outcomes)
    assert clock.sleeps == [0.5, 1.0] * 4  # one stall per schema, in the first round only
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert sorted(r.schema for r in warnings) == sorted(e["schema"] for e in entities)  # type: ignore[attr-defined]

    repo.down = False
    clock.now += 61  # the resolver asks a failing registry again after its backoff (at most 60 s)
    for i, entity in enumerate(entities):
        clock.now += 1
        assert isinstance(p.process(line(contexts=[entity]).encode(), f"s:{41 + i}"), Routed)
    assert clock.sleeps == [0.5, 1.0] * 4
    assert sum("resolves again" in r.getMessage() for r in caplog.records) == 4
