"""Schema-driven JSON instances for differential testing: mostly-valid ones, then mutants of them.

Random JSON almost never gets past the first ``required`` of a real schema, so it would only
ever test the engines' "missing property" path. This generator reads the schema: it builds
instances that satisfy (or nearly satisfy) every keyword, then breaks them one or two places
at a time, at any depth, on the boundaries where two engines are most likely to disagree
(exclusive bounds, float ``multipleOf``, lengths counted in code points, regex anchors and
Unicode classes, format edge cases, extra properties).

Whether an instance is valid is never assumed: the differential test asks both engines.
Everything is driven by one ``random.Random`` so a seed gives the same instances every run.
"""

from __future__ import annotations

import copy
import math
import random
import re
import re._parser as sre_parse  # the stdlib's own regex parser, to build strings that match a pattern
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from re._constants import MAXREPEAT

from jsonschema import Draft4Validator

Path = tuple[str | int, ...]

GOOD_FORMATS: dict[str, list[str]] = {
    "date-time": ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123+02:00", "2024-02-29T23:59:60Z"],
    "date": ["2024-02-29", "1999-12-31"],
    "email": ["a@b.example", "first.last+tag@sub.example.org"],
    "hostname": ["example.com", "a-b.c", "localhost"],
    "ipv4": ["192.168.0.1", "0.0.0.0"],
    "ipv6": ["::1", "2001:db8::8a2e:370:7334"],
    "uri": ["https://example.com/a?b=1#c", "urn:isbn:0451450523", "mailto:a@b.c"],
    "uuid": ["0b9f1a2e-1234-4abc-8def-0123456789ab", "00000000-0000-0000-0000-000000000000"],
}
BAD_FORMATS: dict[str, list[str]] = {
    "date-time": ["2024-02-30T00:00:00Z", "2024-05-01 12:00:00", "2024-05-01T12:00:00Z\n", "2024-05-01T25:00:00Z",
                  "2024-05-01T12:00:61Z", "2024-05-01T12:00:00", "\uff12\uff10\uff12\uff14-05-01T12:00:00Z",
                  "2024-05-01T12:00:00+24:00", "2024-05-01t12:00:00z"],
    "date": ["2024-13-01", "2024-02-30", "20240101", "2024-1-1", "2024-01-01\n", "2024-01-01T00:00:00Z"],
    "email": ["wjr@w", "a b@c.d", "@x.y", "a@b.c\n", "plain", "a@@b.c"],
    "hostname": ["-bad.com", "a..b", "x" * 64 + ".com", "", "exa mple.com", "host_name", "a." * 130],
    "ipv4": ["256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4\n", "1.2.3.4.5", " 1.2.3.4"],
    "ipv6": ["::g", "1:2:3:4:5:6:7:8:9", "::1\n", "1::2::3", "12345::"],
    "uri": ["no scheme", "/relative/path", "http://a b", "1http://x", "", "http://x\n"],
    "uuid": ["0b9f1a2e12344abc8def0123456789ab", "0b9f1a2e-1234-4abc-8def-0123456789ag",
             "0b9f1a2e-1234-4abc-8def-0123456789ab\n", "{0b9f1a2e-1234-4abc-8def-0123456789ab}"],
}
#: strings that trip engines apart: anchors vs trailing newline, Unicode digits and word characters, line separators
TRICKY_STRINGS = ["", "\n", "x\n", "\r", "\u2028", "\u0661\u0662", "\u00e9", "\U0001f600", " ", "a" * 300]
WRONG_TYPES: list[object] = [None, True, False, 0, -1, 1.5, 1.0, "s", "", [], [1], {}, {"k": 1}]
DRAFT4_META = "http://json-schema.org/draft-04/schema"


@dataclass(frozen=True, slots=True)
class Site:
    """One way to break (or nearly break) an instance at ``path``: replace, delete, or add ``key``."""

    path: Path
    action: str
    value: object = None
    key: str | None = None


