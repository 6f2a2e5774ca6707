"""The native engine (the jsonschema crate inside sptk_native) gives jsonschema's verdict.

The same differential walk as ``test_fast_validator_parity.py`` (every schema of Iglu Central,
the same seeded valid-looking instances and mutants), but the native engine is asked on the
instance's JSON text, as the pipeline asks it, and compared with the reference's verdict on
what that text decodes to. Hypothesis adds the known differences (formats, patterns, numbers)
and the exact-decimal ``multipleOf`` rule on its own.
"""

from __future__ import annotations

import random
import re
import warnings
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iglu_registry.formats import CHECKS
from iglu_registry.keywords import is_multiple_of
from iglu_registry.layout import load_registry
from iglu_registry.native_engine import MODULE, compile_native, rust_regex
from iglu_registry.resolver import Resolver
from iglu_registry.schema_key import SchemaKey
from iglu_registry.validation import SchemaValidator
from tests.ci import unavailable
from tests.unit.iglu_registry import test_fast_validator_parity as parity
from tests.unit.iglu_registry.instance_generator import InstanceGenerator
from tests.unit.iglu_registry.test_fast_validator_parity import (
    IGLU_REF,
    JSON,
    KEYS,
    MUTANTS_PER_SCHEMA,
    OBJECTS,
    SEED,
    STRINGS,
    VALID_PER_SCHEMA,
    acme,
    embedded_resolver,
)

#: the fixture of a fast (and so native) and a reference validator over the in-tree tricky schemas
engines = parity.engines


@pytest.fixture(autouse=True)
def _native_built() -> None:
    if MODULE is None:
        unavailable("sptk_native with its validator is not built here, or SPTK_NATIVE=0 (scripts/setup builds it)")


#: Iglu Central keys the native engine leaves to jsonschema-rs, by the start of the reason it gives
EXPECTED_NATIVE_FALLBACKS: dict[str, str] = {}


def _fetch_nothing(uri: str) -> dict:
    raise AssertionError(f"no $ref expected, got {uri}")


