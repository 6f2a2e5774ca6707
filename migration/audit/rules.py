"""Naming conventions the audit holds an event estate to, from a YAML file (``--rules``) or the defaults.

The defaults are the conventions Iglu Central and Snowplow's own trackers follow, so an estate that
keeps them loads into every warehouse without renamed columns::

    vendor: '^[a-z][a-z0-9-]*(\\.[a-z0-9][a-z0-9-]*)+$'   # reverse DNS: com.acme, io.acme-labs
    schema_name: '^[a-z][a-z0-9]*(_[a-z0-9]+)*$'          # snake_case: checkout_step
    app_id: '^[a-z0-9][a-z0-9._-]*$'                        # lower case, no spaces: shop-web, shop.ios
    platform: [web, mob, pc, srv, app, tv, cnsl, iot]       # the tracker protocol's platforms

A key set to ``null`` turns its rule off; a key left out keeps its default; any other key is an error
that names it. Patterns are Python regular expressions matched against the whole value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iglu_registry.yaml_files import YamlFileError, read_yaml

#: the tracker protocol's ``p`` values (Snowplow's tracker protocol, "platform")
PLATFORMS = ("web", "mob", "pc", "srv", "app", "tv", "cnsl", "iot")
DEFAULT_PATTERNS: dict[str, str] = {
    "vendor": r"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$",
    "schema_name": r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$",
    "app_id": r"^[a-z0-9][a-z0-9._-]*$",
}
WHAT = {"vendor": "reverse DNS (com.acme)", "schema_name": "snake_case", "app_id": "lower case without spaces",
        "platform": "one of the tracker protocol's platforms"}
KEYS = (*DEFAULT_PATTERNS, "platform")


class RulesError(ValueError):
    """The rules file cannot be used; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class NamingRules:
    origin: str
    patterns: dict[str, re.Pattern[str]]  # rule -> compiled pattern, for the rules that are on
    platforms: tuple[str, ...] | None

    def violates(self, rule: str, value: str) -> bool:
        if rule == "platform":
            return self.platforms is not None and value not in self.platforms
        pattern = self.patterns.get(rule)
        return pattern is not None and pattern.fullmatch(value) is None

    def expectation(self, rule: str) -> str:
        if rule == "platform":
            return f"one of {', '.join(self.platforms or ())}"
        return f"{WHAT[rule]}: matches {self.patterns[rule].pattern}"

    def describe(self) -> dict[str, Any]:
        """The rules as applied, for the report (``null``: the rule is off)."""
        out: dict[str, Any] = {rule: (self.patterns[rule].pattern if rule in self.patterns else None)
                               for rule in DEFAULT_PATTERNS}
        out["platform"] = list(self.platforms) if self.platforms is not None else None
        return {"origin": self.origin, **out}


def default_rules() -> NamingRules:
    return parse_rules({}, "defaults")


def parse_rules(data: Any, origin: str) -> NamingRules:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesError(f"{origin}: expected a table of rules ({', '.join(KEYS)}), got {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in KEYS)
    if unknown:
        raise RulesError(f"{origin}: unknown rule(s) {', '.join(unknown)}; known: {', '.join(KEYS)}")
    patterns: dict[str, re.Pattern[str]] = {}
    for rule, default in DEFAULT_PATTERNS.items():
        text = data.get(rule, default)
        if text is None:
            continue
        if not isinstance(text, str):
            raise RulesError(f"{origin}: {rule}: expected a regular expression as text, or null, got {text!r}")
        try:
            patterns[rule] = re.compile(text)
        except re.error as exc:
            raise RulesError(f"{origin}: {rule}: {text!r} is not a regular expression ({exc})") from None
    platforms = data.get("platform", list(PLATFORMS))
    if platforms is not None and (not isinstance(platforms, list) or not all(isinstance(p, str) for p in platforms)):
        raise RulesError(f"{origin}: platform: expected a list of platform names, or null, got {platforms!r}")
    return NamingRules(origin, patterns, tuple(platforms) if platforms is not None else None)


def load_rules(path: Path) -> NamingRules:
    try:
        data = read_yaml(path, "rules file")
    except YamlFileError as exc:
        raise RulesError(str(exc)) from None
    return parse_rules(data, str(path))