class InstanceGenerator:
    """Instances for one schema; ``fetch(uri)`` returns the schema a remote ``$ref`` names, or None."""

    def __init__(self, root: dict, fetch: Callable[[str], dict | None], rng: random.Random, *,
                 max_depth: int = 4) -> None:
        self.root = root
        self.fetch = fetch
        self.rng = rng
        self.max_depth = max_depth

    # --- resolving ----------------------------------------------------------------------------

    def deref(self, schema: object, root: dict, hops: int = 0) -> tuple[dict, dict]:
        if not isinstance(schema, dict):
            return {}, root
        ref = schema.get("$ref")
        if not isinstance(ref, str) or hops > 10:
            return schema, root
        base, _, fragment = ref.partition("#")
        if base:
            if base.rstrip("/") == DRAFT4_META:
                doc: dict | None = Draft4Validator.META_SCHEMA
            else:
                doc = self.fetch(base)
            if doc is None:
                return {}, root
            root = doc
        target: object = root
        for part in [p for p in fragment.split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict):
                target = target.get(part, {})
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                target = {}
        return self.deref(target, root, hops + 1)

    # --- valid-looking instances ----------------------------------------------------------------

    def valid(self) -> object:
        return self.generate(self.root, self.root, 0)

    def generate(self, schema: object, root: dict, depth: int) -> object:
        schema, root = self.deref(schema, root)
        rng = self.rng
        if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
            return copy.deepcopy(rng.choice(schema["enum"]))
        for combinator in ("anyOf", "oneOf"):
            branches = schema.get(combinator)
            if isinstance(branches, list) and branches:
                branch, _ = self.deref(rng.choice(branches), root)
                rest = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
                return self.generate(_merge(rest, branch), root, depth)
        if isinstance(schema.get("allOf"), list):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for branch in schema["allOf"]:
                merged = _merge(merged, self.deref(branch, root)[0])
            return self.generate(merged, root, depth)
        kind = self.pick_type(schema, depth)
        if kind == "object":
            return self.object(schema, root, depth)
        if kind == "array":
            return self.array(schema, root, depth)
        if kind == "string":
            return self.string(schema)
        if kind in ("integer", "number"):
            return self.number(schema, kind == "integer")
        if kind == "boolean":
            return rng.random() < 0.5
        return None

    def pick_type(self, schema: dict, depth: int) -> str:
        declared = schema.get("type")
        types = [declared] if isinstance(declared, str) else list(declared) if isinstance(declared, list) else []
        if not types:
            if "properties" in schema or "required" in schema or "additionalProperties" in schema:
                types = ["object"]
            elif "items" in schema:
                types = ["array"]
            elif any(k in schema for k in ("maxLength", "minLength", "pattern", "format")):
                types = ["string"]
            elif any(k in schema for k in ("minimum", "maximum", "multipleOf")):
                types = ["number"]
            else:
                types = ["string", "integer", "boolean", "null"] + (["object", "array"] if depth < 3 else [])
        concrete = [t for t in types if t != "null"]
        if concrete and (len(concrete) == len(types) or self.rng.random() < 0.85):
            return self.rng.choice(concrete)
        return self.rng.choice(types)

    def object(self, schema: dict, root: dict, depth: int) -> dict:
        rng = self.rng
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = [r for r in schema.get("required", []) if isinstance(r, str)]
        out: dict[str, object] = {}
        deep = depth >= self.max_depth
        for name in required:
            out[name] = self.generate(props.get(name, {}), root, depth + 1) if not deep else None
        if not deep:
            for name, sub in props.items():
                if name not in out and rng.random() < 0.5:
                    out[name] = self.generate(sub, root, depth + 1)
            deps = schema.get("dependencies")
            if isinstance(deps, dict):
                for name, needs in deps.items():
                    if name in out and isinstance(needs, list):
                        for need in needs:
                            out.setdefault(need, self.generate(props.get(need, {}), root, depth + 1))
            additional = schema.get("additionalProperties")
            if isinstance(additional, dict) and rng.random() < 0.3:
                out["extra_" + str(rng.randint(0, 99))] = self.generate(additional, root, depth + 1)
            patterns = schema.get("patternProperties")
            if isinstance(patterns, dict) and patterns and rng.random() < 0.5:
                pattern, sub = rng.choice(sorted(patterns.items()))
                name = regex_sample(pattern, rng)
                if name is not None:
                    out[name] = self.generate(sub, root, depth + 1)
        minimum = schema.get("minProperties")
        while isinstance(minimum, int) and len(out) < minimum:
            out[f"p{len(out)}"] = self.generate(schema.get("additionalProperties", {}), root, depth + 1)
        return out

    def array(self, schema: dict, root: dict, depth: int) -> list:
        items = schema.get("items", {})
        if isinstance(items, list):
            return [self.generate(s, root, depth + 1) for s in items]
        low = schema.get("minItems", 0) if isinstance(schema.get("minItems"), int) else 0
        high = schema.get("maxItems") if isinstance(schema.get("maxItems"), int) else low + 3
        count = low if depth >= self.max_depth else self.rng.randint(low, max(low, min(high, low + 2)))
        return [self.generate(items, root, depth + 1) for _ in range(count)]

    def string(self, schema: dict) -> str:
        rng = self.rng
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in GOOD_FORMATS:
            return rng.choice(GOOD_FORMATS[fmt])
        if isinstance(fmt, str) and "uri" in fmt:
            return rng.choice(GOOD_FORMATS["uri"])
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            sample = regex_sample(pattern, rng)
            if sample is not None:
                return sample
        low = schema.get("minLength", 0) if isinstance(schema.get("minLength"), int) else 0
        high = schema.get("maxLength") if isinstance(schema.get("maxLength"), int) else low + 12
        length = rng.randint(low, max(low, min(high, low + 12)))
        return "".join(rng.choice("abcxyz019 _-") for _ in range(length))

    def number(self, schema: dict, integer: bool) -> int | float:
        rng = self.rng
        low, high = _bound(schema, "minimum"), _bound(schema, "maximum")
        if low is None:
            low = -1000.0 if high is None else min(-1000.0, high - 2000.0)
        if high is None or high < low:
            high = low + 2000.0 if high is None else low
        step = schema.get("multipleOf")
        if isinstance(step, int | float) and not isinstance(step, bool) and step > 0:
            first, last = math.ceil(low / step), math.floor(high / step)
            k = rng.randint(first, max(first, min(last, first + 50))) if last >= first else first
            value: float = k * step
            return int(value) if integer or isinstance(step, int) else value
        if integer:
            first, last = math.ceil(low), math.floor(high)
            return rng.randint(first, last) if last >= first else int(first)
        return rng.choice([round(rng.uniform(low, high), 3), float(math.floor((low + high) / 2)),
                           int(math.floor((low + high) / 2))])

    # --- breaking them ------------------------------------------------------------------------------

    def mutants(self, instance: object, count: int) -> list[object]:
        sites = list(self.sites(instance, self.root, self.root, (), 0))
        if not sites:
            return []
        out = []
        for i in range(count):
            chosen = self.rng.sample(sites, k=min(len(sites), 1 if i % 4 else 2))
            mutant = copy.deepcopy(instance)
            for site in chosen:
                mutant = apply(mutant, site)
            out.append(mutant)
        return out

    def sites(self, value: object, schema: object, root: dict, path: Path, depth: int) -> Iterator[Site]:
        schema, root = self.deref(schema, root)
        rng = self.rng
        for wrong in rng.sample(WRONG_TYPES, k=2):
            yield Site(path, "replace", copy.deepcopy(wrong))
        enum = schema.get("enum")
        if isinstance(enum, list):
            yield Site(path, "replace", "not-in-the-enum")
            yield from (Site(path, "replace", _nudge(v)) for v in enum[:2])
        if depth > self.max_depth + 2:
            return
        for combinator in ("anyOf", "oneOf", "allOf"):
            branches = schema.get(combinator)
            if isinstance(branches, list):
                for branch in branches:
                    yield from self.sites(value, branch, root, path, depth + 1)
        if isinstance(value, str):
            yield from self.string_sites(value, schema, path)
        elif isinstance(value, bool):
            yield Site(path, "replace", not value)
        elif isinstance(value, int | float):
            yield from self.number_sites(value, schema, path)
        elif isinstance(value, dict):
            yield from self.object_sites(value, schema, root, path, depth)
        elif isinstance(value, list):
            yield from self.array_sites(value, schema, root, path, depth)

    def string_sites(self, value: str, schema: dict, path: Path) -> Iterator[Site]:
        for key, deltas in (("maxLength", (0, 1)), ("minLength", (-1, 0))):
            bound = schema.get(key)
            for length in (bound + d for d in deltas) if isinstance(bound, int) else ():
                if 0 <= length <= 100_000:  # lengths count code points: astral characters are one each
                    yield Site(path, "replace", "a" * length)
                    yield Site(path, "replace", "\U0001f600" * length)
        fmt = schema.get("format")
        if isinstance(fmt, str):
            bad = BAD_FORMATS.get(fmt, TRICKY_STRINGS)
            yield from (Site(path, "replace", b) for b in self.rng.sample(bad, k=min(3, len(bad))))
        if "pattern" in schema:
            yield from (Site(path, "replace", s) for s in (value + "\n", "\n" + value, value.replace("1", "\u0661"),
                                                           value + "\r", "", value[:-1], value + "\u00e9"))
        yield Site(path, "replace", self.rng.choice(TRICKY_STRINGS))

    def number_sites(self, value: int | float, schema: dict, path: Path) -> Iterator[Site]:
        for key, sign in (("maximum", 1), ("minimum", -1)):
            bound = schema.get(key)
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                yield from (Site(path, "replace", v) for v in (bound, bound + sign, bound + sign * 0.5,
                                                               float(bound), bound + sign * 1e-9))
        step = schema.get("multipleOf")
        if isinstance(step, int | float) and not isinstance(step, bool) and step > 0:
            yield from (Site(path, "replace", v) for v in (step * 3, round(step * 7, 12), step / 2, value + step / 2,
                                                           19.99 if step < 1 else step + 1, 10 ** 20))
        if isinstance(value, int):
            yield Site(path, "replace", float(value))
            yield Site(path, "replace", value + 0.5)
            yield Site(path, "replace", 2 ** 64)
        else:
            yield Site(path, "replace", int(value))
            yield Site(path, "replace", -value)

    def object_sites(self, value: dict, schema: dict, root: dict, path: Path, depth: int) -> Iterator[Site]:
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        patterns = schema.get("patternProperties") if isinstance(schema.get("patternProperties"), dict) else {}
        for name in schema.get("required", []) if isinstance(schema.get("required"), list) else []:
            if name in value:
                yield Site(path + (name,), "delete")
        for name in value:
            yield Site(path + (name,), "delete")
        yield Site(path, "add", 1, "unexpected_property")
        yield Site(path, "add", {"nested": [1, "x"]}, "another_extra")
        for pattern in list(patterns)[:3]:
            sample = regex_sample(pattern, self.rng)
            if sample is not None:
                yield Site(path, "add", "string-value", sample)
                yield Site(path, "add", [], sample + "\n")
                yield Site(path, "add", {}, "\r" + sample)
        for key in ("maxProperties", "minProperties"):
            if isinstance(schema.get(key), int):
                yield Site(path, "add", None, f"{key}_probe")
        for name, child in value.items():
            sub: object = props.get(name)
            if sub is None:
                sub = next((s for p, s in patterns.items() if _search(p, name)), schema.get("additionalProperties"))
            if isinstance(sub, dict):
                yield from self.sites(child, sub, root, path + (name,), depth + 1)

    def array_sites(self, value: list, schema: dict, root: dict, path: Path, depth: int) -> Iterator[Site]:
        items = schema.get("items", {})
        yield Site(path, "replace", [])
        if value:
            yield Site(path, "replace", value + [copy.deepcopy(value[0])])
            yield Site(path, "replace", value[:-1])
            yield Site(path + (len(value) - 1,), "delete")
        yield Site(path, "replace", value + [{"wrong": "item"}])
        bound = schema.get("maxItems")
        if isinstance(bound, int) and value:
            yield Site(path, "replace", (value * (bound + 1))[: bound + 1])
        for index in sorted({0, len(value) - 1}) if value else ():
            sub = items[index] if isinstance(items, list) and index < len(items) else items
            if isinstance(sub, dict):
                yield from self.sites(value[index], sub, root, path + (index,), depth + 1)


