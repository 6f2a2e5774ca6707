"""One audit from the command line's inputs: the resolver, the governance and rules files, then the source.

The files are read before the source is opened, so a typo in one of them stops the audit before a large
source (or a Kafka topic) is read for nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from iglu_registry.governance import Governance, GovernanceError, load_governance
from iglu_registry.resolver import Resolver
from iglu_registry.resolver_config import ResolverConfigError
from migration.audit.engine import TOP_TYPES, Audit
from migration.audit.rules import NamingRules, RulesError, default_rules, load_rules
from migration.audit.schemas import SchemaCheck
from migration.audit.source import open_audited


class AuditUsage(ValueError):
    """A file the audit was given cannot be used; nothing was read."""


def _inputs(resolver_path: Path | None, governance_path: Path | None,
            rules_path: Path | None) -> tuple[Resolver | None, Governance | None, NamingRules]:
    try:
        resolver = Resolver.from_config(resolver_path) if resolver_path else None
        governance = load_governance(governance_path) if governance_path else None
        rules = load_rules(rules_path) if rules_path else default_rules()
    except (ResolverConfigError, GovernanceError, RulesError) as exc:
        raise AuditUsage(str(exc)) from None
    return resolver, governance, rules


def run_audit(source: str, *, resolver_path: Path | None = None, governance_path: Path | None = None,
              rules_path: Path | None = None, memory_limit: str = "1GB",
              on_step: Callable[[str], None] = lambda step: None) -> dict[str, Any]:
    """The ``sptk-audit/1`` document of ``source``; AuditUsage or BadSource for a usage error, SourceFailed when
    the source cannot be read."""
    resolver, governance, rules = _inputs(resolver_path, governance_path, rules_path)
    settings = {"resolver": str(resolver_path) if resolver_path else None,
                "governance": str(governance_path) if governance_path else None,
                "rules": str(rules_path) if rules_path else None, "top_types": TOP_TYPES}
    with open_audited(source, memory_limit, on_step) as (backend, side):
        return Audit(backend, side, rules, SchemaCheck(resolver, governance), settings, on_step).run()
