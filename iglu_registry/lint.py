"""``sptk iglu lint``: igluctl's schema checks, each one skippable by name.

The checks and their names follow igluctl (so ``--skip-checks`` lists carry over from
existing CI jobs), plus the two checks igluctl runs before linting: the schema passes the
Iglu meta-schema, and its ``self`` block agrees with the file's path. Errors fail the
run; warnings are style advice (descriptions, bounds a warehouse loader would want) and
fail it only with ``--strict``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from iglu_registry.formats import KNOWN_FORMATS
from iglu_registry.layout import SchemaFile, iter_schema_files, read_json
from iglu_registry.meta_schema import check_schema
from iglu_registry.schema_key import InvalidSchemaKey, SchemaKey

#: Redshift's VARCHAR(max); igluctl warns above it because loaders cannot hold longer strings
MAX_STRING_LENGTH = 65535
#: Snowplow's envelopes around entities (``contexts`` is an array of self-describing JSON, ``unstruct_event``
#: a wrapper around one) and around events (``payload_data``, the tracker protocol's POST body). They are
#: never loaded as columns (their entities and events are), so the checks whose only reason is a warehouse
#: column (:data:`COLUMN_CHECKS`) do not apply to them.
ENVELOPES = frozenset({("com.snowplowanalytics.snowplow", "contexts"),
                       ("com.snowplowanalytics.snowplow", "unstruct_event"),
                       ("com.snowplowanalytics.snowplow", "payload_data")})
COLUMN_CHECKS = frozenset({"rootObject", "stringLength", "optionalNull"})


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class LintIssue:
    file: str
    path: str
    check: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.severity} [{self.check}] at {self.path}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"file": self.file, "path": self.path, "check": self.check, "severity": self.severity.value,
                "message": self.message}


Check = Callable[[dict, str, bool], Iterator[str]]


def _types(node: dict) -> set[str] | None:
    t = node.get("type")
    if t is None:
        return None
    return {t} if isinstance(t, str) else {x for x in t if isinstance(x, str)}


def _with(node: dict, *kinds: str) -> bool:
    types = _types(node)
    return types is not None and bool(types & set(kinds))


def _without(node: dict, *kinds: str) -> bool:
    types = _types(node)
    return types is not None and not (types & set(kinds))


def _num(node: dict, key: str) -> float | None:
    v = node.get(key)
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


def root_object(node: dict, path: str, is_root: bool) -> Iterator[str]:
    if is_root and (not _with(node, "object") or not isinstance(node.get("properties"), dict)):
        yield "the root of a schema should be an object type with properties (so loaders can make columns)"


def numeric_minimum_maximum(node: dict, path: str, is_root: bool) -> Iterator[str]:
    lo, hi = _num(node, "minimum"), _num(node, "maximum")
    if lo is not None and hi is not None and lo > hi:
        yield f"minimum {lo} is greater than maximum {hi}: no number can be valid"


def string_min_max_length(node: dict, path: str, is_root: bool) -> Iterator[str]:
    lo, hi = _num(node, "minLength"), _num(node, "maxLength")
    if lo is not None and hi is not None and lo > hi:
        yield f"minLength {lo:g} is greater than maxLength {hi:g}: no string can be valid"


def string_max_length_range(node: dict, path: str, is_root: bool) -> Iterator[str]:
    hi = _num(node, "maxLength")
    if _with(node, "string") and hi is not None and hi > MAX_STRING_LENGTH:
        yield f"maxLength {hi:g} is greater than {MAX_STRING_LENGTH} (Redshift VARCHAR(max)); loaders will truncate"


def array_min_max_items(node: dict, path: str, is_root: bool) -> Iterator[str]:
    lo, hi = _num(node, "minItems"), _num(node, "maxItems")
    if lo is not None and hi is not None and lo > hi:
        yield f"minItems {lo:g} is greater than maxItems {hi:g}: no array can be valid"


def _fruitless(kinds: tuple[str, ...], keywords: tuple[str, ...], label: str) -> Check:
    def check(node: dict, path: str, is_root: bool) -> Iterator[str]:
        present = [k for k in keywords if k in node]
        if present and _without(node, *kinds):
            yield (f"{label} keywords [{', '.join(present)}] need type {' or '.join(kinds)} (or no type); "
                   "they are ignored")
    return check


numeric_properties = _fruitless(("number", "integer"), ("minimum", "maximum", "multipleOf", "exclusiveMinimum",
                                                         "exclusiveMaximum"), "numeric")
string_properties = _fruitless(("string",), ("minLength", "maxLength", "pattern", "format"), "string")
object_properties = _fruitless(("object",), ("properties", "required", "additionalProperties", "patternProperties",
                                             "minProperties", "maxProperties", "dependencies"), "object")
array_properties = _fruitless(("array",), ("items", "additionalItems", "minItems", "maxItems", "uniqueItems"), "array")


def required_properties_exist(node: dict, path: str, is_root: bool) -> Iterator[str]:
    required = node.get("required")
    props = node.get("properties")
    if not isinstance(required, list):
        return
    declared = set(props) if isinstance(props, dict) else set()
    missing = [r for r in required if r not in declared]
    if missing and (node.get("additionalProperties") is False or isinstance(props, dict)) \
            and not node.get("patternProperties"):
        closed = node.get("additionalProperties") is False
        yield (f"required properties [{', '.join(map(str, missing))}] are not declared in properties"
               + (": no instance can be valid" if closed else ""))


def unknown_formats(node: dict, path: str, is_root: bool) -> Iterator[str]:
    fmt = node.get("format")
    if isinstance(fmt, str) and fmt not in KNOWN_FORMATS:
        yield f"unknown format {fmt!r} is not checked by validation; known: {', '.join(sorted(KNOWN_FORMATS))}"


def numeric_min_max(node: dict, path: str, is_root: bool) -> Iterator[str]:
    if _with(node, "number", "integer") and (_num(node, "minimum") is None or _num(node, "maximum") is None):
        missing = [k for k in ("minimum", "maximum") if _num(node, k) is None]
        yield f"numeric value without {' and '.join(missing)}: warehouses cannot pick a column size"


def string_length(node: dict, path: str, is_root: bool) -> Iterator[str]:
    if _with(node, "string") and "enum" not in node and "maxLength" not in node \
            and node.get("format") not in ("ipv4", "ipv6", "date-time", "date", "uuid"):
        yield "string without maxLength (or enum, or a bounded format): warehouses cannot pick a column size"


def optional_null(node: dict, path: str, is_root: bool) -> Iterator[str]:
    props, required = node.get("properties"), node.get("required")
    if not isinstance(props, dict) or not isinstance(required, list):  # as igluctl: only with a required list
        return
    lacking = [k for k, v in props.items() if k not in required and isinstance(v, dict) and _without(v, "null")]
    if lacking:
        yield f"optional properties [{', '.join(lacking)}] do not allow null"


def description(node: dict, path: str, is_root: bool) -> Iterator[str]:
    if "description" not in node and (is_root or "type" in node):
        yield "no description"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    severity: Severity
    check: Check


RULES: tuple[Rule, ...] = (
    Rule("rootObject", Severity.ERROR, root_object),
    Rule("numericMinimumMaximum", Severity.ERROR, numeric_minimum_maximum),
    Rule("stringMinMaxLength", Severity.ERROR, string_min_max_length),
    Rule("stringMaxLengthRange", Severity.WARNING, string_max_length_range),
    Rule("arrayMinMaxItems", Severity.ERROR, array_min_max_items),
    Rule("numericProperties", Severity.ERROR, numeric_properties),
    Rule("stringProperties", Severity.ERROR, string_properties),
    Rule("objectProperties", Severity.ERROR, object_properties),
    Rule("arrayProperties", Severity.ERROR, array_properties),
    Rule("requiredPropertiesExist", Severity.ERROR, required_properties_exist),
    Rule("unknownFormats", Severity.WARNING, unknown_formats),
    Rule("numericMinMax", Severity.WARNING, numeric_min_max),
    Rule("stringLength", Severity.WARNING, string_length),
    Rule("optionalNull", Severity.WARNING, optional_null),
    Rule("description", Severity.WARNING, description),
)
#: checks run before the rules: meta-schema validity and the self block agreeing with the path
PRE_CHECKS = ("metaSchema", "selfPath")
CHECK_NAMES = PRE_CHECKS + tuple(r.name for r in RULES)


def _walk(node: object, path: str) -> Iterator[tuple[dict, str]]:
    if not isinstance(node, dict):
        return
    yield node, path
    for key in ("properties", "patternProperties", "definitions"):
        children = node.get(key)
        if isinstance(children, dict):
            for name, child in children.items():
                yield from _walk(child, f"{path}.{key}.{name}")
    for key in ("additionalProperties", "additionalItems", "not"):
        yield from _walk(node.get(key), f"{path}.{key}")
    items = node.get("items")
    if isinstance(items, list):
        for i, child in enumerate(items):
            yield from _walk(child, f"{path}.items[{i}]")
    else:
        yield from _walk(items, f"{path}.items")
    for key in ("allOf", "anyOf", "oneOf"):
        branches = node.get(key)
        if isinstance(branches, list):
            for i, child in enumerate(branches):
                yield from _walk(child, f"{path}.{key}[{i}]")


def lint_schema(schema: object, file: str = "<schema>", key_from_path: SchemaKey | None = None,
                skip: frozenset[str] = frozenset()) -> list[LintIssue]:
    """Every issue in one schema; ``key_from_path`` enables the self/path agreement check."""
    issues: list[LintIssue] = []
    if "metaSchema" not in skip:
        issues += [LintIssue(file, i.path, "metaSchema", Severity.ERROR, i.message) for i in check_schema(schema)]
    if not isinstance(schema, dict):
        return issues
    if key_from_path is not None and "selfPath" not in skip:
        try:
            named = SchemaKey.from_self(schema.get("self"))
            if named != key_from_path:
                issues.append(LintIssue(file, "$.self", "selfPath", Severity.ERROR,
                                        f"the self block says {named.uri} but the file path says {key_from_path.uri}"))
        except InvalidSchemaKey as exc:
            issues.append(LintIssue(file, "$.self", "selfPath", Severity.ERROR, str(exc)))
    self_block = schema.get("self")
    if isinstance(self_block, dict) and (self_block.get("vendor"), self_block.get("name")) in ENVELOPES:
        skip = skip | COLUMN_CHECKS
    rules = [r for r in RULES if r.name not in skip]
    for node, path in _walk(schema, "$"):
        for rule in rules:
            for message in rule.check(node, path, path == "$"):
                issues.append(LintIssue(file, path, rule.name, rule.severity, message))
    return issues


def lint_file(item: SchemaFile, skip: frozenset[str] = frozenset()) -> list[LintIssue]:
    if item.key is None:
        return [LintIssue(item.relative, "$", "selfPath", Severity.ERROR, item.problem or "not a schema path")]
    try:
        schema = read_json(item.path)
    except ValueError as exc:
        return [LintIssue(item.relative, "$", "metaSchema", Severity.ERROR, str(exc))]
    return lint_schema(schema, item.relative, item.key, skip)


def lint_directory(root: Path, skip: frozenset[str] = frozenset()) -> list[LintIssue]:
    """Lint every jsonschema file under ``root`` (a registry root, its ``schemas/`` folder, or one file)."""
    if root.is_file():
        try:
            schema = read_json(root)
        except ValueError as exc:
            return [LintIssue(str(root), "$", "metaSchema", Severity.ERROR, str(exc))]
        return lint_schema(schema, str(root), None, skip)
    issues: list[LintIssue] = []
    for item in iter_schema_files(root):
        issues += lint_file(item, skip)
    return issues


def unknown_checks(names: frozenset[str]) -> list[str]:
    return sorted(names - set(CHECK_NAMES))
