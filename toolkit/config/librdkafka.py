"""librdkafka properties passed through as they are: ``[kafka.common]``, ``[kafka.producer]``, ``[kafka.consumer]``.

Properties the toolkit sets itself (:data:`MANAGED_PROPERTIES`; the delivery guarantee depends on
them) are refused with the key to set instead, and credentials (:data:`SECRET_PROPERTIES`) are
refused inline: they come from ``"<property>_env"``/``"<property>_file"`` as a
:class:`~toolkit.config.secrets.Secret`.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError

from toolkit.config.secrets import Secret, secret_from_env, secret_from_file
from toolkit.config.validation import EnvText, fail, invalid, problem_at, type_name
from toolkit.config.values import Doc

#: librdkafka properties whose values are credentials: refused inline in a config file.
SECRET_PROPERTIES = frozenset({
    "sasl.password",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.config",
    "ssl.key.password",
    "ssl.key.pem",
    "ssl.keystore.password",
    "ssl_key",
})

#: librdkafka properties the toolkit sets itself, with the reason a passthrough may not change them.
MANAGED_PROPERTIES: dict[str, str] = {
    "bootstrap.servers": "set kafka.bootstrap_servers instead",
    "metadata.broker.list": "set kafka.bootstrap_servers instead",
    "client.id": "set kafka.client_id instead",
    "group.id": "set source.kafka.group_id instead",
    "transactional.id": "set delivery.transactional_id (with delivery.transactional = true) instead",
    "enable.idempotence": "the at-least-once guarantee needs the idempotent producer; it is always on",
    "acks": "the at-least-once guarantee needs acks=all; it is always all",
    "request.required.acks": "the at-least-once guarantee needs acks=all; it is always all",
    "enable.auto.commit": "offsets are committed only after delivery is confirmed; auto commit is always off",
    "enable.auto.offset.store": "offsets are stored only after delivery is confirmed; auto store is always off",
}


SettingValue = str | int | float | bool | Secret
_PROPERTY_RE = re.compile(r"^[a-z][a-z0-9_.\-]*$")


@dataclass(frozen=True)
class ClientSettings:
    """librdkafka properties passed through as they are (``"linger.ms" = 20``).

    Secret properties come as ``"sasl.password_env" = "VAR"`` or
    ``"sasl.password_file" = "/path"`` and are stored under their real name as a
    :class:`~toolkit.config.secrets.Secret`.
    """

    values: Mapping[str, SettingValue] = field(default_factory=lambda: types.MappingProxyType({}))

    def resolved(self) -> dict[str, str | int | float | bool]:
        """The properties with secrets revealed, ready for a client constructor."""
        return {k: (v.reveal() if isinstance(v, Secret) else v) for k, v in self.values.items()}


def _client_settings(value: Any) -> ClientSettings:
    if isinstance(value, ClientSettings):
        return value
    if not isinstance(value, Mapping):
        raise invalid(f"expected a table of librdkafka properties, got {type_name(value)}")
    out: dict[str, SettingValue] = {}
    problems: list[InitErrorDetails] = []
    for key, v in value.items():
        try:
            prop, setting = _client_setting(key, v, out)
        except PydanticCustomError as exc:
            problems.append(problem_at((str(key),), exc.context["message"] if exc.context else exc.message(), v))
            continue
        out[prop] = setting
    if problems:
        fail(problems)
    return ClientSettings(types.MappingProxyType(out))


def _client_setting(key: Any, v: Any, seen: Mapping[str, SettingValue]) -> tuple[str, SettingValue]:
    if not isinstance(key, str) or not _PROPERTY_RE.match(key):
        raise invalid("not a librdkafka property name (lower case, dot separated, e.g. \"linger.ms\")")
    prop, kind = key, "inline"
    for suffix in ("_env", "_file"):
        if key.endswith(suffix):
            prop, kind = key[: -len(suffix)], suffix[1:]
    if prop in MANAGED_PROPERTIES:
        raise invalid(f"the toolkit manages {prop!r}: {MANAGED_PROPERTIES[prop]}")
    if prop in seen:
        raise invalid(f"{prop!r} is set more than once (inline, _env or _file: pick one)")
    if kind == "env":
        return prop, secret_from_env(v, key)
    if kind == "file":
        return prop, secret_from_file(v, key)
    if isinstance(v, EnvText):
        return prop, Secret(str(v), f"env:{v.var}") if prop in SECRET_PROPERTIES else str(v)
    if prop in SECRET_PROPERTIES:
        raise invalid(f"{prop!r} is a credential and may not be written in a config file; use "
                      f'"{prop}_env" = "VARIABLE" or "{prop}_file" = "/path/to/file"')
    if not isinstance(v, str | int | float | bool):
        raise invalid(f"expected a string, number or boolean, got {type_name(v)}")
    return prop, v


def settings_dict(settings: ClientSettings) -> dict[str, Any]:
    return {k: ({"secret": v.reference} if isinstance(v, Secret) else v) for k, v in sorted(settings.values.items())}


_REFUSED_INLINE = sorted({*MANAGED_PROPERTIES, *(f"{p}_{s}" for p in MANAGED_PROPERTIES for s in ("env", "file")),
                          *SECRET_PROPERTIES})
LibrdkafkaProperties = Annotated[
    ClientSettings, PlainValidator(_client_settings, json_schema_input_type=dict[str, Any]),
    PlainSerializer(settings_dict),
    WithJsonSchema({"type": "object",
                    "propertyNames": {"pattern": _PROPERTY_RE.pattern, "not": {"enum": _REFUSED_INLINE}},
                    "additionalProperties": {"type": ["string", "number", "boolean"]}}),
    Doc(type="table", default="empty")]
