"""`entraform init`: a starter policy, or one drawn from the teams a live LiteLLM already has."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from generator import mapping
from generator.cli.options import concurrency_option, examples, ignore_user_option, litellm_client
from generator.cli.source import source_options
from generator.directory import Directory
from generator.errors import ConfigError
from generator.live import draft
from generator.live.reading import read_live
from generator.policy.load import parse_policy
from generator.render.templates import policy as policy_text
from generator.sources import GroupSelector, Needs, SourceOptions, open_source
from generator.workspace import writes

STARTER = "policy/starter.yaml.j2"
DRAWN = "policy/drawn.yaml.j2"


@click.command(
    "init",
    epilog=examples(
        "entraform init -o entraform.yaml   # a commented starter policy",
        "export LITELLM_API_KEY=...        # a proxy_admin_viewer key: entraform only reads",
        "entraform init -o entraform.yaml --snapshot tenant.json \\",
        "    --litellm-url https://litellm.example.com",
        "entraform init -o entraform.yaml --litellm-url https://litellm.example.com  # Graph",
    ),
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default="entraform.yaml",
    show_default=True,
    help="Policy file to write ('-' for stdout); an existing file is only replaced with --force.",
)
@click.option("--force", is_flag=True, help="Replace the file at --out if it exists.")
@click.option(
    "--litellm-url",
    help="Draw the policy from this LiteLLM proxy's teams instead of writing a starter: select "
    "the groups whose object id is a team_id, keep aliases, settings and organizations. The key "
    "is read from LITELLM_API_KEY only and used for read-only calls.",
)
@ignore_user_option
@concurrency_option
@source_options
def init_command(
    out: Path,
    force: bool,
    litellm_url: str | None,
    ignore_users: tuple[str, ...],
    litellm_concurrency: int,
    source: SourceOptions,
) -> None:
    """Write a first policy file: a commented starter, or one drawn from a live LiteLLM.

    With --litellm-url, the teams LiteLLM's SSO login created (team_id = group object id) are
    selected by id, keeping their aliases, settings and organizations, so that the first
    generate + adopt + terraform plan imports them and creates or deletes nothing. Teams whose
    id is not a group are listed as not manageable. Nothing is written when anything fails.
    """
    stdout = str(out) == "-"
    if not stdout and out.exists() and not force:
        raise ConfigError(f"{out} exists; pass --force to replace it, or choose another --out")
    if litellm_url is None:
        if source.snapshot is not None:
            raise click.UsageError("--snapshot is only read with --litellm-url")
        _write(out, stdout, policy_text(STARTER, {}))
        if not stdout and not source.quiet:
            policy = shlex.quote(str(out))
            click.echo(
                f"entraform init: wrote {out}: a starter policy; edit its rules, then check "
                f"them with entraform validate -c {policy} (see docs/policy.md)",
                err=True,
            )
        return
    client = litellm_client(litellm_url, litellm_concurrency)
    with client:
        listed = read_live(client, (), ())
        ids = draft.group_ids(listed)
        directory = _groups(ids, source)
        teams = [t.id for t in listed.teams if t.id in directory.groups]
        live = read_live(client, teams, (i for i in ids if i in directory.groups))
    drawn = draft.draw(live, directory, ignore_users)
    if not drawn.teams:
        raise ConfigError(
            f"none of the {len(live.teams)} team(s) of {litellm_url} has an Entra group object id "
            "as its team_id; nothing to draw a policy from (`entraform init` without "
            "--litellm-url writes a starter policy). Nothing was written."
        )
    text = policy_text(DRAWN, {"draft": drawn})
    _check(text, str(out), directory)
    _write(out, stdout, text)
    if not source.quiet:
        click.echo("\n".join(_report(out, drawn)), err=True)
        click.echo(_next(out, source, litellm_url), err=True)


def _groups(ids: tuple[str, ...], source: SourceOptions) -> Directory:
    if not ids:
        return Directory.of((), ())
    # Direct members: they are whom LiteLLM's login added, and the drawn policy reads no more.
    needs = Needs(selectors=(GroupSelector(ids=ids),), transitive=False)
    return open_source(source).read(needs)


def _check(text: str, origin: str, directory: Directory) -> None:
    """Refuse to write a drawn policy that does not validate or breaks LiteLLM's rules."""
    try:
        mapping.apply(parse_policy(text, origin), directory)
    except ConfigError as exc:
        raise ConfigError(
            f"the policy drawn from LiteLLM does not hold, so nothing was written:\n{exc}\n"
            "correct the teams named above in LiteLLM, or start from `entraform init` without "
            "--litellm-url"
        ) from exc


def _write(out: Path, stdout: bool, text: str) -> None:
    if stdout:
        click.echo(text, nl=False)
    else:
        writes.write_one(out, text)


def _report(out: Path, drawn: draft.Draft) -> list[str]:
    organizations = sum(len(r.groups) for r in drawn.organizations)
    placed = f", {organizations} organization(s)" if organizations else ""
    lines = [
        f"entraform init: wrote {out}: {drawn.team_count} team(s){placed} selected by group "
        f"object id (identity.user_id: {drawn.user_id})"
    ]
    if drawn.unmanageable:
        lines += ["", "Not manageable by entraform (left out; drift lists them as not managed):"]
        lines += [f"  {u.describe()}" for u in drawn.unmanageable]
    if drawn.warnings:
        lines += ["", "Warnings:", *(f"  - {w}" for w in drawn.warnings)]
    return lines


def _next(out: Path, source: SourceOptions, litellm_url: str) -> str:
    """The next commands, runnable as printed once DIR is chosen."""
    saved = str(out) != "-"
    policy = shlex.quote(str(out) if saved else "entraform.yaml")
    read = f" --snapshot {shlex.quote(str(source.snapshot))}" if source.snapshot else ""
    where = "" if saved else f" (save the policy as {policy} first)"
    return (
        f"\nNext{where}: entraform generate -c {policy}{read} -o DIR, then entraform adopt "
        f"-c {policy}{read} -o DIR --litellm-url {shlex.quote(litellm_url)}, then terraform "
        "plan in DIR (see docs/init.md)"
    )
