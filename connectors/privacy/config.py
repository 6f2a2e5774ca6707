"""The privacy operations file (``sptk privacy forget|retain --config privacy.toml``): how requests are served.

It is read by the same loader as a pipeline config (:func:`toolkit.config.loading.load_settings`): strict,
closed tables, problems at their dotted path, and the two secrets (the audit salt and the pseudonymisation
key) named by ``<key>_env`` or ``<key>_file``, never written in the file. A separate file rather than a
table of the pipeline config because the people who serve deletion requests (a data protection team) are
often not the ones who run the pipeline, and a warehouse-only deployment has no pipeline config at all.
Every key can be overridden by ``SPTK_PRIVACY_<TABLE>__<KEY>``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, Strict
from pydantic_settings import SettingsConfigDict

from toolkit.config.secrets import SecretValue
from toolkit.config.section import Section
from toolkit.config.sources import ENV_SEPARATOR, FileSettings
from toolkit.config.validation import invalid
from toolkit.durations import parse_duration

PRIVACY_ENV_PREFIX = "SPTK_PRIVACY_"
#: the tables a retention window may name: what the toolkit loads into a warehouse schema or a lake location
RETAINED_TABLES = ("events", "bad_rows")
Mode = Literal["delete", "pseudonymise"]


def _duration(text: str) -> str:
    try:
        parse_duration(text)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    return text


Duration = Annotated[str, AfterValidator(_duration)]


def _known_tables(windows: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(windows) - set(RETAINED_TABLES))
    if unknown:
        raise invalid(f"unknown table(s) {', '.join(unknown)}; retention windows apply to: "
                      f"{', '.join(RETAINED_TABLES)}")
    return windows


class RequestsSection(Section):
    """How `sptk privacy forget` treats a person's rows, and how the audit table names them."""

    mode: Mode = Field("delete", description=(
        "`delete` removes the person's rows; `pseudonymise` replaces the identifier by the hex HMAC-SHA256 of its "
        "text under `pseudonymisation_key`, as the pipeline's `[privacy.<stream>] pseudonymise` does "
        "(`--mode` overrides it for one run)"))
    pseudonymisation_key: SecretValue | None = Field(None, description=(
        "the HMAC key for `pseudonymise` (use the pipeline's key so pseudonyms still join)"))
    audit_salt: SecretValue = Field(description=(
        "the salt of the SHA-256 that stands for an identifier in the audit table (the raw identifier is never "
        "written there); keep it stable, or requests about one person can no longer be matched"))


class RetentionSection(Section):
    """How long `sptk privacy retain` keeps rows, per table; a table not named here takes `--older-than`."""

    windows: Annotated[dict[str, Duration], Strict(False), AfterValidator(_known_tables)] = Field(
        {}, description="table -> window, e.g. `{ events = \"400d\", bad_rows = \"30d\" }` (units us, ms, s, m, h, d)")


class PrivacyOpsConfig(FileSettings):
    """The configuration of `sptk privacy forget` and `sptk privacy retain`."""

    model_config = SettingsConfigDict(env_prefix=PRIVACY_ENV_PREFIX, env_nested_delimiter=ENV_SEPARATOR,
                                      case_sensitive=True, strict=True, extra="forbid", frozen=True,
                                      title="sptk privacy operations configuration")

    requests: RequestsSection | None = Field(None, description=(
        "deletion requests: mode, keys (required by `sptk privacy forget`)"))
    retention: RetentionSection = Field(RetentionSection(), description="retention windows per table")
