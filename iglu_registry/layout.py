"""The static registry layout ``{root}/schemas/{vendor}/{name}/{format}/{M-R-A}``.

Embedded repositories, lint, the CI check and the server all walk the same folder shape
(the one Iglu Central and igluctl use); keeping the walk here gives one rule for which
files count as schemas and one clear message for the ones that do not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from iglu_registry.schema_key import InvalidSchemaKey, SchemaKey


def schemas_dir(root: Path) -> Path:
    """``root/schemas`` when it exists, else ``root`` itself (accepts a registry root or its schemas folder)."""
    inner = root / "schemas"
    return inner if inner.is_dir() else root


def schema_path(root: Path, key: SchemaKey) -> Path:
    return schemas_dir(root) / key.vendor / key.name / key.format / str(key.version)


@dataclass(frozen=True, slots=True)
class SchemaFile:
    """A file found in the layout: its key (from the path) or why the path is not a schema path."""

    path: Path
    relative: str
    key: SchemaKey | None
    problem: str | None = None


def iter_schema_files(root: Path, formats: tuple[str, ...] | None = ("jsonschema",)) -> Iterator[SchemaFile]:
    """Every file four levels below ``schemas/``, in a stable order.

    Non-jsonschema formats (Iglu Central also holds avro, thrift, protobuf) are skipped
    by default because nothing here validates against them.
    """
    base = schemas_dir(root)
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        rel = path.relative_to(base).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        try:
            key = SchemaKey.from_path(rel)
        except InvalidSchemaKey as exc:
            yield SchemaFile(path, rel, None, f"{rel}: not a schema path ({exc})")
            continue
        if formats is not None and key.format not in formats:
            continue
        yield SchemaFile(path, rel, key)


def read_json(path: Path) -> object:
    """Parse a JSON file; ValueError says which file and where the syntax broke."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def load_registry(root: Path) -> tuple[dict[SchemaKey, dict], list[str]]:
    """All jsonschema schemas under ``root`` keyed by their path, plus a problem per unreadable file."""
    schemas: dict[SchemaKey, dict] = {}
    problems: list[str] = []
    for item in iter_schema_files(root):
        if item.key is None:
            problems.append(item.problem or item.relative)
            continue
        try:
            data = read_json(item.path)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if not isinstance(data, dict):
            problems.append(f"{item.relative}: a schema must be a JSON object, found {type(data).__name__}")
            continue
        schemas[item.key] = data
    return schemas, problems
