"""Where a config's values come from: the file (TOML or YAML) and ``SPTK_`` environment variables.

Sidecars are configured by the platform rather than by editing files, so every value
can be overridden by an environment variable: ``SPTK_`` and the dotted path in upper
case with ``__`` between levels (the ``env_prefix``/``env_nested_delimiter`` of
:class:`~toolkit.config.models.PipelineConfig`), e.g. ``SPTK_KAFKA__BOOTSTRAP_SERVERS`` or
``SPTK_DERIVED__CLICKS__OWNER``: derived streams are addressed by name, which the
stock pydantic-settings environment source cannot do, hence :class:`SptkEnvironment`.
"""

from __future__ import annotations

import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    TomlConfigSettingsSource,
    YamlConfigSettingsSource,
)

from toolkit.config.errors import ConfigError, Problem, suggest
from toolkit.config.filters import Condition
from toolkit.config.key_types import bare_type, child_type, model_of
from toolkit.config.librdkafka import ClientSettings
from toolkit.config.secrets import file_keys_of
from toolkit.config.validation import LOADING, EnvText, Load, type_name

#: an override is ``SPTK_`` and the dotted key path in upper case, its levels separated by ``__``
ENV_PREFIX = "SPTK_"
ENV_SEPARATOR = "__"


class TomlFile(TomlConfigSettingsSource):
    """A ``.toml`` config file; a syntax error names the file."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            return tomllib.loads(Path(file_path).read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", origin=str(file_path)) from None


class YamlFile(YamlConfigSettingsSource):
    """A ``.yaml``/``.yml`` config file, read with duplicate keys refused (plain YAML silently lets the last win)."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        import yaml

        origin = str(file_path)

        class StrictLoader(yaml.SafeLoader):
            pass

        def mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            loader.flatten_mapping(node)
            seen: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = loader.construct_object(key_node, deep=deep)
                if key in seen:
                    raise ConfigError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}", origin=origin)
                seen[key] = loader.construct_object(value_node, deep=deep)
            return seen

        StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
        try:
            data = yaml.load(Path(file_path).read_text(encoding="utf-8"), Loader=StrictLoader)  # noqa: S506
        except yaml.YAMLError as exc:
            raise ConfigError(f"not valid YAML: {exc}", origin=origin) from None
        return top_level(data, origin)


