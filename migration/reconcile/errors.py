"""The error every part of a reconciliation's set-up raises for a wrong option, file or scope (exit 3, not a verdict).

Its own module so that the leaves (metrics, scope) can raise it without importing the configuration that
gathers them.
"""

from __future__ import annotations


class ConfigError(ValueError):
    pass
