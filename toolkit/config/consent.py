"""Consent on Snowplow's consent model: the words of its schemas and the pipeline-wide ``[consent]`` table.

The per-stream rules (which lawful basis, which scopes, whether withdrawals are honoured) are
keys of ``[privacy.<stream>]`` because they belong to a stream, as the other privacy rules do.
What is shared by every stream is here: the suppression state the pipeline keeps in memory,
rebuilt at start from the compacted ``<prefix>.consent`` topic (docs/privacy.md, "Consent").
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, Strict

from toolkit.config.section import Section
from toolkit.config.values import Doc

#: ``basisForProcessing`` of Snowplow's ``gdpr`` context (and of ``consent_preferences``): GDPR Art. 6(1)
Basis = Literal["consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"]

Bases = Annotated[tuple[Basis, ...], Strict(False), Doc(type="list of bases", default="empty (no requirement)")]
Names = Annotated[tuple[Annotated[str, Field(min_length=1, max_length=1024)], ...], Strict(False),
                  Doc(type="list of strings", default="empty")]


class ConsentConfig(Section):
    """The suppression state shared by the streams that honour withdrawals or require consent scopes (see
    [Consent](privacy.md#consent)): one entry per user with a withdrawal in force, kept in memory, rebuilt at start
    by reading `<prefix>.consent` to its end and updated by every suppression record the pipeline produces."""

    max_users: int = Field(1_000_000, ge=1, description=(
        "users with a suppression in force the pipeline holds in memory (about 150 bytes each with a 40-character "
        "identifier); a start that finds more on `<prefix>.consent`, or a run that would record more, stops with an "
        "error rather than forget one"))
    rebuild_timeout_s: float = Field(60.0, gt=0.0, description=(
        "how long the start may take to read `<prefix>.consent` to its end before it gives up (the broker is "
        "retried at the next start)"))
