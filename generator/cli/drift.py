"""`entraform drift`: compare the desired state with a live LiteLLM, read-only."""

from __future__ import annotations

import json
from pathlib import Path

import click

from generator import mapping, run
from generator.cli.options import (
    config_option,
    examples,
    folder_option,
    layout_option,
    litellm_client,
    litellm_options,
    root_option,
)
from generator.cli.source import source_options
from generator.live.reading import read_for
from generator.policy.load import load_policy
from generator.render import legacy
from generator.report import comparison
from generator.sources import SourceOptions, open_source
from generator.workspace import folder
from generator.workspace.roots import Roots


@click.command(
    "drift",
    epilog=examples(
        "export LITELLM_API_KEY=...   # a proxy_admin_viewer key: entraform only reads",
        "entraform drift -c entraform.yaml --litellm-url https://litellm.example.com --json",
        "entraform drift ... --strict   # teams and users the policy does not render count",
        "entraform drift ... -o infra/litellm   # names users whose offboarding is not applied",
        "entraform drift ...; [ $? -eq 5 ] && echo 'members or users the policy leaves out'",
    ),
)
@config_option
@litellm_options
@root_option
@folder_option(
    "Output folder of `entraform generate`: its labels name the roots (needed with "
    "--root), and the users it records tell offboarding not applied yet apart.",
    required=False,
)
@layout_option
@click.option(
    "--strict",
    is_flag=True,
    help="Count teams, organizations and users the policy does not render (created at SSO "
    "login for unselected groups and people, or by hand) as drift too.",
)
@source_options
def drift_command(
    config_path: Path,
    litellm_url: str,
    ignore_users: tuple[str, ...],
    litellm_concurrency: int,
    as_json: bool,
    root_name: str | None,
    out: Path | None,
    layout: str | None,
    strict: bool,
    source: SourceOptions,
) -> None:
    """Compare the desired state with live LiteLLM (read-only); exit 1 on drift, 5 on security.

    Members in LiteLLM whom the policy leaves out (added at SSO login or by hand: guests the
    policy excludes, disabled accounts, people in no selected group) are security findings,
    each with the reason, and exit 5 whatever else differs. Also finds members missing,
    changed roles, budgets, limits, models, aliases and missing objects (exit 1), and with
    users.manage missing users and proxy admins that an apply would demote. The provider's
    team member resources never read the server, so terraform plan cannot see membership
    drift; this can. Teams LiteLLM has that the policy does not render are listed in their
    own section and count as drift only with --strict.

    Every LiteLLM user the policy grants nothing is listed with their key count and the
    reason (left the tenant, disabled, not selected, made at sign-in, created outside
    entraform, ...): with users.manage as security findings, without it as unmanaged users
    (findings when disabled or gone from the tenant). Keys whose owner the policy does not
    grant are listed by alias, owner and last use, never their secret.
    """
    policy = load_policy(config_path)
    client = litellm_client(litellm_url, litellm_concurrency)
    directory = open_source(source).read(policy.needs())
    if root_name is None:
        outcome = mapping.apply(policy, directory)
        part = outcome.state
        # The users entraform rendered last, when the output folder is given.
        recorded = folder.read(out, legacy.read).state.users if out is not None else ()
    elif out is None:
        raise click.UsageError("--root needs -o/--out: the output folder names the roots")
    else:
        report = run.generate(policy, directory, run.Options(out, layout=layout))
        report.refuse_but_guards()
        outcome = report.outcome
        part = Roots(report.layout, report.labels).part(outcome.state, root_name)
        recorded = report.previous.users
    live = read_for(client, part, everyone=True)
    result = comparison.compare(
        policy,
        directory,
        outcome,
        part,
        live,
        ignore_users=ignore_users,
        recorded=[u.user_id for u in recorded],
        strict=strict,
    )
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
    elif lines := result.lines():
        click.echo("\n".join(lines))
    note = result.organizations_note
    for line in ([f"{note}; only teams were compared"] if note else []) + list(result.warnings):
        click.echo(f"entraform drift: warning: {line}", err=True)
    if not source.quiet:
        click.echo(f"entraform drift: {litellm_url}: {result.status()}", err=True)
    failure = result.failure()
    if failure is not None:
        raise failure
