"""Cached lookup and per-entity validation cost, side by side with plain jsonschema.Draft4Validator.

Run: .venv/bin/python benchmarks/bench_iglu.py [--iterations N] [--big]

Uses the project's own small schemas (built below) so it runs anywhere; with
``--iglu-central DIR`` it also times a few real Iglu Central schemas. Prints ratios
measured in the same run; it is not a test and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from jsonschema import Draft4Validator

from iglu_registry.formats import format_checker
from iglu_registry.layout import load_registry
from iglu_registry.resolver import Resolver
from iglu_registry.schema_key import SchemaKey
from iglu_registry.validation import SchemaValidator

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
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=20_000)
    parser.add_argument("--big", action="store_true", help="10x the iterations and a 4-thread run")
    parser.add_argument("--iglu-central", type=Path, default=Path(__file__).resolve().parents[2] / "shared" /
                        "iglu-central")
    args = parser.parse_args()
    n = args.iterations * (10 if args.big else 1)

    resolver = Resolver.in_memory({KEY: CONTEXT}, cache_size=500, cache_ttl=600)
    validator = SchemaValidator(resolver)
    plain = Draft4Validator(CONTEXT)
    plain_formats = Draft4Validator(CONTEXT, format_checker=format_checker())  # same format checks as ours
    table = {KEY: 1}
    assert validator.validate(KEY, ENTITY) == [] and plain.is_valid(ENTITY)
    invalid = {**ENTITY, "quantity": -1, "extra": True}

    uri = KEY.uri
    results = {
        "SchemaKey.parse (cached)": per_call(lambda: SchemaKey.parse(uri), n),
        "resolver.lookup (cache hit)": per_call(lambda: resolver.lookup(KEY), n),
        "dict.get baseline (same key)": per_call(lambda: table.get(KEY), n),
        "validate valid entity (ours, incl. lookup)": per_call(lambda: validator.validate(KEY, ENTITY), n // 4),
        "Draft4Validator.iter_errors valid (plain)": per_call(lambda: list(plain.iter_errors(ENTITY)), n // 4),
        "Draft4Validator.iter_errors valid (plain + formats)": per_call(lambda: list(plain_formats.iter_errors(ENTITY)),
                                                                        n // 4),
        "validate invalid entity (ours, reports)": per_call(lambda: validator.validate(KEY, invalid), n // 8),
        "Draft4Validator.iter_errors invalid (plain)": per_call(lambda: list(plain.iter_errors(invalid)), n // 8),
    }
    width = max(map(len, results))
    print(f"iterations: {n} (median of 5 runs each)")
    for name, us in results.items():
        print(f"  {name:<{width}}  {us:8.2f} µs")
    ours, theirs = results["validate valid entity (ours, incl. lookup)"], \
        results["Draft4Validator.iter_errors valid (plain + formats)"]
    bare = results["Draft4Validator.iter_errors valid (plain)"]
    print(f"ratio ours / plain without format checks: {ours / bare:.2f}x (format checks are most of the gap)")
    print(f"ratio validate (ours incl. lookup+reports) / plain with the same formats: {ours / theirs:.2f}x "
          f"-> overhead {ours - theirs:.2f} µs per entity")
    print(f"ratio invalid: {results['validate invalid entity (ours, reports)'] / results['Draft4Validator.iter_errors invalid (plain)']:.2f}x")  # noqa: E501
    print(f"throughput: {1e6 / ours:,.0f} entities/s on one thread (ours), {1e6 / theirs:,.0f} (plain)")

    if args.big:
        total = n
        start = time.perf_counter()

        def work() -> None:
            for _ in range(total // 4):
                validator.validate(KEY, ENTITY)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(f"4 threads: {total / (time.perf_counter() - start):,.0f} entities/s (GIL-bound)")

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
        real = SchemaValidator(Resolver.in_memory({k: schemas[k] for k in picks}))
        sample = {"id": "0b9f1a2e-1234-4abc-8def-0123456789ab"}
        print("Iglu Central schemas (one small instance each):")
        for key in picks:
            p = Draft4Validator(schemas[key])
            a = per_call(lambda key=key: real.validate(key, sample), n // 8)
            b = per_call(lambda p=p: list(p.iter_errors(sample)), n // 8)
            print(f"  {key.name:<16} ours {a:7.2f} µs  plain {b:7.2f} µs  ratio {a / b:.2f}x")


if __name__ == "__main__":
    main()
