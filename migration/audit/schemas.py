"""Schemas used vs registered: which the data uses, which no registry knows, which sit unused, which are deprecated.

An event's own schema is known to the version (``event_vendor/name/format/version``). An entity (a context) is
known only by its wide-row column, ``contexts_com_acme_product_1``: loaders keep the model, drop the rest of the
version, and fold the vendor's dots and the name's case into underscores. So an entity column is matched to a schema
*model* (``iglu:com.acme/product/jsonschema/1-*-*``): first against every schema the resolver's repositories
can list, else by asking the resolver for the model's first version (``M-0-0``) under each way of splitting the
column back into vendor and name. A column nothing matches is unknown; one whose lookups a registry could not
answer is unresolved (the registry, not the data, is the problem).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connectors.warehouse.columns import entity_column, entity_key
from iglu_registry.errors import ResolutionError
from iglu_registry.governance import Deprecation, Governance
from iglu_registry.lint import ENVELOPES
from iglu_registry.listing import registered_schemas
from iglu_registry.resolver import Resolver
from iglu_registry.schema_key import InvalidSchemaKey, SchemaKey, SchemaVer

SNOWPLOW = "com.snowplowanalytics.snowplow"
#: Snowplow's built-in events, as enrich fills their event_* columns: they name a type, not an Iglu schema one could
#: resolve (a structured event is ``com.google.analytics/event``)
BUILT_IN_EVENTS = frozenset({(SNOWPLOW, "page_view"), (SNOWPLOW, "page_ping"), (SNOWPLOW, "transaction"),
                             (SNOWPLOW, "transaction_item"), ("com.google.analytics", "event")})


@dataclass(frozen=True, slots=True)
class Model:
    """An entity column's schema model: vendor, name, format and model number."""

    vendor: str
    name: str
    model: int
    format: str = "jsonschema"

    @property
    def uri(self) -> str:
        return f"iglu:{self.vendor}/{self.name}/{self.format}/{self.model}-*-*"


def event_schema(vendor: Any, name: Any, fmt: Any, version: Any) -> SchemaKey | None:
    """The Iglu key of a self-describing event type; None for a built-in event or columns that name no key."""
    if (vendor, name) in BUILT_IN_EVENTS:
        return None
    try:
        return SchemaKey.parse(f"iglu:{vendor}/{name}/{fmt or 'jsonschema'}/{version}")
    except InvalidSchemaKey:
        return None


def context_column(vendor: str, name: str, model: int) -> str:
    return entity_column(entity_key("contexts", vendor, name, model))


def _split(column: str) -> tuple[list[str], int] | None:
    """``contexts_com_acme_page_view_1`` -> ([com, acme, page, view], 1)."""
    body, _, major = column.removeprefix("contexts_").rpartition("_")
    if not major.isdigit() or not body:
        return None
    return body.split("_"), int(major)


@dataclass(slots=True)
class SchemaCheck:
    """What the resolver, its listing and the governance file say about the schemas the data uses."""

    resolver: Resolver | None
    governance: Governance | None
    registered: set[SchemaKey] = field(default_factory=set)
    unlisted: dict[str, str] = field(default_factory=dict)
    _by_column: dict[str, Model] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.resolver is None:
            return
        listing = registered_schemas(self.resolver)
        self.registered, self.unlisted = listing.keys, listing.unlisted
        for key in sorted(self.registered):
            self._by_column.setdefault(context_column(key.vendor, key.name, key.version.model),
                                       Model(key.vendor, key.name, key.version.model, key.format))

    def event_status(self, key: SchemaKey) -> str:
        if self.resolver is None:
            return "unchecked"
        found = self.resolver.lookup(key)
        if not isinstance(found, ResolutionError):
            return "registered"
        return "unknown" if found.not_found else "unresolved"

    def entity(self, column: str) -> tuple[Model | None, str]:
        """The model behind an entity column, and its status: registered, unknown, unresolved or unchecked."""
        if column in self._by_column:
            return self._by_column[column], "registered"
        if self.resolver is None:
            return None, "unchecked"
        split = _split(column)
        if split is None:
            return None, "unknown"
        parts, major = split
        status = "unknown"
        for cut in range(1, len(parts)):
            model = Model(".".join(parts[:cut]), "_".join(parts[cut:]), major)
            found = self.resolver.lookup(SchemaKey(model.vendor, model.name, model.format, SchemaVer(major, 0, 0)))
            if not isinstance(found, ResolutionError):
                return model, "registered"
            if found.retryable:
                status = "unresolved"
        return None, status

    def deprecation(self, key: SchemaKey) -> Deprecation | None:
        return self.governance.deprecation_of(key) if self.governance else None

    def entity_deprecations(self, column: str) -> list[Deprecation]:
        """Deprecations whose schema is this column's model (whatever version: the column does not say)."""
        if self.governance is None:
            return []
        return [d for d in self.governance.deprecations if d.criterion.model is not None
                and context_column(d.criterion.vendor, d.criterion.name, d.criterion.model) == column]

    def unused(self, events: Iterable[SchemaKey], columns: Iterable[str]) -> list[SchemaKey]:
        """Registered (listable) schemas the data never uses: not an event's exact version, nor the model of an
        entity column; Snowplow's envelopes (contexts, unstruct_event, payload_data) never appear themselves."""
        used, seen = set(events), set(columns)
        out = []
        for key in sorted(self.registered):
            if (key.vendor, key.name) in ENVELOPES or key in used:
                continue
            if context_column(key.vendor, key.name, key.version.model) in seen:
                continue
            out.append(key)
        return out
