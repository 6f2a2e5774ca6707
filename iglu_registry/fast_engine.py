"""jsonschema-rs as a verdict engine that agrees with the reference (jsonschema) on every instance.

Validating with jsonschema costs ~200 µs for an 8-property entity; jsonschema-rs decides the
same question in a few µs. It only gives the *verdict*: when data is invalid the reference
still runs, so messages, paths and targets in bad rows stay exactly jsonschema's.

The two engines differ in a few places, and each difference is closed here rather than hoped
away (the differential test over all of Iglu Central, ``test_fast_validator_parity.py``, is
the proof):

* ``format``: jsonschema-rs has its own checkers for ``email``, ``date-time``, ``regex`` ...
  Ours are the functions in :mod:`iglu_registry.formats`, so jsonschema-rs is handed exactly
  those functions, and every other format name it knows or meets is mapped to "always
  passes" (the reference ignores formats it has no checker for).
* ``pattern``: jsonschema uses Python's ``re.search`` (``$`` also matches before a final
  newline, ``\\d`` and ``\\w`` are Unicode); jsonschema-rs uses ECMA-style Rust regexes. The
  keyword is replaced with a Python implementation that calls ``re.search``.
* ``multipleOf``: both engines call :func:`iglu_registry.keywords.is_multiple_of` (decimal
  arithmetic, as Snowplow's validator does), so ``19.99`` is a multiple of ``0.01`` in both.
* ``patternProperties`` (and ``additionalProperties``, which consults it) cannot be replaced
  without re-implementing sub-schema validation, so a schema is compiled by jsonschema-rs
  only when each of those regexes means the same in both engines (see
  :func:`portable_regex`); otherwise the key stays on the reference engine.
* ``$ref`` to another Iglu schema is fetched through the same resolver the reference uses, and
  read as draft 4 whatever its ``$schema`` says, as the reference reads it. jsonschema-rs
  resolves every ``$ref`` when compiling (the reference only when data reaches it), so a
  schema with a ``$ref`` that cannot be resolved stays on the reference engine.

Data must be JSON values (dict, list, str, int, float, bool, None, finite floats), as a JSON
parser returns them: jsonschema-rs reads a tuple as an array and infinity as null, where
jsonschema does not. The pipeline decodes with orjson, which never produces either.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import jsonschema_rs

from iglu_registry.formats import CHECKS
from iglu_registry.keywords import is_multiple_of

#: formats jsonschema-rs validates on its own for some draft; those we do not check must be neutralised
RS_BUILTIN_FORMATS = frozenset({
    "date", "date-time", "time", "duration", "email", "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6",
    "uri", "uri-reference", "iri", "iri-reference", "uri-template", "json-pointer", "relative-json-pointer",
    "regex", "uuid",
})

FastCheck = Callable[[object], bool]
DRAFT4_URI = "http://json-schema.org/draft-04/schema#"


class RefUnavailable(Exception):
    """A ``$ref`` the resolver could not provide; ``retryable`` when a registry failed, not when it is absent."""

    def __init__(self, uri: str, reason: str, *, retryable: bool) -> None:
        super().__init__(f"$ref {uri}: {reason}")
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class Unsupported:
    """Why a schema stays on the reference engine; ``retryable`` when trying again later may succeed."""

    reason: str
    retryable: bool = False


def _passes(value: str) -> bool:
    """A format the reference has no checker for: ignored, as draft 4 says."""
    return True


class _PythonPattern:
    """``pattern`` with ``re.search``, exactly as jsonschema applies it."""

    __slots__ = ("_search",)

    def __init__(self, parent_schema: dict, value: str, schema_path: list) -> None:
        self._search = re.compile(value).search

    def validate(self, instance: object) -> None:
        if isinstance(instance, str) and self._search(instance) is None:
            raise ValueError("does not match the pattern")


class _DecimalMultipleOf:
    """``multipleOf`` decided by :func:`iglu_registry.keywords.is_multiple_of`, as the reference decides it."""

    __slots__ = ("_by",)

    def __init__(self, parent_schema: dict, value: int | float, schema_path: list) -> None:
        self._by = value

    def validate(self, instance: object) -> None:
        if isinstance(instance, int | float) and not isinstance(instance, bool) and \
                not is_multiple_of(instance, self._by):
            raise ValueError("is not a multiple")


KEYWORDS = {"pattern": _PythonPattern, "multipleOf": _DecimalMultipleOf}


def walk_schema(node: object) -> Iterator[tuple[str, object]]:
    """Every (key, value) pair of every object in a schema document (over-approximates keyword positions)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for k, v in item.items():
                yield k, v
                stack.append(v)
        elif isinstance(item, list):
            stack.extend(item)


def _needs(documents: list[dict]) -> tuple[frozenset[str], frozenset[str]]:
    """Format names and replaced keywords that ``documents`` use.

    Replaced keywords are registered only where used: any custom keyword costs jsonschema-rs
    about 1 µs per call even when no schema node has it. Meta-schemas bundled with
    jsonschema-rs (a ``$ref`` to json-schema.org) are not walked, so they get every keyword.
    """
    formats: set[str] = set()
    keywords: set[str] = set()
    for document in documents:
        for k, v in walk_schema(document):
            if k == "format" and isinstance(v, str):
                formats.add(v)
            elif k in KEYWORDS:
                keywords.add(k)
            elif k == "$ref" and isinstance(v, str) and v.startswith(("http://json-schema.org/",
                                                                      "https://json-schema.org/")):
                keywords.update(KEYWORDS)
    return frozenset(formats), frozenset(keywords)


