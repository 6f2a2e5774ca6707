"""Cached lookup and per-entity validation cost: the fast engine next to the reference, in one run.

Run: .venv/bin/python benchmarks/bench_iglu.py [--iterations N] [--big]

``SchemaValidator(engine="fast")`` decides validity with jsonschema-rs and runs jsonschema only
for invalid data (to build the reports); ``engine="reference"`` runs jsonschema alone. Both
are timed here through the public ``validate`` call (cached lookup included), on valid and on
invalid data, next to bare jsonschema / jsonschema-rs validators for scale. Uses the project's
own small schema (built below) so it runs anywhere; with ``--iglu-central DIR`` it also times
a few real Iglu Central schemas. Prints ratios measured in the same run; it is not a test and
asserts nothing about time.

The native column is the same crate inside ``sptk_native`` (:mod:`iglu_registry.native_engine`),
which takes the entity's JSON text: it is timed against what the pipeline did before for one
entity (``orjson.loads`` of the text, then jsonschema-rs), and the pipeline's own per-event call
(:class:`toolkit.pipeline.validate.EventValidator` on generated events) is timed with its native
leases and without them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import jsonschema_rs
import orjson
from jsonschema import Draft4Validator

from iglu_registry.fast_engine import compile_fast
from iglu_registry.formats import format_checker
from iglu_registry.layout import load_registry
from iglu_registry.native_engine import MODULE as NATIVE
from iglu_registry.native_engine import compile_native
from iglu_registry.resolver import Resolver
from iglu_registry.schema_key import SchemaKey
from iglu_registry.validation import SchemaValidator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import figures  # noqa: E402

CONTEXT = {
    "self": {"vendor": "com.acme", "name": "product", "format": "jsonschema", "version": "1-0-0"},
    "type": "object",
    "properties": {
        "sku": {"type": "string", "maxLength": 64},
        "name": {"type": ["string", "null"], "maxLength": 255},
        "price": {"type": "number", "minimum": 0, "maximum": 1_000_000},
        "quantity": {"type": "integer", "minimum": 0, "maximum": 10_000},
        "category": {"enum": ["books", "music", "toys", "other"]},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 32}, "maxItems": 20},
        "added_at": {"type": "string", "format": "date-time"},
        "buyer": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"},
                                                   "email": {"type": ["string", "null"], "format": "email"}},
                  "required": ["id"], "additionalProperties": False},
    },
    "required": ["sku", "price", "quantity"],
    "additionalProperties": False,
}
ENTITY = {"sku": "B-1234", "name": "A book", "price": 12.5, "quantity": 2, "category": "books",
          "tags": ["paper", "fiction"], "added_at": "2024-05-01T12:00:00.123Z",
          "buyer": {"id": "0b9f1a2e-1234-4abc-8def-0123456789ab", "email": "a@b.example"}}
KEY = SchemaKey.parse("iglu:com.acme/product/jsonschema/1-0-0")


def per_call(fn: Callable[[], object], n: int, repeats: int = 5) -> float:
    """Median microseconds per call over ``repeats`` runs of ``n`` calls."""
    return interleaved({"": (fn, n)}, repeats)[""]


def interleaved(cases: dict[str, tuple[Callable[[], object], int]], repeats: int = 5) -> dict[str, float]:
    """Median µs per call for each case, the cases taking turns so that load changes on a shared
    machine hit all of them alike (the ratios are the figures that matter)."""
    def run(name: str, _round: int) -> float:
        fn, n = cases[name]
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - start) / n * 1e6

    samples = figures.interleaved(list(cases), repeats, run)
    return {name: statistics.median(values) for name, values in samples.items()}


def throughput(validator: SchemaValidator, n: int, threads: int) -> float:
    """Entities/s for ``n`` valid entities spread over ``threads`` threads."""
    def work() -> None:
        for _ in range(n // threads):
            validator.validate(KEY, ENTITY)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--big", action="store_true", help="10x the iterations and a 4-thread run")
    parser.add_argument("--iglu-central", type=Path, default=Path(__file__).resolve().parents[2] / "shared" /
                        "iglu-central")
    args = parser.parse_args()
    n = args.iterations * (10 if args.big else 1)

    resolver = Resolver.in_memory({KEY: CONTEXT}, cache_size=500, cache_ttl=600)
    fast = SchemaValidator(resolver, engine="fast")
    reference = SchemaValidator(resolver, engine="reference")
    plain_formats = Draft4Validator(CONTEXT, format_checker=format_checker())  # same format checks as ours
    bare_rs = jsonschema_rs.Draft4Validator(CONTEXT, validate_formats=False)
    ours_rs = compile_fast(CONTEXT, lambda uri: {})
    assert callable(ours_rs), ours_rs
    invalid = {**ENTITY, "quantity": -1, "extra": True}
    assert fast.validate(KEY, ENTITY) == reference.validate(KEY, ENTITY) == [] and fast.fallback_reason(KEY) is None
    assert fast.validate(KEY, invalid) == reference.validate(KEY, invalid) != []

    table = {KEY: 1}
    uri = KEY.uri
    text = orjson.dumps(ENTITY)
    native = compile_native(CONTEXT, lambda uri: {})
    native_rows = {}
    if NATIVE is not None:
        assert native.is_valid(text) and not native.is_valid(orjson.dumps(invalid)), native
        native_rows = {
            "  text in: orjson.loads + jsonschema-rs (before)": (lambda: ours_rs(orjson.loads(text)), n),
            "  text in: native sptk_native Schema.is_valid": (lambda: native.is_valid(text), n),
        }
    results = interleaved({
        "SchemaKey.parse (cached)": (lambda: SchemaKey.parse(uri), n),
        "resolver.lookup (cache hit)": (lambda: resolver.lookup(KEY), n),
        "dict.get baseline (same key)": (lambda: table.get(KEY), n),
        "reference validate, valid entity": (lambda: reference.validate(KEY, ENTITY), n // 10),
        "fast validate, valid entity": (lambda: fast.validate(KEY, ENTITY), n),
        "reference validate, invalid entity (reports)": (lambda: reference.validate(KEY, invalid), n // 10),
        "fast validate, invalid entity (reports)": (lambda: fast.validate(KEY, invalid), n // 10),
        "  bare jsonschema iter_errors + formats, valid": (lambda: list(plain_formats.iter_errors(ENTITY)), n // 10),
        "  bare jsonschema-rs is_valid, no formats": (lambda: bare_rs.is_valid(ENTITY), n),
        "  jsonschema-rs with our formats/keywords": (lambda: ours_rs(ENTITY), n),
        **native_rows,
    })
    width = max(map(len, results))
    print(f"iterations: {n} (median of 5 interleaved runs each; the jsonschema rows run n/10)")
    for name, us in results.items():
        print(f"  {name:<{width}}  {us:8.2f} µs")
    ref_ok, fast_ok = results["reference validate, valid entity"], results["fast validate, valid entity"]
    ref_bad = results["reference validate, invalid entity (reports)"]
    fast_bad = results["fast validate, invalid entity (reports)"]
    lookup = results["resolver.lookup (cache hit)"]
    print(f"valid entity:   reference {ref_ok:.2f} µs, fast {fast_ok:.2f} µs -> {ref_ok / fast_ok:.1f}x faster")
    print(f"invalid entity: reference {ref_bad:.2f} µs, fast {fast_bad:.2f} µs -> {fast_bad / ref_bad:.2f}x the "
          f"reference (the fast verdict, then jsonschema for the reports)")
    ours = results["  jsonschema-rs with our formats/keywords"]
    bare = results["  bare jsonschema-rs is_valid, no formats"]
    print(f"fast path split: lookup {lookup:.2f} µs + jsonschema-rs {ours:.2f} µs (of which ~{ours - bare:.2f} µs are "
          f"the three format checks, called back in Python)")
    print(f"throughput, one thread, valid entities: fast {1e6 / fast_ok:,.0f}/s, reference {1e6 / ref_ok:,.0f}/s")
    if native_rows:
        before, after = (results[name] for name in native_rows)
        print(f"one entity from its JSON text: orjson + jsonschema-rs {before:.2f} µs, native {after:.2f} µs -> "
              f"{before / after:.1f}x faster")
        events(n)
    else:
        print("native: sptk_native with its validator is not built here (scripts/setup)")

    if args.big:
        for name, validator in (("fast", fast), ("reference", reference)):
            count = n if name == "fast" else n // 10
            print(f"4 threads, {name}: {throughput(validator, count, 4):,.0f} entities/s (GIL-bound)")

    tracemalloc.start()
    big = Resolver.in_memory({KEY.with_version(KEY.version.__class__(1, 0, a)): CONTEXT for a in range(500)},
                             cache_size=500)
    for a in range(500):
        big.lookup(KEY.with_version(KEY.version.__class__(1, 0, a)))
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"memory: {current / 500:,.0f} bytes per cached entry (500 entries, schema objects shared)")

    if (args.iglu_central / "schemas").is_dir():
        schemas, _ = load_registry(args.iglu_central)
        picks = [SchemaKey.parse(u) for u in (
            "iglu:com.snowplowanalytics.snowplow/web_page/jsonschema/1-0-0",
            "iglu:com.snowplowanalytics.snowplow/client_session/jsonschema/1-0-2",
            "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1")]
        samples = {
            picks[0]: {"id": "0b9f1a2e-1234-4abc-8def-0123456789ab"},
            picks[1]: {"userId": "0b9f1a2e-1234-4abc-8def-0123456789ab", "sessionId":
                       "1b9f1a2e-1234-4abc-8def-0123456789ab", "sessionIndex": 3, "previousSessionId": None,
                       "storageMechanism": "COOKIE_1", "firstEventId": "2b9f1a2e-1234-4abc-8def-0123456789ab",
                       "firstEventTimestamp": "2024-05-01T12:00:00.000Z", "eventIndex": 7},
            picks[2]: {"targetUrl": "https://example.com/next", "elementId": "nav", "elementClasses": ["a", "b"]},
        }
        central = Resolver.in_memory({k: schemas[k] for k in picks})
        real_fast, real_ref = SchemaValidator(central), SchemaValidator(central, engine="reference")
        print("Iglu Central schemas (one valid instance each):")
        for key in picks:
            sample = samples[key]
            assert real_fast.validate(key, sample) == real_ref.validate(key, sample) == [], key.uri
            cases = {"fast": (lambda key=key, sample=sample: real_fast.validate(key, sample), n // 4),
                     "ref": (lambda key=key, sample=sample: real_ref.validate(key, sample), n // 20)}
            if NATIVE is not None:
                body = orjson.dumps(sample)
                assert real_fast.native_verdict(key, body) is True, real_fast.native_fallback_reason(key)
                lease = real_fast.native_lease(key)
                assert lease is not None
                cases["native"] = (lambda check=lease[0].is_valid, body=body: check(body), n // 4)
            timed = interleaved(cases)
            a, b = timed["fast"], timed["ref"]
            native_col = f"  native (text in) {timed['native']:6.2f} µs" if "native" in timed else ""
            print(f"  {key.name:<16} fast {a:7.2f} µs  reference {b:7.2f} µs  -> {b / a:.1f}x faster{native_col}")


def events(n: int) -> None:
    """The pipeline's per-event validation (EventValidator on natively parsed events), native leases on and off."""
    from toolkit.contract.samples import SampleSpec, SampleStats, generate
    from toolkit.contract.tsv import parse_line
    from toolkit.pipeline.validate import EventValidator, Valid

    examples = Path(__file__).resolve().parents[1] / "examples" / "iglu"
    from iglu_registry.layout import load_registry as load

    schemas, _ = load(examples)
    resolver = Resolver.in_memory(schemas, cache_size=500, cache_ttl=3600)
    parsed = [parse_line(line.encode()) for line in generate(SampleSpec(events=2000, seed=7), SampleStats())]
    native_on, native_off = EventValidator(SchemaValidator(resolver)), EventValidator(SchemaValidator(resolver))
    native_off._native_leases = None  # what the pipeline did before: jsonschema-rs leases only
    valid = []
    for event in parsed:
        if not hasattr(event, "native") or not isinstance(native_on.validate(event), Valid):
            continue
        assert isinstance(native_off.validate(event), Valid)
        valid.append(event)
    entities = sum(native_on.validate(e).checked for e in valid)  # type: ignore[union-attr]
    native_on.native_checked = 0
    rounds = max(1, n // (10 * len(valid)))

    def run(validator: EventValidator) -> None:
        for event in valid:
            validator.validate(event)

    timed = interleaved({"jsonschema-rs leases": (lambda: run(native_off), rounds),
                         "native leases": (lambda: run(native_on), rounds)})
    before, after = (timed[k] / len(valid) for k in ("jsonschema-rs leases", "native leases"))
    print(f"EventValidator.validate on {len(valid)} valid generated events ({entities / len(valid):.1f} "
          f"self-describing JSONs each): jsonschema-rs leases {before:.2f} µs/event, native leases {after:.2f} "
          f"µs/event -> {before / after:.1f}x faster ({(before - after) / (entities / len(valid)):.2f} µs saved "
          f"per entity); natively decided: {native_on.native_checked} of {entities * rounds * 5}")


if __name__ == "__main__":
    main()
