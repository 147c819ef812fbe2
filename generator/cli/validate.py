"""`entraform validate`: check the policy file, and with a snapshot, LiteLLM's rules too."""

from __future__ import annotations

from pathlib import Path

import click

from generator import mapping
from generator.cli.options import config_option, examples
from generator.cli.source import snapshot_option
from generator.errors import refuse
from generator.mapping import checks
from generator.policy.load import load_policy
from generator.sources import SourceOptions, open_source


@click.command(
    epilog=examples(
        "entraform validate -c entraform.yaml",
        "entraform validate -c entraform.yaml --snapshot tenant.json",
    )
)
@config_option
@snapshot_option
def validate(config_path: Path, snapshot: Path | None) -> None:
    """Check the policy file; errors name the file, key path and line.

    With --snapshot, also apply the policy to the snapshot and check LiteLLM's rules.
    """
    policy = load_policy(config_path)
    message = (
        f"{config_path}: ok ({len(policy.organizations)} organization rule(s), "
        f"{len(policy.teams)} team rule(s))"
    )
    if snapshot:
        directory = open_source(SourceOptions(snapshot)).read(policy.needs())
        outcome = mapping.apply(policy, directory)
        state = outcome.state
        refuse(checks.refusals(policy, state, directory))
        message += f"; {len(state.organizations)} organization(s), {len(state.teams)} team(s)"
        for warning in outcome.findings.warnings:
            click.echo(f"entraform: warning: {warning}", err=True)
    click.echo(message)
