"""Credentials: never written in a config file, named there by ``<key>_env`` or ``<key>_file``.

The value is held in a :class:`Secret` whose repr, str and the config hash show only where it
came from (``env:NAME``/``file:PATH``), so it cannot leak through logs, reports or headers.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, PlainSerializer, PlainValidator, SecretStr

from toolkit.config.key_types import bare_type
from toolkit.config.validation import current_load, invalid, type_name
from toolkit.config.values import resolve_path


class Secret(SecretStr):
    """A credential read from the environment or a file; it never shows itself.

    ``repr``/``str`` print only where the value came from, pickling is refused, and
    the config hash uses the reference, so a secret cannot leak through logs,
    error messages, reports or the ``sp.pipeline`` header by accident.
    """

    def __init__(self, value: str, reference: str) -> None:
        super().__init__(value)
        self.reference = reference

    def reveal(self) -> str:
        """The value itself: call this only where it is handed to a client library."""
        return self.get_secret_value()

    def __repr__(self) -> str:
        return f"Secret({self.reference}, value hidden)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return self.reference == other.reference and hmac.compare_digest(self.reveal(), other.reveal())

    def __hash__(self) -> int:
        return hash(self.reference)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled: pass its reference, not its value")


@dataclass(frozen=True)
class SecretRef:
    """What the file said about a secret key, before the value is read."""

    name: str
    env: Any = None
    file: Any = None
    inline: Any = None


def secret_from_env(var: Any, key: str) -> Secret:
    if not isinstance(var, str) or not var:
        raise invalid(f"expected the name of an environment variable, got {type_name(var)}", key)
    value = current_load().environ.get(var)
    if not value:
        raise invalid(f"environment variable {var} is {'empty' if value == '' else 'not set'}; export it (or use "
                      "the matching _file key to read the value from a file)", key)
    return Secret(value, f"env:{var}")


def secret_from_file(name: Any, key: str) -> Secret:
    if not isinstance(name, str) or not name:
        raise invalid(f"expected a file path, got {type_name(name)}", key)
    p = resolve_path(name)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise invalid(f"secret file {p} does not exist", key) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise invalid(f"cannot read secret file {p}: {type(exc).__name__}", key) from None
    value = text.rstrip("\r\n")
    if not value:
        raise invalid(f"secret file {p} is empty", key)
    return Secret(value, f"file:{p}")


def _secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, SecretRef):  # only reachable by building a model in code
        raise invalid("expected a Secret")
    name = value.name
    if value.inline is not None:
        raise invalid(f"a credential may not be written in a config file; use {name}_env = \"VARIABLE\" or "
                      f"{name}_file = \"/path/to/file\"")
    if value.env is not None and value.file is not None:
        raise invalid(f"set either {name}_env or {name}_file, not both")
    if value.env is not None:
        return secret_from_env(value.env, f"{name}_env")
    return secret_from_file(value.file, f"{name}_file")


#: A credential: the file names where it comes from with ``<key>_env`` or ``<key>_file``.
SecretValue = Annotated[Secret, PlainValidator(_secret), PlainSerializer(lambda s: {"secret": s.reference})]


_SECRET_FIELDS: dict[type, tuple[str, ...]] = {}


def secret_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    if cls not in _SECRET_FIELDS:
        _SECRET_FIELDS[cls] = tuple(name for name, f in cls.model_fields.items()
                                    if bare_type(f.annotation) is Secret)
    return _SECRET_FIELDS[cls]


def file_keys_of(model: type[BaseModel]) -> list[str]:
    """The keys a file may write in this table (a secret ``x`` as ``x_env`` and ``x_file``)."""
    secrets = secret_fields(model)
    return [k for name in model.model_fields for k in ([f"{name}_env", f"{name}_file"] if name in secrets else [name])]
