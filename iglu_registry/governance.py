"""Who owns each schema, who must approve a change to it, and which schemas are deprecated.

A schema repository keeps one governance file beside ``schemas/`` (``governance.yml``)::

    owners:
      - match: "com.acme.checkout/*"        # vendor/name, shell-style wildcards
        owners: [team-checkout]
        approvers: ["@acme/checkout-leads"]  # default: the owners
    deprecations:
      - schema: "iglu:com.acme/old_click/jsonschema/1-*-*"
        deprecated: 2026-01-15
        sunset: 2026-06-30                    # optional: after it, the pipeline may refuse the events
        replacement: "iglu:com.acme/click/jsonschema/2-0-0"
        reason: "merged into click 2"

Deprecation lives here and not inside the schema (ADR 0009): a published schema never
changes (``iglu check`` refuses an overwritten version, and every resolver cache holds the old
bytes), while a deprecation is decided after publication and its dates move.

Ownership is resolved by the *most specific* matching rule (the one with the most literal
characters; a tie goes to the later rule), so a team's rule beats its domain's catch-all
whatever the order of the file.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from iglu_registry.schema_key import InvalidSchemaKey, SchemaCriterion, SchemaKey
from iglu_registry.yaml_files import YamlFileError, read_yaml

#: the governance file ``sptk iglu check`` reads from a registry root unless told otherwise
DEFAULT_FILE = "governance.yml"

_OWNER_KEYS = frozenset({"match", "owners", "approvers"})
_DEPRECATION_KEYS = frozenset({"schema", "deprecated", "sunset", "replacement", "reason"})


class GovernanceError(ValueError):
    """The governance file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class OwnerRule:
    """Schemas whose ``vendor/name`` matches ``match`` belong to ``owners``; a change needs ``approvers``."""

    match: str
    owners: tuple[str, ...]
    approvers: tuple[str, ...]

    def matches(self, key: SchemaKey) -> bool:
        return fnmatch.fnmatchcase(f"{key.vendor}/{key.name}", self.match)

    @property
    def specificity(self) -> int:
        return sum(1 for c in self.match if c not in "*?[]")


@dataclass(frozen=True)
class Deprecation:
    """One deprecated schema (or range of versions): since when, until when, and what to send instead."""

    criterion: SchemaCriterion
    deprecated: date
    sunset: date | None = None
    replacement: SchemaKey | None = None
    reason: str = ""

    @property
    def sunset_text(self) -> str:
        """``YYYY-MM-DD``, compared as text with a ``collector_tstamp``'s first ten characters."""
        return self.sunset.isoformat() if self.sunset else ""

    def past_sunset(self, day: str) -> bool:
        """Whether ``day`` (``YYYY-MM-DD``, or any text starting with it) is after the sunset."""
        return self.sunset is not None and day[:10] > self.sunset_text

    def header_value(self) -> str:
        """What the ``sp.schema.deprecated`` header carries: the dates and the replacement, ``;``-separated."""
        parts = [f"deprecated={self.deprecated.isoformat()}"]
        if self.sunset:
            parts.append(f"sunset={self.sunset_text}")
        if self.replacement:
            parts.append(f"replacement={self.replacement.uri}")
        return ";".join(parts)

    def describe(self) -> str:
        text = f"deprecated since {self.deprecated.isoformat()}"
        if self.sunset:
            text += f", sunset {self.sunset_text}"
        if self.replacement:
            text += f"; send {self.replacement.uri} instead"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"schema": self.criterion.uri, "deprecated": self.deprecated.isoformat(),
                "sunset": self.sunset_text or None, "replacement": self.replacement.uri if self.replacement else None,
                "reason": self.reason}


@dataclass(frozen=True)
class Governance:
    """The parsed governance file."""

    origin: str
    owners: tuple[OwnerRule, ...] = ()
    deprecations: tuple[Deprecation, ...] = ()

    def owner_of(self, key: SchemaKey) -> OwnerRule | None:
        """The most specific rule matching ``key`` (the later one on a tie), or ``None``: nobody owns it."""
        best: OwnerRule | None = None
        for rule in self.owners:
            if rule.matches(key) and (best is None or rule.specificity >= best.specificity):
                best = rule
        return best

    def deprecation_of(self, key: SchemaKey) -> Deprecation | None:
        """The first deprecation whose criterion matches ``key``."""
        return next((d for d in self.deprecations if d.criterion.matches(key)), None)


