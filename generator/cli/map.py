"""`entraform map`: the whole structure as Mermaid diagrams in Markdown."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from generator import mapping
from generator.cli.options import config_option, examples, file_option
from generator.cli.source import reproducing, source_options
from generator.policy.load import load_policy
from generator.report.structure import structure
from generator.sources import SourceOptions, open_source
from generator.workspace import writes


@click.command(
    "map",
    epilog=examples(
        "entraform map -c entraform.yaml --snapshot tenant.json --out map.md",
        "entraform map -c entraform.yaml --out map.md   # from Microsoft Graph",
        "entraform map -c entraform.yaml --snapshot tenant.json --out -   # to stdout",
    ),
)
@config_option
@file_option(
    "Markdown file to write ('-' for stdout); a file entraform did not write is refused.",
    dash=True,
)
@source_options
def map_structure(config_path: Path, out: Path, source: SourceOptions) -> None:
    """Draw the whole structure as Mermaid diagrams in Markdown.

    One diagram per organization and one for the standalone teams, each team linked to the
    Entra group it comes from, with member counts. GitHub and Azure DevOps render them.
    """
    policy = load_policy(config_path)
    state = mapping.apply(policy, open_source(source).read(policy.needs())).state
    text = structure(state, shlex.join(reproducing("map", config_path, source, out)))
    if str(out) == "-":
        click.echo(text, nl=False)
        return
    writes.write_generated(out.parent, {out.name: text})
    if not source.quiet:
        click.echo(f"entraform: wrote {out}", err=True)
