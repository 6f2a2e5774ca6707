"""What a person is told about a configuration: each problem at its dotted key path, all of them at once.

Pydantic collects every problem of a file in one pass (:mod:`toolkit.config.messages` words them),
and :class:`ConfigError` carries them together so one run shows everything there is to fix.
:func:`suggest` is the "did you mean" of every unknown name.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration, at a dotted key path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(ValueError):
    """Configuration problems, always naming the file (or variable) and each dotted key path.

    ``problems`` holds every problem found; ``path`` and ``reason`` are the first one's.
    """

    def __init__(self, message: str = "", *, path: str = "", origin: str = "",
                 problems: tuple[Problem, ...] = ()) -> None:
        self.origin = origin
        self.problems = problems or (Problem(path, message),)
        self.path, self.reason = self.problems[0].path, self.problems[0].message
        if len(self.problems) == 1:
            where = ": ".join(p for p in (origin, self.path) if p)
            text = f"{where}: {self.reason}" if where else self.reason
        else:
            head = f"{len(self.problems)} problems:"
            text = "\n".join([f"{origin}: {head}" if origin else head, *(f"  {p}" for p in self.problems)])
        super().__init__(text)


def suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""
