"""The native verdict engine: the Rust ``jsonschema`` crate inside ``sptk_native``, on JSON texts.

jsonschema-rs (:mod:`iglu_registry.fast_engine`) decides "valid?" in a few µs, but the
pipeline must first turn each entity's JSON into Python objects and jsonschema-rs then turns
them back into Rust values. ``sptk_native`` validates the JSON the codec already read, in
Rust, with the same crate at the same version, so valid data never becomes Python objects.

The rules are the fast engine's, each reproduced natively (``native/src/validate.rs``):
formats are ``iglu_registry.formats`` ported to Rust, ``multipleOf`` is exact decimal,
``patternProperties`` regexes must be :func:`~iglu_registry.fast_engine.portable_regex` (the
crate's own engine, as for jsonschema-rs), and ``pattern`` keeps Python's ``re.search``
meaning through :func:`rust_regex`, which translates a regex only when the Rust ``regex``
crate will match exactly the same strings. A schema with anything else stays on the fast
engine; the differential test over Iglu Central (``test_native_validator.py``) is the proof.

Numbers beyond 64-bit integers never reach the crate: schemas holding one stay on the fast
engine, and the codec declines entity texts holding one.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

from iglu_registry.fast_engine import DRAFT4_URI, RefUnavailable, Unsupported, non_portable_patterns, walk_schema

ENV_SWITCH = "SPTK_NATIVE"
_INT_RANGE = range(-(2 ** 63), 2 ** 64)


def switched_off() -> str | None:
    """``SPTK_NATIVE=0`` (or false/no/off) in the environment: the sentence saying so, else None."""
    if os.environ.get(ENV_SWITCH, "1").strip().lower() in ("0", "false", "no", "off"):
        return f"{ENV_SWITCH}={os.environ[ENV_SWITCH]} in the environment"
    return None


def _load() -> Any:
    if switched_off() is not None:
        return None
    try:
        import sptk_native
    except ImportError:
        return None
    return sptk_native if hasattr(sptk_native, "compile_schema") else None  # an older build: no validator


#: the extension module when native validation is possible, else None
MODULE = _load()


# --- Python regexes as Rust regexes ------------------------------------------------------------------

def _ranges(chars: Iterator[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for c in chars:
        if out and out[-1][1] == c - 1:
            out[-1] = (out[-1][0], c)
        else:
            out.append((c, c))
    return out


@functools.cache
def _class_items(letter: str) -> str:
    """Class items (for inside ``[...]``) matching what Python's ``\\d``/``\\w``/``\\s`` (or the capital) match.

    Built from Python's own Unicode tables, so the Rust regex agrees whatever Unicode version it has.
    """
    matcher = re.compile("\\" + letter.lower()).match
    scalars = (c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    wanted = letter.islower()
    return "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}"
                   for a, b in _ranges(c for c in scalars if (matcher(chr(c)) is not None) == wanted))


def _char(code: int) -> str:
    c = chr(code)
    return c if c.isascii() and c.isalnum() else f"\\x{{{code:x}}}"


_SHORT_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}
_REPEAT = re.compile(r"\{(\d*)(,?)(\d*)\}")


def rust_regex(pattern: str) -> str | None:
    """A Rust ``regex`` that matches (``is_match``) exactly the strings ``re.search(pattern, s)`` matches, or None.

    Literals become ``\\x{..}``, so the two syntaxes never disagree about a character; ``\\d``,
    ``\\w``, ``\\s`` become Python's own sets; ``$`` (end, or before a final newline) is allowed where
    nothing can follow it. Word boundaries, backreferences, lookarounds, inline flags,
    conditionals and possessive quantifiers give None.
    """
    try:
        re.compile(pattern)
    except re.error:
        return None
    out: list[str] = []
    i, n, depth = 0, len(pattern), 0
    while i < n:
        c = pattern[i]
        if c == "\\":
            piece, i = _escape(pattern, i, in_class=False)
            if piece is None:
                return None
            out.append(piece)
            continue
        if c == "[":
            piece, i = _class(pattern, i)
            if piece is None:
                return None
            out.append(piece)
            continue
        if c == "(":
            if pattern.startswith("(?:", i):
                out.append("(?:")
                i += 3
            elif pattern.startswith("(?P<", i):
                i = pattern.index(">", i) + 1
                out.append("(?:")
            elif pattern.startswith("(?", i):
                return None
            else:
                out.append("(")
                i += 1
            depth += 1
            continue
        if c == ")":
            depth -= 1
        if c == "$":
            rest = pattern[i + 1:]
            if not (rest == ")" * depth or depth == 0 and rest.startswith("|")):
                return None  # something could follow the end: consuming "\n?" would change the meaning
            out.append("(?:\\n?\\z)")
            i += 1
            continue
        if c in "*+?{":
            m = _REPEAT.match(pattern, i) if c == "{" else None
            if c == "{" and m is None:
                out.append(_char(ord(c)))  # Python reads a "{" that starts no repeat as itself
                i += 1
                continue
            if m is not None:
                if not m[1] and not m[3]:
                    return None
                out.append("{" + (m[1] or "0") + m[2] + m[3] + "}")
                i = m.end()
            else:
                out.append(c)
                i += 1
            if i < n and pattern[i] == "+":
                return None  # possessive
            if i < n and pattern[i] == "?":
                out.append("?")  # lazy: the same strings match
                i += 1
            continue
        out.append(c if c in "|)^." else _char(ord(c)))
        i += 1
    return "".join(out)


def _escape(pattern: str, i: int, *, in_class: bool) -> tuple[str | None, int]:
    e = pattern[i + 1] if i + 1 < len(pattern) else ""
    if e in ("d", "D", "w", "W", "s", "S"):
        items = _class_items(e)
        return (items if in_class else f"[{items}]"), i + 2
    if not in_class and e in ("A", "Z"):
        return ("\\A" if e == "A" else "\\z"), i + 2
    if e in _SHORT_ESCAPES:
        return _char(ord(_SHORT_ESCAPES[e])), i + 2
    if in_class and e == "b":
        return _char(8), i + 2
    if not e or e.isalnum():
        return None, i + 2
    return _char(ord(e)), i + 2


def _class(pattern: str, i: int) -> tuple[str | None, int]:
    i += 1
    negated = pattern.startswith("^", i)
    i += negated
    if pattern.startswith("]", i):
        return None, i  # a leading "]" is a literal in Python, an error in Rust
    items: list[str] = []
    while i < len(pattern) and pattern[i] != "]":
        start, single, i = _class_char(pattern, i)
        if start is None:
            return None, i
        if pattern.startswith("-", i) and i + 1 < len(pattern) and pattern[i + 1] != "]":
            end, end_single, i = _class_char(pattern, i + 1)
            if end is None or not (single and end_single):
                return None, i  # a set as a range endpoint
            items.append(f"{start}-{end}")
        else:
            items.append(start)
    return "[" + "^" * negated + "".join(items) + "]", i + 1


def _class_char(pattern: str, i: int) -> tuple[str | None, bool, int]:
    """One member of a class: (its Rust text, whether it is one character, where the next one starts)."""
    if pattern[i] == "\\":
        piece, end = _escape(pattern, i, in_class=True)
        return piece, pattern[i + 1] not in "dDwWsS", end
    return _char(ord(pattern[i])), True, i + 1


# --- compiling -------------------------------------------------------------------------------------------

def _numbers_fit(node: object) -> bool:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif not _fits(item):
            return False
    return True


def _fits(scalar: object) -> bool:
    if isinstance(scalar, float):
        return math.isfinite(scalar)
    return not isinstance(scalar, int) or isinstance(scalar, bool) or scalar in _INT_RANGE


def _remote_refs(document: dict) -> set[str]:
    return {v.split("#", 1)[0] for k, v in walk_schema(document) if k == "$ref" and isinstance(v, str)
            and not v.startswith("#") and not v.startswith(("http://json-schema.org/", "https://json-schema.org/"))}


def compile_native(schema: dict, fetch_ref: Callable[[str], dict]) -> Any:
    """An ``sptk_native.Schema`` with the reference's semantics for ``schema``, or :class:`Unsupported` saying why."""
    if MODULE is None:
        return Unsupported("sptk_native is not available")
    documents: dict[str, dict] = {}
    todo = sorted(_remote_refs(schema))
    while todo:
        uri = todo.pop()
        if uri in documents:
            continue
        try:
            fetched = fetch_ref(uri)
        except RefUnavailable as exc:
            return Unsupported(str(exc), retryable=exc.retryable)
        documents[uri] = {**fetched, "$schema": DRAFT4_URI}  # every referenced document is read as draft 4
        todo.extend(sorted(_remote_refs(fetched) - documents.keys()))
    everything = [schema, *documents.values()]
    bad = [p for document in everything for p in non_portable_patterns(document)]
    if bad:
        return Unsupported(f"patternProperties regex {bad[0]!r} may match differently in the jsonschema crate")
    if not all(_numbers_fit(document) for document in everything):
        return Unsupported("the schema holds a number beyond 64-bit integers or not finite")
    patterns = {}
    for document in everything:
        for k, v in walk_schema(document):
            if k == "pattern" and isinstance(v, str):
                translated = rust_regex(v)
                if translated is not None:
                    patterns[v] = translated
    try:
        return MODULE.compile_schema(json.dumps(schema), {u: json.dumps(d) for u, d in documents.items()}, patterns)
    except ValueError as exc:
        return Unsupported(f"sptk_native cannot compile it: {str(exc).splitlines()[0]}")
