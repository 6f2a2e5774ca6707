"""Snowplow's resolver configuration (``iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-x``).

Teams already have this file for their enrich and loaders; accepting it unchanged means
one source of truth for which registries a pipeline trusts. Snowplow's own tools read it
as HOCON (comments, unquoted keys, ``${?IGLU_API_KEY}``), so many teams keep it that way
(``iglu_resolver.hocon``); :func:`load_resolver_config` reads both. It is checked against the
structure of the published resolver-config schemas (written out below from their
documented shape, versions 1-0-0 to 1-0-3) and every problem is reported with its JSON
path, because a typo in a 40-line config is otherwise hard to find.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jsonschema import Draft4Validator

from iglu_registry.schema_key import InvalidSchemaKey, SchemaCriterion, SchemaKey

CONFIG_CRITERION = SchemaCriterion.parse("iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-*")


class ResolverConfigError(ValueError):
    """The resolver config cannot be used; the message lists every problem with its path."""


def _config_schema(addition: int) -> dict:
    """The resolver-config structure for 1-0-``addition``: apikey from 1-0-1, cacheTtl from 1-0-2."""
    number = "integer" if addition < 2 else "number"
    http_props: dict = {"uri": {"type": "string"}}
    if addition >= 1:
        http_props["apikey"] = {"type": ["string", "null"]}
    root_props: dict = {"cacheSize": {"type": number, "minimum": 0}, "repositories": {"type": "array", "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "priority": {"type": number},
            "vendorPrefixes": {"type": "array", "items": {"type": "string"}},
            "connection": {"type": "object", "oneOf": [
                {"properties": {"embedded": {"type": "object", "properties": {"path": {"type": "string"}},
                                             "required": ["path"], "additionalProperties": False}},
                 "required": ["embedded"], "additionalProperties": False},
                {"properties": {"http": {"type": "object", "properties": http_props,
                                         "required": ["uri"], "additionalProperties": False}},
                 "required": ["http"], "additionalProperties": False},
            ]},
        },
        "required": ["name", "priority", "vendorPrefixes", "connection"],
        "additionalProperties": False,
    }}}
    if addition >= 2:
        root_props["cacheTtl"] = {"type": ["integer", "null"], "minimum": 0 if addition >= 3 else 1}
    return {"type": "object", "properties": root_props, "required": ["cacheSize", "repositories"],
            "additionalProperties": False}


_VALIDATORS = {a: Draft4Validator(_config_schema(a)) for a in range(4)}


@dataclass(frozen=True, slots=True)
class RepositoryConfig:
    name: str
    priority: float
    vendor_prefixes: tuple[str, ...]
    embedded_path: str | None = None
    http_uri: str | None = None
    apikey: str | None = None


@dataclass(frozen=True, slots=True)
class ResolverConfig:
    """``cache_ttl`` in seconds; None means cached schemas never expire (as in Snowplow's clients)."""

    cache_size: int
    cache_ttl: float | None
    repositories: tuple[RepositoryConfig, ...]
    schema: str


def json_path(parts: object) -> str:
    """``$.repositories[0].connection``: the path style Snowplow's validation reports use."""
    out = "$"
    for part in parts:  # type: ignore[attr-defined]
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def parse_resolver_config(document: object, base_dir: Path | None = None) -> ResolverConfig:
    """Check and read a resolver config; relative embedded paths resolve against ``base_dir``."""
    if not isinstance(document, dict) or "schema" not in document or "data" not in document:
        raise ResolverConfigError(
            "a resolver config is self-describing JSON: {\"schema\": \"iglu:com.snowplowanalytics.iglu/"
            "resolver-config/jsonschema/1-0-3\", \"data\": {\"cacheSize\": ..., \"repositories\": [...]}}")
    try:
        key = SchemaKey.parse(document["schema"])
    except InvalidSchemaKey as exc:
        raise ResolverConfigError(f"$.schema: {exc}") from None
    if not CONFIG_CRITERION.matches(key) or key.version.addition > 3:
        raise ResolverConfigError(f"$.schema: {key.uri} is not a resolver config this client reads "
                                  "(iglu:com.snowplowanalytics.iglu/resolver-config/jsonschema/1-0-0 to 1-0-3)")
    data = document["data"]
    errors = sorted(_VALIDATORS[key.version.addition].iter_errors(data), key=lambda e: list(e.absolute_path))
    problems = [f"{json_path(['data', *e.absolute_path])}: {_explain(e)}" for e in errors]
    if not problems:
        names = [r["name"] for r in data["repositories"]]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(f"$.data.repositories: repository names must be unique, repeated: {', '.join(dupes)}")
        for i, repo in enumerate(data["repositories"]):
            http = repo["connection"].get("http")
            if http and not str(http["uri"]).startswith(("http://", "https://")):
                problems.append(f"$.data.repositories[{i}].connection.http.uri: {http['uri']!r} "
                                "must be an http:// or https:// URL")
        if isinstance(data["cacheSize"], float) and not data["cacheSize"].is_integer():
            problems.append("$.data.cacheSize: must be a whole number of entries")
    if problems:
        raise ResolverConfigError(f"invalid resolver config ({key.uri}):\n  " + "\n  ".join(problems))
    repos: list[RepositoryConfig] = []
    for repo in data["repositories"]:
        conn = repo["connection"]
        embedded = conn.get("embedded")
        http = conn.get("http")
        path = None
        if embedded is not None:
            p = Path(embedded["path"])
            path = str(p if p.is_absolute() or base_dir is None else (base_dir / p))
        repos.append(RepositoryConfig(
            name=repo["name"], priority=repo["priority"], vendor_prefixes=tuple(repo["vendorPrefixes"]),
            embedded_path=path, http_uri=http["uri"] if http else None, apikey=http.get("apikey") if http else None))
    ttl = data.get("cacheTtl")
    return ResolverConfig(int(data["cacheSize"]), None if ttl is None else float(ttl), tuple(repos), key.uri)


def _explain(error) -> str:  # noqa: ANN001 - jsonschema.ValidationError
    if error.validator == "oneOf" and list(error.path)[-1:] == ["connection"]:
        return "connection must hold exactly one of {\"embedded\": {\"path\": ...}} or {\"http\": {\"uri\": ...}}"
    if error.validator == "additionalProperties":
        return f"{error.message} (check the spelling against the resolver-config schema)"
    return error.message


def load_resolver_config(path: Path) -> ResolverConfig:
    """Read a resolver config file, JSON or HOCON; every place that reads a resolver file comes here.

    JSON is tried first: it is the common case, and HOCON's parser is far slower. A file that is
    not JSON is read as HOCON (a superset of JSON), with ``${VAR}`` and ``${?VAR}`` substitutions
    from the environment. When neither reads it, the error names the line: the JSON one for a
    ``.json`` file, the HOCON one otherwise.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ResolverConfigError(f"cannot read resolver config {path}: {exc.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        json_error = f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        try:
            document = _read_hocon(text, path)
        except ResolverConfigError:
            if path.suffix.lower() == ".json":
                raise ResolverConfigError(json_error) from None
            raise
    return parse_resolver_config(document, base_dir=path.parent)


def _read_hocon(text: str, path: Path) -> object:
    from pyhocon import ConfigFactory, ConfigTree
    from pyhocon.exceptions import ConfigException
    from pyparsing import ParseBaseException

    try:
        tree = ConfigFactory.parse_string(text, basedir=str(path.parent))
    except ParseBaseException as exc:
        raise ResolverConfigError(f"{path}: invalid HOCON at line {exc.lineno} column {exc.col}: {exc.msg}") from None
    except ConfigException as exc:  # an unresolved ${VAR} names its line itself
        raise ResolverConfigError(f"{path}: invalid HOCON: {exc}; for a value that may be unset, write ${{?VAR}}") \
            from None
    except (OSError, ValueError) as exc:  # an include that cannot be read, a value that cannot be read
        raise ResolverConfigError(f"{path}: cannot read it as HOCON: {exc}") from None
    if not isinstance(tree, ConfigTree):  # a bare list or value
        raise ResolverConfigError(f"{path}: a resolver config is an object with 'schema' and 'data', not "
                                  f"{type(tree).__name__}")
    return tree.as_plain_ordered_dict()
