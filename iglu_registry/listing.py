"""Every schema a resolver's repositories hold, where a repository can say (for "registered but never used").

Embedded folders and in-memory repositories are listed whole, an Iglu Server through ``GET /api/schemas``;
a static HTTP site has no listing, so it is named as unlisted rather than read as empty: a schema it holds
can still be resolved one key at a time, but never reported unused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from iglu_registry.errors import RegistryFailure
from iglu_registry.resolver import Resolver
from iglu_registry.schema_key import SchemaKey


@dataclass(slots=True)
class Registered:
    keys: set[SchemaKey] = field(default_factory=set)
    #: repositories that could not be listed, each with why
    unlisted: dict[str, str] = field(default_factory=dict)


def registered_schemas(resolver: Resolver) -> Registered:
    out = Registered()
    for repository in resolver.repositories:
        list_all = getattr(repository, "list_all", None)
        if list_all is None:
            out.unlisted[repository.ref.name] = "this kind of repository cannot list its schemas"
            continue
        try:
            out.keys.update(list_all())
        except RegistryFailure as exc:
            out.unlisted[repository.ref.name] = str(exc)
    return out
