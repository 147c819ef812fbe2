"""The `explain` command: why a person has access to a team or organization, or not."""

from __future__ import annotations

import json
from pathlib import Path

import click

from generator.cli.options import config_option, examples
from generator.cli.source import source_options
from generator.mapping import trace
from generator.policy.load import load_policy
from generator.report import explanation
from generator.sources import SourceOptions, open_source


@click.command(
    "explain",
    epilog=examples(
        "entraform explain alice@contoso.com -c entraform.yaml --snapshot tenant.json",
        "entraform explain alice@contoso.com --team 'Finance Analysts'",
        "entraform explain 3f0e...-object-id --organization Research --json",
        "entraform explain alice@contoso.com   # from Microsoft Graph",
    ),
)
@click.argument("person")
@config_option
@click.option(
    "--team",
    metavar="NAME|ID",
    help="Say why PERSON is or is not in this team (its alias, its group's name or object id).",
)
@click.option(
    "--organization",
    metavar="NAME|ID",
    help="Say why PERSON is or is not in this organization (alias, group name or object id).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON for tools (shape in docs/explain.md)."
)
@source_options
def explain_command(
    person: str,
    config_path: Path,
    team: str | None,
    organization: str | None,
    as_json: bool,
    source: SourceOptions,
) -> None:
    """Show every organization and team PERSON gets, with the role and each path granting it.

    PERSON is a userPrincipalName, mail or object id. A path is the group a rule selected, the
    chain of nested groups down to PERSON (or ownership, or an admin group) and the rule with its
    file and line. With --team or --organization, say why PERSON is not in it.
    """
    if team is not None and organization is not None:
        raise click.UsageError("give --team or --organization, not both")
    policy = load_policy(config_path)
    directory = open_source(source).read(policy.needs())
    found = trace.explain(policy, directory, person, team=team, organization=organization)
    if as_json:
        click.echo(json.dumps(explanation.report(found), indent=2, ensure_ascii=False))
    else:
        click.echo(explanation.text(found), nl=False)