def apply(instance: object, site: Site) -> object:
    """``instance`` with ``site`` applied (in place where possible); a site that no longer fits is a no-op."""
    if not site.path and site.action == "replace":
        return copy.deepcopy(site.value)
    parent: object = instance
    steps = site.path if site.action == "add" else site.path[:-1]
    for step in steps:
        try:
            parent = parent[step]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return instance
    if site.action == "add":
        if isinstance(parent, dict) and site.key is not None:
            parent[site.key] = copy.deepcopy(site.value)
        return instance
    last = site.path[-1]
    fits = (isinstance(parent, dict) and isinstance(last, str) and last in parent) or \
        (isinstance(parent, list) and isinstance(last, int) and last < len(parent))
    if fits and site.action == "delete":
        del parent[last]  # type: ignore[index, union-attr]
    elif fits:
        parent[last] = copy.deepcopy(site.value)  # type: ignore[index]
    return instance


def regex_sample(pattern: str, rng: random.Random) -> str | None:
    """A string ``re.search(pattern, s)`` accepts, or None when ten tries do not find one."""
    try:
        parsed = sre_parse.parse(pattern)
        compiled = re.compile(pattern)
    except (re.error, RecursionError):
        return None
    for _ in range(10):
        sample = _emit(list(parsed), rng)
        if compiled.search(sample):
            return sample
    return None


