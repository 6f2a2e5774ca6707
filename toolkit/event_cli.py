"""`sptk event`: the command group this package contributes to the CLI."""

from __future__ import annotations

import click


@click.group()
def event() -> None:
    """Parse enriched TSV lines and convert events between TSV and JSON profiles."""