def top_level(data: Any, origin: str) -> dict[str, Any]:
    """The document's sections (none for an empty file); anything but a table is refused, naming the file."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"the top level must be a table of sections, got {type_name(data)}", origin=origin)
    return dict(data)



class FileSettings(BaseSettings):
    """A whole config file (a pipeline's, a sink's): the file's document with the overrides of its prefix applied.

    No ``.env`` file and no secrets directory: :func:`~toolkit.config.loading.load_settings` puts the document
    and the environment in the load in progress; a config built in code (``Model(**values)``) is exactly
    the values given.
    """

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        load = LOADING.get()
        return (init_settings,) if load is None else (SptkEnvironment(settings_cls, load),)


#: librdkafka properties whose names contain ``_`` (everything else is dot separated).
_UNDERSCORE_PROPERTIES = frozenset({"log_level"})


class SptkEnvironment(PydanticBaseSettingsSource):
    """``SPTK_<KEY>__<KEY>`` variables applied onto the file's document.

    Only variables with the prefix *and* the delimiter are overrides (``SPTK_POSTGRES_URL``
    is left alone). Entries of a list of tables are addressed by their ``name``, so the
    overrides are applied onto the document rather than merged beside it. A variable that
    names no key becomes a problem of the load, reported with the file's own.
    """

    def __init__(self, settings_cls: type[BaseSettings], load: Load) -> None:
        super().__init__(settings_cls)
        self.prefix, self.separator = self.config["env_prefix"], self.config["env_nested_delimiter"]
        self.load = load

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # the whole document is built at once in __call__

    def __call__(self) -> dict[str, Any]:
        """The load's document (its own copy) with the overrides applied in place."""
        environ = self.load.environ
        for var in sorted(environ):
            if var.startswith(self.prefix) and self.separator in var:
                segments = [s.lower() for s in var[len(self.prefix):].split(self.separator)]
                problem = self._apply(self.load.document, segments, EnvText(environ[var], var)) if all(segments) \
                    else Problem("", f"environment variable {var}: empty level between '{self.separator}' separators")
                if problem is not None:
                    self.load.problems.append(problem)
        return self.load.document

    def _apply(self, node: dict[str, Any], segments: list[str], value: EnvText) -> Problem | None:
        tp: Any = self.settings_cls
        path = ""
        i = 0
        while i < len(segments):
            seg, last = segments[i], i == len(segments) - 1
            model = model_of(tp)
            assert model is not None
            accepted = file_keys_of(model)
            here = f"{path}.{seg}" if path else seg
            if seg not in accepted:
                return Problem(here, f"environment variable {value.var} names unknown key {seg!r}; "
                                     f"{suggest(seg, accepted)}valid keys in [{path or 'top level'}] are: "
                                     f"{', '.join(accepted)}")
            child = child_type(model, seg) if seg in model.model_fields else str
            inner = bare_type(child)
            if inner is ClientSettings:
                if last or i + 2 != len(segments):
                    return Problem(here, f"environment variable {value.var}: name one librdkafka property after "
                                         f"{seg.upper()}, e.g. SPTK_KAFKA__PRODUCER__LINGER_MS")
                prop = _env_property_name(segments[i + 1])
                table = _subtable(node, seg)
                if table is None:
                    return Problem(here, f"environment variable {value.var}: {here} is not a table in the file")
                table[prop] = value
                self.load.env_paths[f'{here}."{prop}"'] = value.var
                return None
            if inner is Condition:
                return Problem(here, f"environment variable {value.var}: {here} is a structured condition and can "
                                     "only be set in the config file")
            origin = typing.get_origin(inner)
            if origin is dict:
                if i + 2 >= len(segments):
                    return Problem(here, f"environment variable {value.var}: expected "
                                         f"SPTK_{seg.upper()}__<NAME>__<KEY>")
                table = _subtable(node, seg)
                entry = _subtable(table, segments[i + 1]) if table is not None else None
                if entry is None:
                    return Problem(here, f"environment variable {value.var}: {here} is not a table of tables in the "
                                         "file")
                node, path, tp, i = entry, f"{here}.{segments[i + 1]}", typing.get_args(inner)[1], i + 2
                continue
            if origin is tuple and model_of(typing.get_args(inner)[0]) is not None:
                if i + 2 >= len(segments):
                    return Problem(here, f"environment variable {value.var}: expected SPTK_{seg.upper()}__<NAME>__"
                                         "<KEY> (entries are addressed by their name)")
                entries = node.get(seg) if isinstance(node.get(seg), list) else []
                name = segments[i + 1]
                match = [e for e in entries if isinstance(e, dict) and str(e.get("name", "")).lower() == name]
                if not match:
                    names = [str(e.get("name")) for e in entries if isinstance(e, Mapping)]
                    return Problem(here, f"environment variable {value.var}: no [[{seg}]] entry named {name!r} "
                                         f"({suggest(name, names)}configured: {', '.join(names) or 'none'})")
                node, path, tp, i = match[0], f"{here}[{match[0]['name']}]", typing.get_args(inner)[0], i + 2
                continue
            if model_of(inner) is not None:
                if last:
                    return Problem(here, f"environment variable {value.var}: {here} is a table; name one of its keys")
                table = _subtable(node, seg)
                if table is None:
                    return Problem(here, f"environment variable {value.var}: {here} is not a table in the file")
                node, path, tp, i = table, here, inner, i + 1
                continue
            if not last:
                return Problem(here, f"environment variable {value.var}: {here} is a single value; nothing lies "
                                     "below it")
            node[seg] = value
            self.load.env_paths[here] = value.var
            return None
        return None


def _subtable(node: dict[str, Any], key: str) -> dict[str, Any] | None:
    """``node[key]``, made an empty table when absent; ``None`` when the file holds something else there."""
    table = node.setdefault(key, {})
    return table if isinstance(table, dict) else None


def _env_property_name(segment: str) -> str:
    """``SASL_PASSWORD_FILE`` -> ``sasl.password_file``; ``LINGER_MS`` -> ``linger.ms``; ``LOG_LEVEL`` stays."""
    suffix = next((s for s in ("_env", "_file") if segment.endswith(s)), "")
    name = segment[: len(segment) - len(suffix)]
    return (name if name in _UNDERSCORE_PROPERTIES else name.replace("_", ".")) + suffix
