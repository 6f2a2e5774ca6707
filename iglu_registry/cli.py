"""`sptk iglu`: the command group this package contributes to the CLI."""

from __future__ import annotations

import click


@click.group()
def iglu() -> None:
    """Iglu schemas: resolve, validate, lint, compatibility checks, and a registry server."""
