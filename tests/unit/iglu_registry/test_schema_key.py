"""Schema keys, SchemaVer ordering and bumps, criteria: the grammar every other module relies on."""

from __future__ import annotations

import pytest

from iglu_registry.schema_key import Bump, InvalidSchemaKey, SchemaCriterion, SchemaKey, SchemaVer


def test_a_key_round_trips_through_uri_and_path() -> None:
    key = SchemaKey.parse("iglu:com.acme-co/link_click/jsonschema/1-0-12")
    assert (key.vendor, key.name, key.format, key.version) == ("com.acme-co", "link_click", "jsonschema",
                                                               SchemaVer(1, 0, 12))
    assert key.uri == "iglu:com.acme-co/link_click/jsonschema/1-0-12"
    assert SchemaKey.from_path(key.path) == key


@pytest.mark.parametrize(("uri", "reason"), [
    ("http://acme/x/jsonschema/1-0-0", "must start with 'iglu:'"),
    ("iglu:com.acme/click/jsonschema", "expected 4 parts"),
    ("iglu:com acme/click/jsonschema/1-0-0", "the vendor 'com acme'"),
    ("iglu:com.acme/cli.ck/jsonschema/1-0-0", "the name 'cli.ck'"),
    ("iglu:com.acme//jsonschema/1-0-0", "the name is empty"),
    ("iglu:com.acme/click/jsonschema/0-1-0", "MODEL starts at 1"),
    ("iglu:com.acme/click/jsonschema/1-01-0", "no leading zeros"),
    ("iglu:com.acme/click/jsonschema/1-0", "invalid SchemaVer '1-0'"),
    ("iglu:com.acme/click/jsonschema/1-0-0\n", "invalid SchemaVer '1-0-0\\n'"),
    ("iglu:com.acme/click\n/jsonschema/1-0-0", "the name 'click\\n'"),
])
def test_bad_uris_name_the_part_that_is_wrong(uri: str, reason: str) -> None:
    with pytest.raises(InvalidSchemaKey, match=".*") as caught:
        SchemaKey.parse(uri)
    assert reason in str(caught.value)
    assert repr(uri)[1:-1] in str(caught.value)


def test_non_string_schema_is_a_clear_error() -> None:
    with pytest.raises(InvalidSchemaKey, match="must be a string"):
        SchemaKey.parse(42)  # type: ignore[arg-type]


def test_versions_order_numerically_not_as_text() -> None:
    versions = [SchemaVer.parse(v) for v in ["1-0-10", "1-0-9", "2-0-0", "1-1-0", "1-0-0"]]
    assert [str(v) for v in sorted(versions)] == ["1-0-0", "1-0-9", "1-0-10", "1-1-0", "2-0-0"]


@pytest.mark.parametrize(("old", "new", "bump"), [
    ("1-0-0", "1-0-1", Bump.ADDITION), ("1-0-3", "1-1-0", Bump.REVISION), ("1-2-3", "2-0-0", Bump.MODEL),
    ("1-0-1", "1-0-1", None), ("1-1-0", "1-0-5", None),
])
def test_bump_from_names_the_part_that_moved(old: str, new: str, bump: Bump | None) -> None:
    assert SchemaVer.parse(new).bump_from(SchemaVer.parse(old)) is bump


def test_follows_detects_gaps_in_numbering() -> None:
    have = {SchemaVer(1, 0, 0), SchemaVer(1, 0, 1), SchemaVer(1, 1, 0)}
    assert SchemaVer(1, 0, 2).follows(have)
    assert SchemaVer(1, 2, 0).follows(have)
    assert SchemaVer(2, 0, 0).follows(have)
    assert not SchemaVer(1, 0, 3).follows(have)
    assert not SchemaVer(1, 3, 0).follows(have)
    assert not SchemaVer(3, 0, 0).follows(have)
    assert SchemaVer(1, 0, 0).follows(set())


def test_criteria_match_by_wildcards() -> None:
    criterion = SchemaCriterion.parse("iglu:com.acme/click/jsonschema/1-*-*")
    assert criterion.matches(SchemaKey.parse("iglu:com.acme/click/jsonschema/1-4-2"))
    assert not criterion.matches(SchemaKey.parse("iglu:com.acme/click/jsonschema/2-0-0"))
    assert not criterion.matches(SchemaKey.parse("iglu:com.acme/other/jsonschema/1-0-0"))
    assert str(criterion) == "iglu:com.acme/click/jsonschema/1-*-*"
    with pytest.raises(InvalidSchemaKey, match="each of"):
        SchemaCriterion.parse("iglu:com.acme/click/jsonschema/1-x-*")


def test_from_self_reads_the_schema_self_block() -> None:
    key = SchemaKey.from_self({"vendor": "com.acme", "name": "click", "format": "jsonschema", "version": "1-0-0"})
    assert key.uri == "iglu:com.acme/click/jsonschema/1-0-0"
    with pytest.raises(InvalidSchemaKey, match="lacks string field"):
        SchemaKey.from_self({"vendor": "com.acme", "name": "click"})
    with pytest.raises(InvalidSchemaKey, match="no 'self' object"):
        SchemaKey.from_self(None)