def test_native_engine_agrees_with_jsonschema_on_all_of_iglu_central(iglu_central: Path) -> None:
    schemas, problems = load_registry(iglu_central.parent)
    assert problems == [] and len(schemas) >= 600
    resolver = embedded_resolver(iglu_central.parent)
    native = SchemaValidator(resolver, engine="fast", check_meta_schema=False)
    reference = SchemaValidator(resolver, engine="reference", check_meta_schema=False)

    def fetch(uri: str) -> dict | None:
        m = IGLU_REF.match(uri)
        return schemas.get(SchemaKey.from_path(m[1])) if m else None

    disagreements: list[str] = []
    fallbacks: dict[str, str] = {}
    counts = {"valid": 0, "invalid": 0, "native": 0}
    for key in sorted(schemas):
        generator = InstanceGenerator(schemas[key], fetch, random.Random(f"{SEED}:{key.uri}"))
        valid_looking = [generator.valid() for _ in range(VALID_PER_SCHEMA)]
        mutants = [m for v in valid_looking[:2] for m in generator.mutants(v, MUTANTS_PER_SCHEMA // 2)]
        for instance in valid_looking + mutants:
            try:
                text = orjson.dumps(instance)
            except TypeError:  # integers beyond 64 bits: the codec declines such texts, so they never get here
                continue
            data = orjson.loads(text)
            expected = reference.validate(key, data) == []
            counts["valid" if expected else "invalid"] += 1
            verdict = native.native_verdict(key, text)
            if verdict is None:
                reason = native.native_fallback_reason(key)
                if reason is not None:  # else the engine declined this text alone (a float beyond 2**63)
                    fallbacks[key.uri] = reason
                continue
            counts["native"] += 1
            if verdict != expected:
                disagreements.append(f"{key.uri}: native={verdict} jsonschema={expected} for {text[:300]!r}")

    total = counts["valid"] + counts["invalid"]
    print(f"\nnative parity: {len(schemas)} schemas, {total} instances ({counts['valid']} valid, "
          f"{counts['invalid']} invalid), {counts['native']} decided natively, {len(fallbacks)} schemas not "
          f"native, {len(disagreements)} disagreements")
    assert disagreements == [], "\n".join(disagreements[:20])
    assert {k: v[:len(EXPECTED_NATIVE_FALLBACKS.get(k, v))] for k, v in fallbacks.items()} == \
        EXPECTED_NATIVE_FALLBACKS, fallbacks
    assert counts["valid"] >= 0.15 * total and counts["invalid"] >= 0.5 * total, counts


# --- hypothesis over the known differences ------------------------------------------------------------

@settings(derandomize=True, max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(KEYS)), data=OBJECTS | JSON)
def test_native_engine_agrees_on_the_known_differences(engines: tuple[SchemaValidator, SchemaValidator],
                                                       key: SchemaKey, data: object) -> None:
    fast, reference = engines
    try:
        text = orjson.dumps(data)
    except TypeError:
        return  # beyond 64 bits: declined by the codec
    expected = reference.validate(key, orjson.loads(text)) == []
    verdict = fast.native_verdict(key, text)
    assert verdict == expected or verdict is None and _has_wide_float(orjson.loads(text)), (key.uri, text, expected)


def test_every_tricky_schema_compiles_natively(engines: tuple[SchemaValidator, SchemaValidator]) -> None:
    fast, _ = engines
    for key in KEYS:
        assert fast.native_verdict(key, b"{}") is not None, fast.native_fallback_reason(key)


# --- multipleOf in exact decimal --------------------------------------------------------------------------

def _has_wide_float(data: object) -> bool:
    """What the native engine declines: a float at or beyond 2**63 anywhere in the data."""
    if isinstance(data, float):
        return abs(data) >= 2.0 ** 63
    if isinstance(data, list):
        return any(_has_wide_float(x) for x in data)
    return isinstance(data, dict) and any(_has_wide_float(x) for x in data.values())


def test_a_float_beyond_two_to_the_63_is_declined_never_taken_for_an_integer() -> None:
    schema = compile_native({"type": ["string", "null", "integer"]}, _fetch_nothing)
    for text in (b"9.223372036854776e+18", b"-9.3e18", b"1e300", b'{"a": [1.8446744073709552e+19]}'):
        assert schema.is_valid(text) is None, text
    assert schema.is_valid(b"9.223372036854775e+18") is False  # a float below 2**63 is no integer either
    assert schema.is_valid(b"9223372036854775807") is True and schema.is_valid(b"1.0") is False


def _native_multiple(instance: float | int, by: float | int) -> bool | None:
    schema = compile_native({"multipleOf": by}, _fetch_nothing)
    verdict = schema.is_valid(orjson.dumps(instance))
    return None if verdict is None else bool(verdict)


DECIMALS = st.decimals(min_value=Decimal("-1e6"), max_value=Decimal("1e6"), places=4, allow_nan=False,
                       allow_infinity=False)


@settings(derandomize=True, max_examples=500, deadline=None, database=None)
@given(instance=st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2 ** 63), 2 ** 64 - 1)
       | DECIMALS.map(float),
       by=st.sampled_from([0.01, 0.1, 0.5, 3, 7, 1e-7, 2.5, 0.3, 1e300, 1e-300, 5e-324, 10 ** 19])
       | st.floats(min_value=1e-9, max_value=1e9) | st.integers(1, 2 ** 63))
def test_native_multiple_of_is_exact_decimal_divisibility(instance: float | int, by: float | int) -> None:
    verdict = _native_multiple(instance, by)
    assert verdict == is_multiple_of(instance, by) or verdict is None and _has_wide_float(instance), (instance, by)


