"""`sptk topics`: the command group this package contributes to the CLI."""

from __future__ import annotations

import click


@click.group()
def topics() -> None:
    """Plan and apply the Kafka topics declared in a pipeline config."""
