"""Points in time as people type them on a command line: ISO-8601, UTC unless they say otherwise.

One parser for every ``--since``/``--until``/``--from-time``/``--to-time`` option, so the same
text means the same instant in every command.
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_moment(option: str, text: str) -> datetime:
    """``text`` as an aware UTC datetime; a time without a zone is UTC, a date alone is its midnight.

    Raises ``ValueError`` naming ``option`` and an example of what it accepts.
    """
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{option} {text!r} is not an ISO-8601 time like 2024-05-01T12:00:00Z or 2024-05-01") \
            from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
