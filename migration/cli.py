"""`sptk reconcile` and `sptk migrate`: the command groups the migration package contributes."""

from __future__ import annotations

import click


@click.group()
def reconcile() -> None:
    """Compare the legacy and the Kafka path in a warehouse and give a cutover verdict."""


@click.group()
def migrate() -> None:
    """Load the legacy and the Kafka path into a warehouse, alone or side by side."""
