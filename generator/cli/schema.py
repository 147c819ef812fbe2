"""`entraform schema`: the policy file's JSON Schema, for editors."""

from __future__ import annotations

from importlib import resources

import click

from generator.cli.options import examples


@click.command(epilog=examples("entraform schema > entraform.schema.json"))
def schema() -> None:
    """Print the policy file's JSON Schema (for editors: see docs/editors.md)."""
    text = resources.files("generator").joinpath("policy.schema.json").read_text(encoding="utf-8")
    click.echo(text, nl=False)
