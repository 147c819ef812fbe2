"""`entraform adopt`: import blocks for the rendered objects a live LiteLLM already has."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click

from generator import render, run
from generator.cli.options import (
    config_option,
    examples,
    folder_option,
    litellm_client,
    litellm_options,
    output_options,
    root_option,
)
from generator.cli.source import source_options
from generator.live import adopt
from generator.live.people import People, email_attribute_warning
from generator.live.reading import read_for
from generator.policy.load import load_policy
from generator.report.adoption import as_dict, describe
from generator.sources import SourceOptions, open_source
from generator.workspace import roots, writes
from generator.workspace.folder import ADOPTED


@click.command(
    "adopt",
    epilog=examples(
        "export LITELLM_API_KEY=...   # a proxy_admin_viewer key: entraform only reads",
        "entraform adopt -c entraform.yaml --snapshot tenant.json -o infra/litellm \\",
        "    --litellm-url https://litellm.example.com",
        "entraform adopt ... --dry-run   # print imports.tf instead of writing it",
    ),
)
@config_option
@folder_option(
    "Output folder of `entraform generate`: its labels name the import addresses, and "
    f"{adopt.FILE_NAME} is written there.",
)
@output_options
@root_option
@litellm_options
@click.option(
    "--dry-run",
    is_flag=True,
    help=f"Write nothing; print the {adopt.FILE_NAME} text on stdout (the report on stderr).",
)
@source_options
def adopt_command(
    config_path: Path,
    out: Path,
    output_format: str | None,
    layout: str | None,
    root_name: str | None,
    litellm_url: str,
    ignore_users: tuple[str, ...],
    litellm_concurrency: int,
    as_json: bool,
    dry_run: bool,
    source: SourceOptions,
) -> None:
    """Write import blocks for every rendered object LiteLLM already has.

    Teams created at SSO login (team id = group object id), their members, organizations and
    organization members are adopted instead of duplicated. Objects LiteLLM does not have
    get no import block (an import of a missing object fails the plan). The report lists what
    LiteLLM has that the policy does not render: terraform apply leaves those alone. With
    users.manage, existing users are imported too, except proxy admins the policy would demote
    (listed, never imported).
    """
    policy = load_policy(config_path)
    client = litellm_client(litellm_url, litellm_concurrency)
    directory = open_source(source).read(policy.needs())
    report = run.generate(policy, directory, run.Options(out, output_format, layout))
    report.refuse_but_guards()
    placement = roots.Roots(report.layout, report.labels)
    whole = report.outcome.state
    state = whole if root_name is None else placement.part(whole, root_name)
    at = render.named(report.format).addresses(report.labels)
    live = read_for(client, state)
    adoption = adopt.plan(state, at, live, ignore_users, whole=whole)
    people = People(directory, policy.identity)
    if email := email_attribute_warning(live, people, policy.identity):
        adoption = replace(adoption, warnings=(*adoption.warnings, email))
    written = {
        roots.path(root, adopt.FILE_NAME): adopt.imports_tf(part)
        for root, part in adopt.by_root(adoption, placement, state, at).items()
    }
    if dry_run:
        for text in written.values():
            click.echo(text, nl=False)
    else:
        writes.write_generated(out, written, ADOPTED)
    paths = [str(out / name) for name in written]
    if as_json:
        data = {**as_dict(adoption), "files": [] if dry_run else paths}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    where = ", ".join(paths) or f"{out}"
    if dry_run:
        head = f"would write {len(adoption.imports)} import block(s) to {where}"
    elif adoption.imports:
        head = f"wrote {len(adoption.imports)} import block(s) to {where}"
    else:
        head = f"nothing to import; no {adopt.FILE_NAME} written"
    lines = [f"entraform adopt: {head}", *describe(adoption)]
    click.echo("\n".join(lines), err=dry_run)