_CATEGORIES = {"CATEGORY_DIGIT": "0123456789", "CATEGORY_NOT_DIGIT": "aZ_-", "CATEGORY_WORD": "aZ09_",
               "CATEGORY_NOT_WORD": " -.", "CATEGORY_SPACE": " \t", "CATEGORY_NOT_SPACE": "aZ09"}


def _emit(items: list, rng: random.Random) -> str:
    out = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("a" if arg != ord("a") else "b")
        elif name == "ANY":
            out.append(rng.choice("aZ0 -"))
        elif name == "IN":
            out.append(_one_of(arg, rng))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            high = low + 3 if high == MAXREPEAT else min(high, low + 3)
            out.extend(_emit(list(sub), rng) for _ in range(rng.randint(low, high)))
        elif name == "SUBPATTERN":
            out.append(_emit(list(arg[-1]), rng))
        elif name == "ATOMIC_GROUP":
            out.append(_emit(list(arg), rng))
        elif name == "BRANCH":
            out.append(_emit(list(rng.choice(arg[1])), rng))
        elif name == "CATEGORY":
            out.append(rng.choice(_CATEGORIES.get(str(arg), "a")))
        # AT (anchors), ASSERT, ASSERT_NOT, GROUPREF: nothing to emit; search() verifies the result
    return "".join(out)


