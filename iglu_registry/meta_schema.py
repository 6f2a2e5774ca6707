"""Checking a schema against Iglu's meta-schema (``iglu:com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0``).

That meta-schema is "a draft-4 JSON Schema that also has a ``self`` block naming vendor,
name, format and version". It is rebuilt here from draft 4's own meta-schema (which
jsonschema ships) plus the ``self`` rules, so checking needs no registry and no network;
a test checks that it agrees with the copy published in Iglu Central.
"""

from __future__ import annotations

from dataclasses import dataclass

from jsonschema import Draft4Validator

from iglu_registry.resolver_config import json_path

META_SCHEMA_URI = "iglu:com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0"

IGLU_META_SCHEMA: dict = {
    "allOf": [
        {
            "properties": {
                "self": {
                    "type": "object",
                    "properties": {
                        "vendor": {"type": "string", "pattern": "^[a-zA-Z0-9-_.]+$"},
                        "name": {"type": "string", "pattern": "^[a-zA-Z0-9-_]+$"},
                        "format": {"type": "string", "pattern": "^[a-zA-Z0-9-_]+$"},
                        "version": {"type": "string", "pattern": "^[0-9]+-[0-9]+-[0-9]+$"},
                    },
                    "required": ["vendor", "name", "format", "version"],
                    "additionalProperties": False,
                }
            },
            "required": ["self"],
        },
        Draft4Validator.META_SCHEMA,
    ]
}

_CHECKER = Draft4Validator(IGLU_META_SCHEMA)


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    """One reason a schema is not a valid Iglu schema, at a JSON path inside the schema."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def check_schema(schema: object) -> list[SchemaIssue]:
    """Every meta-schema violation, deepest first inside each branch; empty means valid."""
    issues = []
    for error in _CHECKER.iter_errors(schema):
        leaves = _leaves(error)
        for leaf in leaves:
            issues.append(SchemaIssue(json_path(leaf.absolute_path), leaf.message))
    return sorted(set(issues), key=lambda i: (i.path, i.message))


def _leaves(error):  # noqa: ANN001, ANN202 - jsonschema.ValidationError tree
    """allOf reports one vague error; its context holds the specific ones a person can fix."""
    if error.validator == "allOf" and error.context:
        out = []
        for sub in error.context:
            out.extend(_leaves(sub))
        return out
    return [error]
