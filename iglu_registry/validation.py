"""Validating self-describing JSON against its Iglu schema, with one compiled validator per key.

The pipeline calls :meth:`SchemaValidator.validate` for every entity of every event, from
several threads. The cost that matters is the cached path: a resolver cache hit, a dict
lookup for the compiled validator, and the validation itself. Compiling (and checking
the schema against the Iglu meta-schema) happens once per key and again only when the
resolver hands out a refreshed copy of the schema.

Semantics and messages are jsonschema's draft 4 (``multipleOf`` in decimal, see
:mod:`iglu_registry.keywords`); reports are shaped like Snowplow's
``ValidationError`` data reports (``message``, ``path``, ``keyword``, ``targets``) so a
``schema_violations`` bad row can carry them unchanged.

Two engines share that contract. The reference (jsonschema) is the definition of right and
produces every report. The fast engine (jsonschema-rs, see :mod:`iglu_registry.fast_engine`)
only answers "valid?": valid data, nearly all traffic, never touches jsonschema, and invalid
data is handed to the reference for its reports. A key whose schema the fast engine cannot
take exactly stays on the reference; so does a key whose fast validator ever raises.

Where ``sptk_native`` is built, each fast key is also compiled natively (the same crate in
Rust, see :mod:`iglu_registry.native_engine`): the pipeline then checks an event's entities on
the JSON texts the codec read, through :meth:`SchemaValidator.native_lease`, without making
Python objects. A key the native engine cannot take exactly keeps jsonschema-rs.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Literal

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError as JsonSchemaError
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT4

from iglu_registry.errors import ErrorKind, LookupHistory, RegistryError, ResolutionError
from iglu_registry.fast_engine import FastCheck, RefUnavailable, Unsupported, compile_fast
from iglu_registry.formats import format_checker
from iglu_registry.keywords import ReferenceValidator
from iglu_registry.meta_schema import check_schema
from iglu_registry.native_engine import compile_native
from iglu_registry.resolver import ResolvedSchema, Resolver
from iglu_registry.resolver_config import json_path
from iglu_registry.schema_key import InvalidSchemaKey, SchemaKey, SchemaVer

_IGLU_HTTP = re.compile(r"^https?://iglucentral\.com/schemas/([^#]+?)#?$")
_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
               type(None): "null"}
_FORMATS = format_checker()
#: a key left on the reference because a registry failed while resolving its $refs tries the fast engine again
FAST_RETRY_SECONDS = 60.0
Engine = Literal["fast", "reference"]
log = logging.getLogger(__name__)


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
    #: jsonschema-rs ``is_valid`` with the reference's semantics; None = this key runs on the reference
    fast: FastCheck | None = None
    #: why ``fast`` is None (None when the fast engine is in use or the schema itself is broken)
    fallback: str | None = None
    #: monotonic time after which a retryable fallback (a registry failed during $ref resolution) is retried
    retry_fast_at: float | None = None
    #: the same verdict from ``sptk_native`` on a JSON text (``Schema.is_valid``); None = not native
    native: Any = None
    #: why ``native`` is None while ``fast`` is set
    native_fallback: str | None = None


class SchemaValidator:
    """Validates data by schema key through a :class:`Resolver`; safe to share between threads.

    ``engine="fast"`` (the default) decides validity with jsonschema-rs and runs jsonschema
    only for invalid data, to build its reports; ``engine="reference"`` runs jsonschema
    alone. Both give the same answers (``tests/unit/iglu_registry/test_fast_validator_parity.py``).
    """

    def __init__(self, resolver: Resolver, *, check_meta_schema: bool = True, engine: Engine = "fast") -> None:
        if engine not in ("fast", "reference"):
            raise ValueError(f"engine must be 'fast' (jsonschema-rs verdicts, jsonschema reports) or 'reference' "
                             f"(jsonschema only), got {engine!r}")
        self.resolver = resolver
        self.check_meta_schema = check_meta_schema
        self.engine = engine
        self._compiled: dict[SchemaKey, _Compiled] = {}
        self._lock = threading.Lock()
        self._logged: set[tuple[SchemaKey, str]] = set()
        self._registry = Registry(retrieve=self._retrieve)  # type: ignore[call-arg]

    def validate(self, key: SchemaKey, data: object) -> list[DataReport] | ResolutionError:
        """Reports for ``data`` under ``key`` (empty list = valid), or why the schema could not be had.

        ``data`` is a JSON value as a JSON parser returns it (see :mod:`iglu_registry.fast_engine`).
        """
        compiled = self._current(key)
        if type(compiled) is ResolutionError:
            return compiled
        fast = compiled.fast  # type: ignore[union-attr]
        if fast is not None:
            try:
                if fast(data):
                    return []
            except Exception as exc:  # never trust an engine that misbehaved once: the key moves to the reference
                self._demote(key, compiled, f"jsonschema-rs raised {type(exc).__name__}: {exc}")
        elif compiled.retry_fast_at is not None and time.monotonic() >= compiled.retry_fast_at:
            self._retry_fast(key, compiled)
        if compiled.validator is None:
            return list(compiled.schema_problems)
        try:
            errors = list(compiled.validator.iter_errors(data))
        except (re.error, Unresolvable) as exc:  # a schema that breaks only on some data (bad regex, bad $ref)
            return [DataReport(f"$: schema {key.uri} cannot be applied: {exc}", "$", None)]
        if not errors:
            if fast is not None:  # the reference has the last word; a stricter fast verdict only costs time
                self._log_once(key, "parity", f"{key.uri}: jsonschema-rs rejected data that jsonschema accepts; "
                               "the data is treated as valid (jsonschema's verdict). Please report this with the "
                               "schema and data: the fast engine should agree with the reference.")
            return []
        return sorted((report(e) for e in errors), key=_sort_key)

    def fast_verdict(self, key: SchemaKey, data: object) -> bool | None:
        """The fast engine's own verdict, unconfirmed by the reference; None if ``key`` runs on the reference.

        For parity checks and diagnostics; the pipeline calls :meth:`validate`.
        """
        compiled = self._current(key)
        if isinstance(compiled, ResolutionError) or compiled.fast is None:
            return None
        try:
            return compiled.fast(data)
        except Exception as exc:
            self._demote(key, compiled, f"jsonschema-rs raised {type(exc).__name__}: {exc}")
            return None

    def lease(self, key: SchemaKey) -> tuple[FastCheck, float] | None:
        """The fast engine's check for ``key`` and the resolver-clock time it may be used until, or None.

        Within the lease ``check(data) is True`` means exactly what ``validate(key, data) == []``
        means, without the lookup :meth:`validate` makes for every call; the holder must call
        :meth:`validate` for data the check rejects (or raises on: that demotes the key), after
        the lease ends, and once ``resolver.generation`` changes. Only schemas already resolved,
        compiled for the fast engine and not superseded get one.
        """
        held = self._leasable(key)
        return None if held is None or held[0].fast is None else (held[0].fast, held[1])

    def _leasable(self, key: SchemaKey) -> tuple[_Compiled, float] | None:
        """The compiled validators of ``key`` and their lease expiry, if ``key`` is resolved, fresh, not superseded."""
        compiled = self._compiled.get(key)
        if compiled is None or compiled.superseded_by is not None:
            return None
        fresh = self.resolver.fresh(key)
        if fresh is None or fresh[0].version != compiled.source_version:
            return None
        return compiled, fresh[1]

    def native_verdict(self, key: SchemaKey, text: str | bytes) -> bool | None:
        """The native engine's own verdict on a JSON text, unconfirmed; None if ``key`` is not native or the
        engine declines the text (a float at or beyond 2**63, whose draft-4 type it would misjudge).

        For parity checks and diagnostics; the pipeline uses :meth:`native_lease`.
        """
        compiled = self._current(key)
        if isinstance(compiled, ResolutionError) or compiled.native is None:
            return None
        verdict = compiled.native.is_valid(text)
        return None if verdict is None else bool(verdict)

    def native_lease(self, key: SchemaKey) -> tuple[Any, float] | None:
        """:meth:`lease` for the native engine: ``(sptk_native.Schema, expiry)``, under the same terms."""
        held = self._leasable(key)
        return None if held is None or held[0].native is None else (held[0].native, held[1])

    def native_fallback_reason(self, key: SchemaKey) -> str | None:
        """Why ``key`` is not validated natively, once ``key`` has been validated against."""
        compiled = self._compiled.get(key)
        if compiled is None:
            return None
        return compiled.fallback or compiled.native_fallback

    def fallback_reason(self, key: SchemaKey) -> str | None:
        """Why ``key`` is validated by the reference engine alone, once ``key`` has been validated against."""
        compiled = self._compiled.get(key)
        return None if compiled is None else compiled.fallback

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

    def _current(self, key: SchemaKey) -> _Compiled | ResolutionError:
        """The compiled validators for the schema the resolver currently hands out for ``key``."""
        resolved = self.resolver.lookup(key)
        if type(resolved) is ResolutionError:
            return resolved
        compiled = self._compiled.get(key)
        if compiled is None or compiled.source_version != resolved.version:  # type: ignore[union-attr]
            return self._compile(key, resolved)  # type: ignore[arg-type]
        return compiled

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
                validator = ReferenceValidator(schema, registry=self._registry, format_checker=_FORMATS)
            except Exception as exc:  # jsonschema rejects the schema itself
                problems = (DataReport(f"schema {key.uri} cannot be compiled: {exc}", "$", "$schema"),)
        compiled = _Compiled(resolved.version, validator, problems, superseded_by)
        if validator is not None:
            compiled = self._with_fast(key, compiled, schema)
        with self._lock:
            self._compiled[key] = compiled
        return compiled

    # --- the fast engine ------------------------------------------------------------------

    def _with_fast(self, key: SchemaKey, compiled: _Compiled, schema: dict) -> _Compiled:
        if self.engine == "reference":
            return replace(compiled, fallback="engine='reference' was chosen")
        fast = compile_fast(schema, self._fetch_ref)
        if not isinstance(fast, Unsupported):
            native = compile_native(schema, self._fetch_ref)
            if isinstance(native, Unsupported):
                return replace(compiled, fast=fast, fallback=None, retry_fast_at=None, native_fallback=native.reason)
            return replace(compiled, fast=fast, fallback=None, retry_fast_at=None, native=native)
        retry = time.monotonic() + FAST_RETRY_SECONDS if fast.retryable else None
        self._log_once(key, fast.reason, f"{key.uri}: validated by jsonschema alone (about 25x slower), not "
                       f"jsonschema-rs: {fast.reason}. Verdicts and reports are unaffected"
                       + (f"; jsonschema-rs is tried again in {FAST_RETRY_SECONDS:.0f}s." if retry else "."))
        return replace(compiled, fast=None, fallback=fast.reason, retry_fast_at=retry)

    def _retry_fast(self, key: SchemaKey, compiled: _Compiled) -> None:
        if compiled.validator is not None:
            self._swap(key, compiled, self._with_fast(key, compiled, compiled.validator.schema))  # type: ignore[arg-type]

    def _demote(self, key: SchemaKey, compiled: _Compiled, reason: str) -> None:
        self._log_once(key, "demoted", f"{key.uri}: moved to the reference engine (jsonschema) for good: {reason}. "
                       "Verdicts and reports are unaffected; please report this with the schema and data.")
        self._swap(key, compiled, replace(compiled, fast=None, fallback=reason, retry_fast_at=None, native=None))

    def _swap(self, key: SchemaKey, old: _Compiled, new: _Compiled) -> None:
        with self._lock:
            if self._compiled.get(key) is old:  # a concurrent recompile of a refreshed schema wins
                self._compiled[key] = new

    def _log_once(self, key: SchemaKey, topic: str, message: str) -> None:
        with self._lock:
            if (key, topic) in self._logged:
                return
            self._logged.add((key, topic))
        log.warning(message)

    def _fetch_ref(self, uri: str) -> dict:
        """The schema a remote ``$ref`` names, through the resolver; the fast engine's half of :meth:`_retrieve`."""
        key = _iglu_ref_key(uri)
        if key is None:
            raise RefUnavailable(uri, "only http(s)://iglucentral.com/schemas/... refs are resolved (through the "
                                 "resolver)", retryable=False)
        resolved = self.resolver.lookup(key)
        if isinstance(resolved, ResolutionError):
            raise RefUnavailable(uri, f"{key.uri} could not be resolved", retryable=resolved.retryable)
        return resolved.schema

    def _retrieve(self, uri: str) -> Resource:
        """Remote ``$ref``s to Iglu Central go through the resolver, never straight to the network."""
        key = _iglu_ref_key(uri)
        if key is None:
            raise NoSuchResource(ref=uri)
        resolved = self.resolver.lookup(key)
        if isinstance(resolved, ResolutionError):
            raise NoSuchResource(ref=uri)
        return DRAFT4.create_resource(resolved.schema)


def _iglu_ref_key(uri: str) -> SchemaKey | None:
    m = _IGLU_HTTP.match(uri)
    if m is None:
        return None
    try:
        return SchemaKey.from_path(m[1].rstrip("/"))
    except InvalidSchemaKey:
        return None


def _client_failure(key: SchemaKey, message: str) -> ResolutionError:
    from datetime import UTC, datetime

    return ResolutionError(key.uri, (LookupHistory("validator", (RegistryError(ErrorKind.CLIENT_FAILURE, message),),
                                                   1, datetime.now(UTC)),))
