"""`sptk pipeline`: the command group this package contributes to the CLI."""

from __future__ import annotations

import click


@click.group()
def pipeline() -> None:
    """Run the fan-out pipeline from sources to raw, enriched, derived and bad outputs."""
