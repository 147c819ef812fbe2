"""`entraform drift`: compare the desired state with a live LiteLLM, read-only."""

from __future__ import annotations

import json
from pathlib import Path

import click

from generator import mapping, run
from generator.cli.options import (
    config_option,
    examples,
    layout_option,
    litellm_client,
    litellm_options,
    root_option,
    source_options,
)
from generator.errors import ChangesFound, SecurityFindings
from generator.live import drift, security
from generator.live.reading import read_for
from generator.policy.load import load_policy
from generator.sources import SourceOptions, open_source
from generator.workspace.roots import Roots


@click.command(
    "drift",
    epilog=examples(
        "export LITELLM_API_KEY=...   # a proxy admin key; entraform only reads with it",
        "entraform drift -c entraform.yaml --litellm-url https://litellm.example.com --json",
        "entraform drift ... --strict   # teams the policy does not render count as drift",
        "entraform drift ...; [ $? -eq 5 ] && echo 'members the policy leaves out'",
    ),
)
@config_option
@litellm_options
@root_option
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder of `entraform generate`, whose labels name its roots; needed with --root.",
)
@layout_option
@click.option(
    "--strict",
    is_flag=True,
    help="Count teams and organizations the policy does not render (created at SSO login for "
    "unselected groups, or by hand) as drift too.",
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
    """
    policy = load_policy(config_path)
    client = litellm_client(litellm_url, litellm_concurrency)
    directory = open_source(source).read(policy.needs())
    if root_name is None:
        outcome = mapping.apply(policy, directory)
        part = outcome.state
    elif out is None:
        raise click.UsageError("--root needs -o/--out: the output folder names the roots")
    else:
        report = run.generate(policy, directory, run.Options(out, layout=layout))
        outcome = report.outcome
        part = Roots(report.layout, report.labels).part(outcome.state, root_name)
    state = outcome.state
    live = read_for(client, part)
    differences, findings = security.separate(
        drift.compare(part, live, ignore_users), outcome, directory, policy.identity
    )
    # Objects of the other roots are managed too: only what no root renders is unmanaged.
    unmanaged = drift.find_unmanaged(state, live, ignore_users)
    note = live.organizations_note if state.organizations else None
    warnings = drift.licence_warnings(state, live)
    if as_json:
        data = {
            "security": security.as_dicts(findings),
            "differences": drift.as_dicts(differences),
            "unmanaged": drift.unmanaged_dicts(unmanaged),
            "organizations_note": note,
            "warnings": warnings,
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    elif findings or differences or unmanaged:
        lines = security.describe(findings)
        ordinary = drift.describe(differences, unmanaged, strict)
        click.echo("\n".join(lines + ([""] if lines and ordinary else []) + ordinary))
    for line in ([f"{note}; only teams were compared"] if note else []) + warnings:
        click.echo(f"entraform drift: warning: {line}", err=True)
    counted = len(differences) + (len(unmanaged) if strict else 0)
    if not source.quiet:
        found = f"{len(differences)} difference(s)" if differences else "no drift"
        if findings:
            found = f"{len(findings)} security finding(s); {found}"
        if unmanaged:
            found += f"; {drift.count_kinds(unmanaged)} not managed by the policy"
        click.echo(f"entraform drift: {litellm_url}: {found}", err=True)
    if findings:
        raise SecurityFindings(
            f"security: {len(findings)} member(s) in LiteLLM whom the policy leaves out: "
            f"{security.ADVICE}"
            + (f"; also {drift.advice(differences, len(unmanaged), strict)}" if counted else "")
        )
    if counted:
        raise ChangesFound(
            f"drift found ({counted}): {drift.advice(differences, len(unmanaged), strict)}"
        )