class DeprecationLookup:
    """``deprecation_of`` by schema URI as the event carries it, answered from a cache after the first time.

    The pipeline asks once per event with the event's schema URI; a stream uses a handful of
    schemas, so the cache is a dict hit and the criteria are matched once per URI. The cache is
    bounded (a stream of junk URIs cannot grow it without end).
    """

    LIMIT = 4096

    def __init__(self, governance: Governance) -> None:
        self.governance = governance
        self._cache: dict[str | None, Deprecation | None] = {None: None}

    def __call__(self, uri: str | None) -> Deprecation | None:
        try:
            return self._cache[uri]
        except KeyError:
            pass
        try:
            found = self.governance.deprecation_of(SchemaKey.parse(uri))  # type: ignore[arg-type]
        except InvalidSchemaKey:
            found = None
        if len(self._cache) >= self.LIMIT:
            self._cache = {None: None}
        self._cache[uri] = found
        return found


def _strings(value: Any, where: str, *, required: bool) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value) or \
            (required and not value):
        raise GovernanceError(f"{where}: expected a non-empty list of names, got {value!r}")
    return tuple(v.strip() for v in value)


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise GovernanceError(f"{where}: expected a date YYYY-MM-DD, got {value!r}")


def _closed(entry: Any, keys: frozenset[str], where: str) -> Mapping[str, Any]:
    if not isinstance(entry, Mapping):
        raise GovernanceError(f"{where}: expected a table, got {type(entry).__name__}")
    unknown = sorted(set(entry) - keys)
    if unknown:
        raise GovernanceError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; "
                              f"known: {', '.join(sorted(keys))}")
    return entry


def _owner_rule(entry: Any, where: str) -> OwnerRule:
    entry = _closed(entry, _OWNER_KEYS, where)
    match = entry.get("match")
    if not isinstance(match, str) or "/" not in match:
        raise GovernanceError(f"{where}.match: expected a vendor/name pattern such as \"com.acme.checkout/*\", "
                              f"got {match!r}")
    owners = _strings(entry.get("owners"), f"{where}.owners", required=True)
    approvers = _strings(entry.get("approvers"), f"{where}.approvers", required=False) or owners
    return OwnerRule(match, owners, approvers)


def _deprecation(entry: Any, where: str) -> Deprecation:
    entry = _closed(entry, _DEPRECATION_KEYS, where)
    try:
        criterion = SchemaCriterion.parse(str(entry.get("schema", "")))
    except InvalidSchemaKey as exc:
        raise GovernanceError(f"{where}.schema: {exc}") from None
    if "deprecated" not in entry:
        raise GovernanceError(f"{where}.deprecated: missing; the date the schema was deprecated (YYYY-MM-DD)")
    since = _date(entry["deprecated"], f"{where}.deprecated")
    sunset = _date(entry["sunset"], f"{where}.sunset") if entry.get("sunset") is not None else None
    if sunset is not None and sunset < since:
        raise GovernanceError(f"{where}.sunset: {sunset} is before the deprecation date {since}")
    replacement = None
    if entry.get("replacement") is not None:
        try:
            replacement = SchemaKey.parse(str(entry["replacement"]))
        except InvalidSchemaKey as exc:
            raise GovernanceError(f"{where}.replacement: {exc}") from None
    reason = entry.get("reason", "")
    if not isinstance(reason, str):
        raise GovernanceError(f"{where}.reason: expected text, got {reason!r}")
    return Deprecation(criterion, since, sunset, replacement, reason)


def parse_governance(data: Any, origin: str) -> Governance:
    """The governance document ``data`` (parsed YAML); :class:`GovernanceError` names what is wrong and where."""
    if data is None:
        return Governance(origin)
    top = _closed(data, frozenset({"owners", "deprecations"}), origin)
    owners, deprecations = top.get("owners") or [], top.get("deprecations") or []
    for name, value in (("owners", owners), ("deprecations", deprecations)):
        if not isinstance(value, list):
            raise GovernanceError(f"{origin}: {name} must be a list of tables, got {type(value).__name__}")
    return Governance(origin, tuple(_owner_rule(e, f"{origin}: owners[{i}]") for i, e in enumerate(owners)),
                      tuple(_deprecation(e, f"{origin}: deprecations[{i}]") for i, e in enumerate(deprecations)))


def load_governance(path: Path) -> Governance:
    """Read and check a governance file (YAML)."""
    try:
        data = read_yaml(path, "governance file")
    except YamlFileError as exc:
        raise GovernanceError(str(exc)) from None
    return parse_governance(data, str(path))