def format_functions(names: frozenset[str]) -> dict[str, Callable[[str], bool]]:
    """Our checkers for our formats; "always passes" for every other name jsonschema-rs might enforce."""
    functions: dict[str, Callable[[str], bool]] = dict.fromkeys(RS_BUILTIN_FORMATS | names, _passes)
    functions.update(CHECKS)
    return functions


def portable_regex(pattern: str) -> bool:
    """True when Python's ``re.search`` and jsonschema-rs agree on every string for ``pattern``.

    Deliberately narrow (literals, escaped punctuation, simple character classes, groups,
    alternation, single quantifiers, ``^``): ``$``, ``.``, ``\\d``/``\\w``/``\\s``/``\\b``, inline flags,
    possessive quantifiers and set operations behave differently between the two engines. A
    trailing ``.*`` is allowed because under search semantics it can always match nothing.
    """
    try:
        re.compile(pattern)
    except re.error:
        return False  # the reference reports it when data reaches it; jsonschema-rs would not
    tokens: list[tuple[str, int]] = []  # (kind, depth), kind in atom, any, star, quant, other
    depth, i, n = 0, 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n or pattern[i + 1].isalnum():
                return False
            tokens.append(("atom", depth))
            i += 2
            continue
        if c == "[":
            end = _class_end(pattern, i)
            if end < 0:
                return False
            tokens.append(("atom", depth))
            i = end + 1
            continue
        if c == "{":
            m = _COUNTED.match(pattern, i)
            if m is None:
                return False
            kind, i = "quant", m.end()
        else:
            if c in "$}]" or pattern.startswith("(?", i):
                return False
            depth += (c == "(") - (c == ")")
            kind = {".": "any", "*": "star", "+": "quant", "?": "quant", "^": "other", "|": "other", "(": "other",
                    ")": "atom"}.get(c, "atom")
            i += 1
        if kind in ("star", "quant") and tokens and tokens[-1][0] in ("star", "quant"):
            return False  # lazy or possessive forms
        tokens.append((kind, depth))
    while len(tokens) >= 2 and tokens[-2] == ("any", 0) and tokens[-1] == ("star", 0):
        del tokens[-2:]
    return all(kind != "any" for kind, _ in tokens)


_COUNTED = re.compile(r"\{\d+(,\d*)?\}")


def _class_end(pattern: str, start: int) -> int:
    """Index of the ``]`` closing a plain character class at ``start``, or -1 if it is not plain."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        return -1  # a leading ']' is a literal in Python, an error or empty class elsewhere
    while i < len(pattern):
        c = pattern[i]
        if c == "]":
            return i
        if c == "[" or pattern.startswith(("&&", "--", "~~"), i):
            return -1
        if c == "\\":
            if i + 1 >= len(pattern) or pattern[i + 1].isalnum():
                return -1
            i += 2
            continue
        i += 1
    return -1


def non_portable_patterns(schema: object) -> list[str]:
    """``patternProperties`` regexes in ``schema`` that the two engines could read differently."""
    return [p for k, v in walk_schema(schema) if k == "patternProperties" and isinstance(v, dict)
            for p in v if not portable_regex(p)]


def compile_fast(schema: dict, fetch_ref: Callable[[str], dict]) -> FastCheck | Unsupported:
    """A jsonschema-rs ``is_valid`` with the reference's semantics for ``schema``, or why there is none.

    ``fetch_ref(uri)`` returns the schema a remote ``$ref`` points to or raises
    :class:`RefUnavailable`; it is called while compiling.
    """
    bad = non_portable_patterns(schema)
    if bad:
        return Unsupported(f"patternProperties regex {bad[0]!r} may match differently in jsonschema-rs")
    formats, keywords = _needs([schema])
    fetched: list[dict] = []
    failures: list[RefUnavailable] = []

    def retriever(uri: str) -> dict:
        try:
            document = fetch_ref(uri)
        except RefUnavailable as exc:
            failures.append(exc)
            raise
        fetched.append(document)
        # jsonschema-rs would fetch a referenced document's $schema (Iglu's meta-schema) to pick its
        # draft; the reference reads every referenced document as draft 4, so say so
        return {**document, "$schema": DRAFT4_URI}

    for _ in range(2):  # a second pass only when referenced schemas use formats or keywords not seen yet
        fetched.clear()
        try:
            validator = jsonschema_rs.Draft4Validator(
                schema, formats=format_functions(formats), validate_formats=True, ignore_unknown_formats=True,
                retriever=retriever, keywords={k: KEYWORDS[k] for k in keywords} or None)
        except Exception as exc:  # jsonschema-rs refuses the schema or a $ref; the reference may still cope
            if failures:
                return Unsupported(str(failures[0]), retryable=any(f.retryable for f in failures))
            return Unsupported(f"jsonschema-rs cannot compile it: {str(exc).splitlines()[0]}")
        bad = [p for document in fetched for p in non_portable_patterns(document)]
        if bad:
            return Unsupported(f"a referenced schema's patternProperties regex {bad[0]!r} may match differently")
        all_formats, all_keywords = _needs([schema, *fetched])
        if all_formats <= formats and all_keywords <= keywords:
            return validator.is_valid
        formats, keywords = formats | all_formats, keywords | all_keywords
    return Unsupported("referenced schemas kept introducing new formats")  # unreachable: the refs are fixed
