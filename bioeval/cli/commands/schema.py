"""`bioeval schema`: the manifest JSON Schema."""

from __future__ import annotations

import json

import click


@click.command()
def schema() -> None:
    """Print the manifest JSON Schema (for editors and linters)."""
    from bioeval.manifest.schema import Manifest

    click.echo(json.dumps(Manifest.model_json_schema(), indent=2))


COMMANDS = [schema]
