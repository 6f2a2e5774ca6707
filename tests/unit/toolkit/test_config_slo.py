"""The ``[slo]`` section: defaults a team can adopt unchanged, per-stream overrides, strict like every section."""

from __future__ import annotations

from tests.unit.toolkit.test_config import error_of, minimal, parse
from toolkit.config.identity import config_hash


def test_a_config_without_slo_gets_the_documented_defaults() -> None:
    slo = parse(minimal()).slo
    assert (slo.freshness_threshold_s, slo.freshness_target) == (300.0, 0.95)
    assert slo.delivery_target == 0.999
    assert slo.invalid_rate_max == 0.01
    assert slo.availability_target == 0.999
    assert slo.selector == 'job="sptk"'
    assert dict(slo.streams) == {}


def test_a_stream_overrides_only_the_objectives_it_names() -> None:
    slo = parse(minimal(slo={"streams": {"derived.clicks.v1": {"freshness_threshold_s": 60.0}}})).slo
    clicks = slo.for_stream("derived.clicks.v1")
    assert (clicks.freshness_threshold_s, clicks.freshness_target, clicks.delivery_target) == (60.0, 0.95, 0.999)
    assert slo.for_stream("enriched").freshness_threshold_s == 300.0


def test_targets_outside_zero_to_one_and_unknown_keys_are_named() -> None:
    err = str(error_of(minimal(slo={"delivery_target": 1.5, "fresness_target": 0.9})))
    assert "slo.delivery_target" in err
    assert "slo.fresness_target: unknown key" in err and "freshness_target" in err


def test_a_target_of_one_leaves_no_error_budget_and_is_refused() -> None:
    err = str(error_of(minimal(slo={"streams": {"enriched": {"delivery_target": 1.0}}})))
    assert "slo.streams.enriched.delivery_target" in err


def test_slo_targets_do_not_change_the_config_hash() -> None:
    # the hash names what the pipeline does (the sp.pipeline header); objectives only change the alerts
    assert config_hash(parse(minimal())) == config_hash(parse(minimal(slo={"freshness_target": 0.99})))