@settings(derandomize=True, max_examples=300, deadline=None, database=None)
@given(cents=st.integers(-10 ** 9, 10 ** 9), by=st.sampled_from(["0.01", "0.05", "0.25", "0.1"]))
def test_prices_in_cents_are_multiples_of_their_step(cents: int, by: str) -> None:
    price = float(Fraction(cents, 100))
    expected = Fraction(repr(price)) % Fraction(by) == 0
    assert _native_multiple(price, float(by)) == expected == is_multiple_of(price, float(by))


# --- formats and patterns ---------------------------------------------------------------------------------

FORMAT_STRINGS = STRINGS | st.text(alphabet="0123456789abcdefABCDEF:.%-Tt+Zz@ \n\u00a0\x1c/eth", max_size=40)


@settings(derandomize=True, max_examples=800, deadline=None, database=None)
@given(name=st.sampled_from(sorted(CHECKS)), value=FORMAT_STRINGS)
def test_native_formats_are_the_python_ones(name: str, value: str) -> None:
    schema = compile_native({"format": name}, _fetch_nothing)
    assert schema.is_valid(orjson.dumps(value)) == CHECKS[name](value), (name, value)


@pytest.mark.parametrize("name,value", [
    ("ipv6", "::ffff:1.2.3.4"), ("ipv6", "fe80::1%eth0"), ("ipv6", "1:2:3:4:5:6:7::"), ("ipv6", "1::2::3"),
    ("ipv6", "::1/64"), ("ipv6", "1:2:3:4:5:6:1.2.3.4"), ("ipv6", "1:2:3:4:5:6:7:1.2.3.4"), ("ipv4", "1.2.3.04"),
    ("email", "a@b\u2028.c"), ("email", "a\x1c@b.c"), ("uri", "x:\u3000"), ("hostname", "a" * 63 + ".com."),
    ("hostname", "\u00e9.com"), ("date-time", "2024-02-29T23:59:60.123456789-23:59"), ("date", "0000-01-01"),
    ("date", "2100-02-29"), ("uuid", "0B9F1A2E-1234-4ABC-8DEF-0123456789AB")])
def test_native_formats_on_edge_cases(name: str, value: str) -> None:
    schema = compile_native({"format": name}, _fetch_nothing)
    assert schema.is_valid(orjson.dumps(value)) == CHECKS[name](value)


PATTERNS = ["^[A-Za-z0-9_-]+$", "^\\$.*$", "^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$|^[0-9a-f]{16}$",
            "^(\\d+\\.\\d+\\.\\d+.*)$", "-?[0-9]+(?:\\.[0-9+])?,-?[0-9]+(?:\\.[0-9+])?", "^\\w+\\s?$", "a.c",
            "[\\D\\s]x", "^a{1,2}?b$", "(?:ab)+?c", "[^a-c\\-]{2}", "^iglu:[a-zA-Z0-9-_.]+/x$", "\\S\\W", "x{2,}y"]
PATTERN_TEXT = st.text(alphabet="abcx_-.$0129\n\r\u0661\u00e9 \u2028\x1c,+/:iglu{}", max_size=12)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_translated_patterns_match_what_python_re_search_matches(pattern: str) -> None:
    translated = rust_regex(pattern)
    assert translated is not None, pattern
    schema = compile_native({"pattern": pattern}, _fetch_nothing)
    rng = random.Random(f"{SEED}:{pattern}")
    alphabet = "abcx_-.$0129\n\r\u0661\u00e9 \u2028\x1c,+/:iglu{}ABF"
    strings = ["", "\n", "a\n", "abc\n", "$x\n", "1.2.3", "1.2.3\n", "\u0661.\u0662.\u0663"] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(600)]
    for s in strings:
        assert schema.is_valid(orjson.dumps(s)) == (re.search(pattern, s) is not None), (pattern, s, translated)


@pytest.mark.parametrize("pattern", ["\\bword", "(?i)a", "a(?=b)", "(a)\\1", "a*+", "(a$|b)\\n", "a$b", "[]a]",
                                     "(?s).", "\\x41", "(a$)?", "(?P=x)"])
