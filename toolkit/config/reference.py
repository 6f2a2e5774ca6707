"""docs/pipeline.md's key reference, rendered from the config models so the two cannot disagree.

``python -m toolkit.config.reference`` rewrites the part of docs/pipeline.md between
:data:`BEGIN` and :data:`END`; ``--check`` only says whether it is stale. The type,
default and meaning of every key come from :mod:`toolkit.config.models` (annotations,
constraints, ``Field(description=...)``, section docstrings and :class:`~toolkit.config.values.Doc`
where words read better than a value), the same text ``sptk config schema`` gives editors.
"""

from __future__ import annotations

import inspect
import sys
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from toolkit.config.key_types import bare_type
from toolkit.config.librdkafka import ClientSettings
from toolkit.config.models import PipelineConfig
from toolkit.config.schema import as_written
from toolkit.config.secrets import Secret
from toolkit.config.values import Doc

BEGIN = ("<!-- BEGIN config reference: generated from toolkit/config/models.py by "
         "`python -m toolkit.config.reference` -->")
END = "<!-- END config reference -->"
DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "pipeline.md"

_HEADINGS = {"derived": "[[derived]]", "privacy": "[privacy.<stream>]"}
_SCALARS = {bool: "bool", int: "int", float: "number", str: "string", Path: "path"}
_OWN = object()


def render_reference() -> str:
    """One ``###`` section per top-level key: the section's purpose, then a table of its keys."""
    first_seen: dict[type[BaseModel], str] = {}
    parts: list[str] = []
    for name, f in PipelineConfig.model_fields.items():
        model = _model_of(f.annotation)
        rows = [_row(name, f, _OWN)]
        if model is not None:
            rows += _rows(model, f"{name}.<stream>" if name == "privacy" else name, first_seen, _doc(f).values)
        intro = _paragraph(model.__doc__ or "") if model is not None else ""
        table = "\n".join(["| key | type | default | meaning |", "|---|---|---|---|", *rows])
        parts.append("\n\n".join(p for p in (f"### `{_HEADINGS.get(name, f'[{name}]')}`", intro, table) if p))
    return "\n\n".join(parts)


def update_document(text: str) -> str:
    """``text`` with the part between the markers replaced by :func:`render_reference`."""
    head, found, rest = text.partition(BEGIN)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise ValueError(f"docs/pipeline.md needs the markers {BEGIN!r} and {END!r} around the key reference")
    return f"{head}{BEGIN}\n{render_reference()}\n{END}{tail}"


def _rows(model: type[BaseModel], prefix: str, first_seen: dict[type[BaseModel], str],
          values: BaseModel | None) -> list[str]:
    """A row per key of ``model``; a table met before points at its first description."""
    again = first_seen.get(model)
    first_seen.setdefault(model, prefix)
    rows: list[str] = []
    for name, f in model.model_fields.items():
        path = f"{prefix}.{name}"
        if bare_type(f.annotation) is Secret:
            about = f.description or ""
            rows.append(f"| `{path}_env` | string | — | environment variable holding {about} |")
            rows.append(f"| `{path}_file` | path | — | file holding {about}; relative to the config file |")
            continue
        meaning = f"as `{again}.{name}`" if again else None
        rows.append(_row(path, f, getattr(values, name, _OWN), meaning))
        inner = _model_of(f.annotation)
        if inner is not None:
            keyed = typing.get_origin(bare_type(f.annotation)) is dict  # a table of tables, one per stream
            rows += _rows(inner, f"{path}.<stream>" if keyed else path, first_seen, _doc(f).values)
    return rows


def _row(path: str, f: FieldInfo, value: Any, meaning: str | None = None) -> str:
    model = _model_of(f.annotation)
    text = meaning or _paragraph(f.description or (model.__doc__ if model else "") or "")
    return f"| `{path}` | {_type(f)} | {_default(f, value)} | {text} |"


def _metadata(f: FieldInfo) -> list[Any]:
    """The field's own metadata and that of an ``Annotated`` type inside ``X | None``."""
    inner = [m for arg in typing.get_args(f.annotation) if typing.get_origin(arg) is Annotated
             for m in arg.__metadata__]
    return [*inner, *f.metadata]


def _doc(f: FieldInfo) -> Doc:
    docs = [m for m in _metadata(f) if isinstance(m, Doc)]
    return Doc(**{k: next((getattr(d, k) for d in reversed(docs) if getattr(d, k) is not None), None)
                  for k in ("type", "default", "values")})


def _type(f: FieldInfo) -> str:
    tp = bare_type(f.annotation)
    origin = typing.get_origin(tp)
    if _doc(f).type:
        text = str(_doc(f).type)
    elif origin is Literal:
        text = ", ".join(f"`{a}`" for a in typing.get_args(tp))
    elif _model_of(tp) is not None:
        text = "list of tables" if origin is tuple else "table"
    elif origin is tuple:
        text = f"list of {_SCALARS.get(bare_type(typing.get_args(tp)[0]), 'value')}s"
    else:
        text = _SCALARS.get(tp, "table" if tp is ClientSettings else "value")
    meta = _metadata(f)
    bounds = [f"≥ {m.ge}" for m in meta if isinstance(m, annotated_types.Ge)]
    bounds += [f"≤ {m.le}" for m in meta if isinstance(m, annotated_types.Le)]
    text = " ".join([text, ", ".join(bounds)]).strip()
    return f"{text}, non-empty" if any(isinstance(m, annotated_types.MinLen) for m in meta) else text


def _default(f: FieldInfo, value: Any) -> str:
    """``value``: the default a ``Doc(values=...)`` gives, or ``_OWN`` for the field's own."""
    if value is not _OWN:
        return "none" if value is None else _literal(value)
    shown = _doc(f).default
    if shown:
        return shown
    if f.is_required():
        return "*required*"
    default = f.get_default(call_default_factory=True)
    if default is None or isinstance(default, BaseModel):
        return "none"
    if default in ((), {}, "") or (isinstance(default, ClientSettings) and not default.values):
        return "empty" if default != "" else '`""`'
    return _literal(default)


def _literal(value: Any) -> str:
    written = as_written(value)
    if isinstance(written, bool):
        return f"`{str(written).lower()}`"
    return f"`{written}`"


def _model_of(tp: Any) -> type[BaseModel] | None:
    tp = bare_type(tp)
    if typing.get_origin(tp) in (tuple, dict):
        tp = bare_type(typing.get_args(tp)[-1] if typing.get_origin(tp) is dict else typing.get_args(tp)[0])
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _paragraph(text: str) -> str:
    return " ".join(inspect.cleandoc(text).split())


def main(argv: list[str]) -> int:
    text = DOCUMENT.read_text(encoding="utf-8")
    updated = update_document(text)
    if "--check" in argv:
        print(f"{DOCUMENT}: {'up to date' if updated == text else 'stale: run python -m toolkit.config.reference'}")
        return 0 if updated == text else 1
    DOCUMENT.write_text(updated, encoding="utf-8")
    print(f"{DOCUMENT}: key reference {'unchanged' if updated == text else 'rewritten'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
