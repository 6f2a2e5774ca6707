"""Why a schema lookup failed, shaped like Snowplow's Iglu client errors.

A ``schema_violations`` bad row carries ``{"error": "ResolutionError", "lookupHistory": [...]}``
for every entity whose schema could not be resolved; building that JSON here, next to the
resolver that records the history, means a bad row can say exactly which repository failed,
how, and how often, without the pipeline knowing anything about repositories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from iglu_registry.schema_key import SchemaKey

#: Snowplow's bad-row schema caps an error message at 256 characters.
MAX_MESSAGE = 256


class ErrorKind(StrEnum):
    """What went wrong at one repository. ``TIMEOUT`` is reported to bad rows as ``RepoFailure``."""

    NOT_FOUND = "NotFound"
    REPO_FAILURE = "RepoFailure"
    CLIENT_FAILURE = "ClientFailure"
    TIMEOUT = "Timeout"

    @property
    def transient(self) -> bool:
        """Timeouts and server errors may heal by themselves; retrying them (with backoff) can help."""
        return self in (ErrorKind.REPO_FAILURE, ErrorKind.TIMEOUT)


@dataclass(frozen=True, slots=True)
class RegistryError:
    kind: ErrorKind
    message: str | None = None

    def to_json(self) -> dict[str, str]:
        if self.kind is ErrorKind.NOT_FOUND:
            return {"error": "NotFound"}
        kind = "RepoFailure" if self.kind is ErrorKind.TIMEOUT else self.kind.value
        text = self.message or self.kind.value
        if self.kind is ErrorKind.TIMEOUT and not text.lower().startswith("timeout"):
            text = f"timeout: {text}"
        return {"error": kind, "message": text[:MAX_MESSAGE]}

    def __str__(self) -> str:
        return self.kind.value if self.message is None else f"{self.kind.value}: {self.message}"


class RegistryFailure(Exception):
    """Raised by a repository; carries the :class:`RegistryError` the resolver records."""

    def __init__(self, error: RegistryError) -> None:
        super().__init__(str(error))
        self.error = error

    @classmethod
    def not_found(cls) -> RegistryFailure:
        return cls(RegistryError(ErrorKind.NOT_FOUND))

    @classmethod
    def of(cls, kind: ErrorKind, message: str) -> RegistryFailure:
        return cls(RegistryError(kind, message))


def iso_millis(moment: datetime) -> str:
    """``2022-02-28T11:22:50.573Z``: the timestamp format of Snowplow's lookup histories."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class LookupHistory:
    """Everything one repository said about one key: distinct errors, attempts, last attempt time."""

    repository: str
    errors: tuple[RegistryError, ...]
    attempts: int
    last_attempt: datetime

    @property
    def not_found(self) -> bool:
        return all(e.kind is ErrorKind.NOT_FOUND for e in self.errors)

    @property
    def transient(self) -> bool:
        return any(e.kind.transient for e in self.errors)

    def with_error(self, error: RegistryError, at: datetime) -> LookupHistory:
        errors = self.errors if error in self.errors else (*self.errors, error)
        return LookupHistory(self.repository, errors, self.attempts + 1, at)

    def noting(self, error: RegistryError) -> LookupHistory:
        """``error`` added without an attempt: the repository was not asked, its outage is known."""
        if error in self.errors:
            return self
        return LookupHistory(self.repository, (*self.errors, error), self.attempts, self.last_attempt)

    def to_json(self) -> dict[str, object]:
        return {
            "repository": self.repository,
            "errors": [e.to_json() for e in self.errors],
            "attempts": self.attempts,
            "lastAttempt": iso_millis(self.last_attempt),
        }


@dataclass(frozen=True, slots=True)
class ResolutionError:
    """A key no repository could serve, with each repository's history.

    ``retryable`` is the question the pipeline asks: True means at least one repository
    could not answer (down, timing out, refusing the API key), so the schema may well exist
    and the event should be retried or quarantined; False means every repository answered
    "not found", so the event is permanently invalid.
    """

    key: str
    history: tuple[LookupHistory, ...]

    @property
    def retryable(self) -> bool:
        return not self.history or not all(h.not_found for h in self.history)

    @property
    def not_found(self) -> bool:
        return not self.retryable

    def to_json(self) -> dict[str, object]:
        """The ``error`` object of a ``schema_violations`` / ``loader_iglu_error`` bad-row message."""
        return {"error": "ResolutionError", "lookupHistory": [h.to_json() for h in self.history]}

    @property
    def message(self) -> str:
        if not self.history:
            return f"{self.key}: no repository is configured to look it up"
        parts = [f"{h.repository}: {', '.join(str(e) for e in h.errors)} ({h.attempts} attempt"
                 f"{'s' if h.attempts != 1 else ''})" for h in self.history]
        verdict = "schema not found in any repository" if self.not_found else "could not resolve schema"
        return f"{verdict} {self.key}: " + "; ".join(parts)

    def __str__(self) -> str:
        return self.message


def key_text(key: SchemaKey | str) -> str:
    return key if isinstance(key, str) else key.uri