def test_patterns_without_an_exact_translation_are_refused(pattern: str) -> None:
    assert rust_regex(pattern) is None


@pytest.mark.parametrize("pattern", ["\\bword", "a(?=b)", "(a$|b)\\n", "a$b", "\\x41", "(a$)?"])
def test_a_schema_with_an_untranslated_pattern_keeps_jsonschema_rs(pattern: str) -> None:
    key, schema = acme("untranslated", type="string", pattern=pattern)
    validator = SchemaValidator(Resolver.in_memory({key: schema}))
    assert validator.fast_verdict(key, "word") is not None  # jsonschema-rs (with Python's re) still takes it
    assert validator.native_verdict(key, b'"word"') is None
    assert "no exact translation for pattern" in (validator.native_fallback_reason(key) or "")


def test_a_schema_with_a_number_beyond_64_bits_is_not_native() -> None:
    key, schema = acme("huge", type="integer", maximum=2 ** 70)
    validator = SchemaValidator(Resolver.in_memory({key: schema}))
    assert validator.native_verdict(key, b"1") is None
    assert "beyond 64-bit" in (validator.native_fallback_reason(key) or "")


def test_refs_are_compiled_natively_through_the_resolver() -> None:
    inner, inner_schema = acme("inner", type="object", required=["id"], properties={"id": {"format": "uuid"}})
    outer, outer_schema = acme("outer", type="object", properties={
        "child": {"$ref": "http://iglucentral.com/schemas/com.acme/inner/jsonschema/1-0-0#"}})
    validator = SchemaValidator(Resolver.in_memory({inner: inner_schema, outer: outer_schema}))
    assert validator.native_verdict(outer, b'{"child":{"id":"0b9f1a2e-1234-4abc-8def-0123456789ab"}}') is True
    assert validator.native_verdict(outer, b'{"child":{"id":"nope"}}') is False
    assert validator.native_verdict(outer, b'{"child":{}}') is False


def test_the_sptk_native_switch_turns_the_native_engine_off() -> None:
    import os
    import subprocess
    import sys

    probe = "from iglu_registry.native_engine import MODULE; print(MODULE is None)"
    for value, off in (("0", "True"), ("1", "False")):
        done = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "SPTK_NATIVE": value},
                              capture_output=True, text=True, check=True)
        assert done.stdout.strip() == off, (value, done.stderr)


def test_random_patterns_match_what_python_re_search_matches() -> None:
    """Seeded random regexes from the pieces where Python and Rust syntax differ, on random strings."""
    pieces = ["a", "b", "\n", "$", "^", ".", "*", "+", "?", "{2}", "{,2}", "{1,}", "{", "}", "(", ")", "(?:", "|",
              "[", "]", "[^", "-", "\\d", "\\w", "\\s", "\\D", "\\W", "\\S", "\\.", "\\$", "\\-", "\\n", "\\Z",
              "\\A", "\u0661", "\u00e9", " ", "x", "\\\\", "*?", "+?", "??"]
    alphabet = ["a", "b", "\n", "x", "1", "\u0661", "\u00e9", " ", "\u2028", "\x1c", "$", ".", "-", "_", "\r", "\\"]
    rng = random.Random(SEED)
    compared = 0
    for _ in range(6000):
        pattern = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 7)))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # "possible nested set": a literal "[" to Python
                search = re.compile(pattern).search
        except re.error:
            continue
        schema = compile_native({"pattern": pattern}, _fetch_nothing)
        if not hasattr(schema, "is_valid"):
            continue  # no exact translation, or a regex the draft-4 meta-schema refuses: jsonschema-rs keeps it
        for _ in range(20):
            s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
            assert schema.is_valid(orjson.dumps(s)) == (search(s) is not None), (pattern, s, rust_regex(pattern))
            compared += 1
    assert compared > 20_000
