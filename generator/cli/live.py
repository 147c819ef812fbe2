"""The commands that read a live LiteLLM: `adopt` (import blocks) and `drift` (live check)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from generator import mapping
from generator import run as pipeline
from generator.cli.options import (
    GraphOptions,
    config_option,
    examples,
    graph_options,
    layout_option,
    output_options,
    read_directory,
    snapshot_option,
    with_output,
)
from generator.errors import ChangesFound, ConfigError, OutputError, SecurityFindings
from generator.live import adopt, drift, security
from generator.live.client import CONCURRENCY, Client, LiveState, read_live
from generator.policy import Layout, OutputFormat, load_policy
from generator.state import DesiredState
from generator.workspace import roots
from generator.workspace import writes as files

F = TypeVar("F", bound=Callable[..., Any])


def litellm_options(f: F) -> F:
    """Where LiteLLM is and whose members are not Entra's; the key comes from the env only."""
    options = [
        click.option(
            "--litellm-url",
            envvar="LITELLM_API_BASE",
            show_envvar=True,
            required=True,
            help="Base URL of the LiteLLM proxy. The key is read from LITELLM_API_KEY only "
            "and used for read-only calls.",
        ),
        click.option(
            "--ignore-user",
            "ignore_users",
            multiple=True,
            default=("default_user_id",),
            show_default=True,
            help="A LiteLLM user id whose membership is not Entra's doing (repeatable; giving "
            "any replaces the default, the proxy admin that master-key creates add).",
        ),
        click.option(
            "--litellm-concurrency",
            type=click.IntRange(min=1),
            default=CONCURRENCY,
            show_default=True,
            help="LiteLLM requests out at once (1: one at a time). A 429 or 503 pauses them "
            "all for its Retry-After.",
        ),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def root_option(f: F) -> F:
    """--root: one root module of the per-organization layout instead of the whole tree."""
    return click.option(
        "--root",
        "root_name",
        metavar="FOLDER",
        help="Only this root module of OUT (a folder such as org_<label> or teams, as the "
        "generate report's changed_roots lists them; '.' for the single layout).",
    )(f)


def _root_part(result: pipeline.Result, layout: Layout, root_name: str | None) -> DesiredState:
    """The objects of one root (all of them without --root); an unknown root is an error."""
    state = result.outcome.state
    if root_name is None:
        return state
    parts = roots.Placement(layout, result.labels).split(state)
    named = {roots.shown(r): part for r, part in parts.items()}
    if root_name.strip("/") not in named:
        known = ", ".join(sorted(named)) or "none"
        raise ConfigError(f"--root {root_name}: no such root module (roots: {known})")
    return named[root_name.strip("/")]


def _client(url: str, concurrency: int) -> Client:
    key = os.environ.get("LITELLM_API_KEY", "")
    if not key:
        raise ConfigError(
            "LITELLM_API_KEY is not set: export a LiteLLM proxy admin key "
            "(entraform only makes read-only calls with it)"
        )
    return Client(url, key, concurrency=concurrency)


def _read_live(client: Client, state: DesiredState) -> LiveState:
    with client:
        return read_live(
            client,
            (t.id for t in state.teams),
            (o.id for o in state.organizations),
            users=bool(state.users),
        )


@click.command(
    "adopt",
    epilog=examples(
        "export LITELLM_API_KEY=...   # a proxy admin key; entraform only reads with it",
        "entraform adopt -c entraform.yaml --snapshot tenant.json -o infra/litellm \\",
        "    --litellm-url https://litellm.example.com",
        "entraform adopt ... --dry-run   # print imports.tf instead of writing it",
    ),
)
@config_option
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder of `entraform generate`: its labels name the import addresses, and "
    f"{adopt.FILE_NAME} is written there.",
)
@output_options
@root_option
@snapshot_option
@litellm_options
@click.option(
    "--dry-run",
    is_flag=True,
    help=f"Write nothing; print the {adopt.FILE_NAME} text on stdout (the report on stderr).",
)
@graph_options
def adopt_command(
    config_path: Path,
    out: Path,
    output_format: OutputFormat | None,
    layout: Layout | None,
    root_name: str | None,
    snapshot: Path | None,
    litellm_url: str,
    ignore_users: tuple[str, ...],
    litellm_concurrency: int,
    as_json: bool,
    dry_run: bool,
    graph: GraphOptions,
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
    policy = with_output(policy, output_format, layout)
    client = _client(litellm_url, litellm_concurrency)
    result = pipeline.build(policy, read_directory(policy, snapshot, graph), out)
    state = _root_part(result, policy.output.layout, root_name)
    live = _read_live(client, state)
    adoption = adopt.plan(
        state, result.labels, policy.output.format, live, ignore_users, whole=result.outcome.state
    )
    placement = roots.Placement(policy.output.layout, result.labels)
    written = {
        out / roots.path(root, adopt.FILE_NAME): adopt.imports_tf(part)
        for root, part in adopt.by_root(adoption, placement, state, policy.output.format).items()
    }
    if dry_run:
        for text in written.values():
            click.echo(text, nl=False)
    else:
        for path, text in written.items():
            _refuse_foreign(path)
            files.write_one(path, text)
    paths = [str(path) for path in written]
    if as_json:
        data = {**adopt.as_dict(adoption), "files": [] if dry_run else paths}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    where = ", ".join(paths) or f"{out}"
    if dry_run:
        head = f"would write {len(adoption.imports)} import block(s) to {where}"
    elif adoption.imports:
        head = f"wrote {len(adoption.imports)} import block(s) to {where}"
    else:
        head = f"nothing to import; no {adopt.FILE_NAME} written"
    lines = [f"entraform adopt: {head}", *adopt.describe(adoption)]
    click.echo("\n".join(lines), err=dry_run)


def _refuse_foreign(path: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"cannot read {path}: {exc}") from exc
    if text is not None and not adopt.is_ours(text):
        raise OutputError(
            f"{path} exists but was not written by entraform adopt; move it away first"
        )


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
@snapshot_option
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
@graph_options
def drift_command(
    config_path: Path,
    snapshot: Path | None,
    litellm_url: str,
    ignore_users: tuple[str, ...],
    litellm_concurrency: int,
    as_json: bool,
    root_name: str | None,
    out: Path | None,
    layout: Layout | None,
    strict: bool,
    graph: GraphOptions,
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
    policy = with_output(load_policy(config_path), None, layout)
    client = _client(litellm_url, litellm_concurrency)
    directory = read_directory(policy, snapshot, graph)
    if root_name is None:
        outcome = mapping.apply(policy, directory)
        part = outcome.state
    elif out is None:
        raise click.UsageError("--root needs -o/--out: the output folder names the roots")
    else:
        result = pipeline.build(policy, directory, out)
        outcome, part = result.outcome, _root_part(result, policy.output.layout, root_name)
    state = outcome.state
    live = _read_live(client, part)
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
    if not graph.quiet:
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


COMMANDS: tuple[click.Command, ...] = (adopt_command, drift_command)
