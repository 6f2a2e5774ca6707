"""Browser, OS and device fields from the user agent (placeholder until a parser is wired in)."""

from __future__ import annotations


def fields(useragent: str) -> dict[str, str]:
    return {}