def _one_of(items: list, rng: random.Random) -> str:
    if items and str(items[0][0]) == "NEGATE":
        return rng.choice("aZ0_- ~")
    op, arg = rng.choice(items)
    name = str(op)
    if name == "LITERAL":
        return chr(arg)
    if name == "RANGE":
        return chr(rng.randint(arg[0], arg[1]))
    if name == "CATEGORY":
        return rng.choice(_CATEGORIES.get(str(arg), "a"))
    return "a"


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def _bound(schema: dict, key: str) -> float | None:
    value = schema.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if schema.get("exclusive" + key[0].upper() + key[1:]) is True:
        return value + (1 if key == "minimum" else -1) * (1 if isinstance(value, int) else 1e-6)
    return value


def _nudge(value: object) -> object:
    """A value of the same type as ``value`` that is almost certainly not in the same enum."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + " " if value else "x"
    return None


def _merge(base: dict, extra: dict) -> dict:
    """Parent keywords plus a branch's: properties merged, required united, the branch's type wins."""
    merged = {**base, **{k: v for k, v in extra.items() if k not in ("properties", "required")}}
    props = {**(base.get("properties") or {}), **(extra.get("properties") or {})}
    if props:
        merged["properties"] = props
    required = list(dict.fromkeys([*(base.get("required") or []), *(extra.get("required") or [])]))
    if required:
        merged["required"] = required
    return merged
