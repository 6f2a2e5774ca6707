"""The sample generator produces what its stats claim, checked with independent oracles.

The Python analytics SDK and plain ``jsonschema`` (not our own codec or validator)
judge the lines, so a bug in the toolkit cannot hide a bug in the samples.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from snowplow_analytics_sdk.event_transformer import transform
from snowplow_analytics_sdk.snowplow_event_transformation_exception import SnowplowEventTransformationException

from toolkit.contract.fields import BY_NAME
from toolkit.contract.samples import SampleSpec, SampleStats, generate

SCHEMAS = Path(__file__).resolve().parents[3] / "examples" / "iglu" / "schemas"


def _schema(uri: str) -> dict | None:
    path = SCHEMAS / uri.removeprefix("iglu:")
    return json.loads(path.read_text()) if path.exists() else None


def _schema_errors(line: str) -> list[str]:
    fields = line.split("\t")
    errors = []
    for name in ("contexts", "derived_contexts", "unstruct_event"):
        text = fields[BY_NAME[name].position]
        if not text:
            continue
        wrapper = json.loads(text)
        inner = wrapper["data"] if isinstance(wrapper["data"], list) else [wrapper["data"]]
        for sdj in [wrapper, *inner]:
            schema = _schema(sdj["schema"])
            if schema is None:
                errors.append(f"unknown {sdj['schema']}")
                continue
            errors += [e.message for e in jsonschema.Draft4Validator(schema).iter_errors(sdj["data"])]
    return errors


@pytest.fixture(scope="module")
def sample() -> tuple[list[str], SampleStats]:
    stats = SampleStats()
    spec = SampleSpec(events=3000, parse_failure_ratio=0.02, schema_failure_ratio=0.02, duplicate_ratio=0.01)
    return list(generate(spec, stats)), stats


def test_stats_account_for_every_line(sample: tuple[list[str], SampleStats]) -> None:
    lines, stats = sample
    assert stats.lines == len(lines)
    assert stats.lines == (sum(stats.by_event.values()) + sum(stats.parse_failures.values())
                           + sum(stats.schema_failures.values()))
    assert stats.duplicates > 0 and stats.late > 0
    assert set(stats.parse_failures) == {"field_count", "bad_timestamp", "bad_event_id", "broken_json", "bad_int"}
    assert set(stats.schema_failures) == {"missing_required", "out_of_range", "unknown_schema"}


def test_generation_is_deterministic() -> None:
    spec = SampleSpec(events=200, seed=7)
    assert list(generate(spec)) == list(generate(spec))
    assert list(generate(spec)) != list(generate(SampleSpec(events=200, seed=8)))


def test_good_lines_parse_with_the_sdk_and_validate_and_bad_lines_fail_where_claimed(
    sample: tuple[list[str], SampleStats],
) -> None:
    lines, stats = sample
    parse_failures = schema_failures = good = 0
    for line in lines:
        try:
            transform(line)
        except SnowplowEventTransformationException:
            parse_failures += 1
            continue
        event_id = line.split("\t")[BY_NAME["event_id"].position]
        if len(event_id) != 36:  # the SDK does not check UUIDs; the toolkit does
            parse_failures += 1
            continue
        try:
            errors = _schema_errors(line)
        except json.JSONDecodeError:
            parse_failures += 1
            continue
        if errors:
            schema_failures += 1
        else:
            good += 1
    # The SDK accepts an impossible date as a string; the toolkit's typed parse rejects it.
    sdk_blind = stats.parse_failures["bad_timestamp"]
    assert parse_failures == sum(stats.parse_failures.values()) - sdk_blind
    assert schema_failures == sum(stats.schema_failures.values())
    assert good == sum(stats.by_event.values()) + sdk_blind


def test_sample_command_writes_the_lines_and_stats_the_generator_makes(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from toolkit.cli.root import main

    stats_file = tmp_path / "stats.json"
    result = CliRunner().invoke(main, ["event", "sample", "--events", "150", "--seed", "3", "--parse-failures",
                                       "0.05", "--stats", str(stats_file)])
    assert result.exit_code == 0, result.output
    stats = SampleStats()
    expected = list(generate(SampleSpec(events=150, seed=3, parse_failure_ratio=0.05), stats))
    assert result.output.splitlines() == expected
    written = json.loads(stats_file.read_text())
    assert written["lines"] == stats.lines == len(expected)
    assert written["parse_failures"] == stats.parse_failures and sum(stats.parse_failures.values()) > 0
    assert written["expected_good"] == stats.expected_good
