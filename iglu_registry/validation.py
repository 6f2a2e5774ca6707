"""Validating self-describing JSON against its Iglu schema, with one compiled validator per key.

The pipeline calls :meth:`SchemaValidator.validate` for every entity of every event, from
several threads. The cost that matters is the cached path: a resolver cache hit, a dict
lookup for the compiled validator, and the validation itself. Compiling (and checking
the schema against the Iglu meta-schema) happens once per key and again only when the
resolver hands out a refreshed copy of the schema.

Semantics and messages are jsonschema's draft 4; reports are shaped like Snowplow's
``ValidationError`` data reports (``message``, ``path``, ``keyword``, ``targets``) so a
``schema_violations`` bad row can carry them unchanged.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError as JsonSchemaError
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT4

from iglu_registry.errors import ErrorKind, LookupHistory, RegistryError, ResolutionError
from iglu_registry.formats import format_checker
from iglu_registry.meta_schema import check_schema
from iglu_registry.resolver import ResolvedSchema, Resolver
from iglu_registry.resolver_config import json_path
from iglu_registry.schema_key import InvalidSchemaKey, SchemaKey, SchemaVer

_IGLU_HTTP = re.compile(r"^https?://iglucentral\.com/schemas/([^#]+?)#?$")
_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
               type(None): "null"}
_FORMATS = format_checker()


@dataclass(frozen=True, slots=True)
class DataReport:
    """One reason data failed its schema, as Snowplow reports it in ``dataReports``."""

    message: str
    path: str | None
    keyword: str | None
    targets: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"message": self.message, "path": self.path, "keyword": self.keyword, "targets": list(self.targets)}


def validation_error_json(reports: list[DataReport], superseded_by: str | None = None) -> dict[str, object]:
    """The ``error`` object of a ``schema_violations`` message for invalid data."""
    out: dict[str, object] = {"error": "ValidationError", "dataReports": [r.to_json() for r in reports]}
    if superseded_by is not None:
        out["supersededBy"] = superseded_by
    return out


def _targets(error: JsonSchemaError) -> tuple[str, ...]:
    kw, value, instance = error.validator, error.validator_value, error.instance
    if kw == "required":
        missing = [p for p in value if isinstance(instance, dict) and p not in instance]
        return tuple(str(p) for p in missing)
    if kw == "type":
        expected = value if isinstance(value, list) else [value]
        return (_TYPE_NAMES.get(type(instance), type(instance).__name__), *map(str, expected))
    if kw == "format":
        return (str(instance), str(value))
    if kw == "enum":
        return (json.dumps(value, separators=(",", ":")),)
    if kw == "additionalProperties" and isinstance(instance, dict):
        schema = error.schema if isinstance(error.schema, dict) else {}
        props = schema.get("properties", {})
        patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
        return tuple(k for k in instance if k not in props and not any(p.search(k) for p in patterns))
    if kw in ("allOf", "anyOf", "oneOf", "not", "dependencies", "items", "additionalItems", "properties"):
        return ()
    return (str(value).lower() if isinstance(value, bool) else str(value),)


def report(error: JsonSchemaError) -> DataReport:
    path = json_path(error.absolute_path)
    return DataReport(f"{path}: {error.message}", path, str(error.validator), _targets(error))


def _sort_key(r: DataReport) -> tuple[str, str, str]:
    return (r.path or "", r.keyword or "", r.message)


@dataclass(frozen=True, slots=True)
class _Compiled:
    source_version: int
    validator: Draft4Validator | None
    schema_problems: tuple[DataReport, ...]
    superseded_by: str | None


class SchemaValidator:
    """Validates data by schema key through a :class:`Resolver`; safe to share between threads."""

    def __init__(self, resolver: Resolver, *, check_meta_schema: bool = True) -> None:
        self.resolver = resolver
        self.check_meta_schema = check_meta_schema
        self._compiled: dict[SchemaKey, _Compiled] = {}
        self._lock = threading.Lock()
        self._registry = Registry(retrieve=self._retrieve)  # type: ignore[call-arg]

    def validate(self, key: SchemaKey, data: object) -> list[DataReport] | ResolutionError:
        """Reports for ``data`` under ``key`` (empty list = valid), or why the schema could not be had."""
        resolved = self.resolver.lookup(key)
        if type(resolved) is ResolutionError:
            return resolved
        compiled = self._compiled.get(key)
        if compiled is None or compiled.source_version != resolved.version:  # type: ignore[union-attr]
            compiled = self._compile(key, resolved)  # type: ignore[arg-type]
            if isinstance(compiled, ResolutionError):
                return compiled
        if compiled.validator is None:
            return list(compiled.schema_problems)
        try:
            errors = list(compiled.validator.iter_errors(data))
        except (re.error, Unresolvable) as exc:  # a schema that breaks only on some data (bad regex, bad $ref)
            return [DataReport(f"$: schema {key.uri} cannot be applied: {exc}", "$", None)]
        if not errors:
            return []
        return sorted((report(e) for e in errors), key=_sort_key)

    def is_valid(self, key: SchemaKey, data: object) -> bool:
        return self.validate(key, data) == []

    def superseded_by(self, key: SchemaKey) -> str | None:
        """The version that replaced ``key`` (``$supersededBy``), once ``key`` has been validated against."""
        compiled = self._compiled.get(key)
        return None if compiled is None else compiled.superseded_by

    def validate_self_describing(self, instance: object) -> tuple[SchemaKey | None, list[DataReport] | ResolutionError]:
        """Validate ``{"schema": "iglu:...", "data": ...}``; a malformed envelope is reported, not raised."""
        if not isinstance(instance, dict) or set(instance) != {"schema", "data"}:
            return None, [DataReport("$: self-describing JSON must be an object with exactly 'schema' and 'data'",
                                     "$", "required", ("schema", "data"))]
        try:
            key = SchemaKey.parse(instance["schema"])
        except InvalidSchemaKey as exc:
            return None, [DataReport(f"$.schema: {exc}", "$.schema", "pattern", (str(instance["schema"]),))]
        return key, self.validate(key, instance["data"])

    # --- compiling ------------------------------------------------------------------------

    def _compile(self, key: SchemaKey, resolved: ResolvedSchema) -> _Compiled | ResolutionError:
        schema = resolved.schema
        superseded_by: str | None = None
        target = schema.get("$supersededBy")
        if target is not None:
            try:
                newer = SchemaVer.parse(str(target))
            except InvalidSchemaKey as exc:
                return _client_failure(key, f"$supersededBy of {key.uri}: {exc}")
            if newer <= key.version:
                return _client_failure(key, f"{key.uri} is superseded by {newer}, which is not a newer version")
            replacement = self.resolver.lookup(key.with_version(newer))
            if isinstance(replacement, ResolutionError):
                return replacement
            schema, superseded_by = replacement.schema, str(newer)
        problems: tuple[DataReport, ...] = ()
        validator: Draft4Validator | None = None
        if self.check_meta_schema:
            issues = check_schema(schema)
            if issues:
                problems = tuple(DataReport(f"schema {key.uri} is not a valid Iglu schema: {i}", "$", "$schema")
                                 for i in issues[:20])
        if not problems:
            try:
                validator = Draft4Validator(schema, registry=self._registry, format_checker=_FORMATS)
            except Exception as exc:  # jsonschema rejects the schema itself
                problems = (DataReport(f"schema {key.uri} cannot be compiled: {exc}", "$", "$schema"),)
        compiled = _Compiled(resolved.version, validator, problems, superseded_by)
        with self._lock:
            self._compiled[key] = compiled
        return compiled

    def _retrieve(self, uri: str) -> Resource:
        """Remote ``$ref``s to Iglu Central go through the resolver, never straight to the network."""
        m = _IGLU_HTTP.match(uri)
        if m is None:
            raise NoSuchResource(ref=uri)
        try:
            key = SchemaKey.from_path(m[1].rstrip("/"))
        except InvalidSchemaKey:
            raise NoSuchResource(ref=uri) from None
        resolved = self.resolver.lookup(key)
        if isinstance(resolved, ResolutionError):
            raise NoSuchResource(ref=uri)
        return DRAFT4.create_resource(resolved.schema)


def _client_failure(key: SchemaKey, message: str) -> ResolutionError:
    from datetime import UTC, datetime

    return ResolutionError(key.uri, (LookupHistory("validator", (RegistryError(ErrorKind.CLIENT_FAILURE, message),),
                                                   1, datetime.now(UTC)),))
