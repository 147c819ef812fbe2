"""The command line: parses options, calls the core, prints, and maps errors to exit codes."""

from __future__ import annotations

import difflib
import gc
import json
import shlex
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import click

from generator import mapping
from generator import run as pipeline
from generator.cli.explain import explain_command
from generator.cli.init import init_command
from generator.cli.live import COMMANDS
from generator.cli.options import (
    GraphOptions,
    config_option,
    examples,
    graph_options,
    graph_source,
    output_options,
    read_directory,
    snapshot_option,
    with_output,
)
from generator.errors import ChangesFound, EntraformError, UnsafePlanError
from generator.policy import Layout, OutputFormat, load_policy
from generator.report import summary
from generator.sources.snapshot import SnapshotSource
from generator.workspace import writes as files

EXAMPLES = examples(
    "entraform init -o entraform.yaml   # a starter policy, or --litellm-url URL to adopt",
    "entraform generate -c entraform.yaml --snapshot tenant.json -o infra/litellm",
    "entraform snapshot -c entraform.yaml -o tenant.json",
    "entraform validate -c entraform.yaml",
    "entraform adopt -c entraform.yaml -o infra/litellm --litellm-url https://litellm.example.com",
    "entraform drift -c entraform.yaml --litellm-url https://litellm.example.com",
    "entraform explain alice@contoso.com -c entraform.yaml --snapshot tenant.json",
    "entraform map -c entraform.yaml --snapshot tenant.json --out map.md",
    "entraform COMMAND --help   # each command's options and examples",
)


class _Group(click.Group):
    """Maps entraform's errors to exit codes: the one place that does."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ChangesFound as exc:
            click.echo(f"entraform: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except EntraformError as exc:
            click.echo(f"entraform: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, epilog=EXAMPLES)
@click.version_option(package_name="entraform", prog_name="entraform")
def cli() -> None:
    """Render LiteLLM organizations, teams and memberships from Microsoft Entra ID groups.

    Reads groups through Microsoft Graph (or a snapshot file), maps them through your policy
    file and writes Terraform for the ncecere/litellm provider, or YAML, for review in a pull
    request. Exit codes: 0 ok, 1 changes found under --check or drift found, 2 usage or
    config error, 3 runtime error (Graph, LiteLLM, I/O), 4 unsafe change refused, 5 drift
    found members in LiteLLM whom the policy leaves out (a security finding).
    """


@cli.command(
    epilog=examples(
        "entraform generate -c entraform.yaml --snapshot tenant.json -o infra/litellm",
        "entraform generate -c entraform.yaml -o infra/litellm   # from Microsoft Graph",
        "entraform generate -c entraform.yaml -o infra/litellm --check --diff",
        "entraform generate ... --summary pr.md --report pr.json",
        "entraform generate ... --migrate-ids   # after changing ids: in the policy",
    )
)
@config_option
@snapshot_option
@click.option(
    "-o",
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Output folder; only files carrying entraform's header are ever changed.",
)
@output_options
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 and list the files that would change, or say none would.",
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Write nothing; print a unified diff of the files that would change (exit 0; "
    "with --check, 1 when there are changes).",
)
@click.option(
    "--summary",
    "summary_path",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write a Markdown change summary (for the PR body); '-' for stdout.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write the change set as JSON; '-' for stdout.",
)
@click.option(
    "--allow-removals", is_flag=True, help="Proceed past the removal guards (the summary says so)."
)
@click.option(
    "--migrate-layout",
    is_flag=True,
    help="Move OUT to the layout asked (output.layout or --layout): import blocks in the new "
    "roots, "
    "removed blocks (forget, never destroy) in the old ones. Without it a layout change "
    "is refused (exit 4).",
)
@click.option(
    "--migrate-ids",
    is_flag=True,
    help="Accept a change of the policy's ids: scheme on existing output: terraform apply then "
    "replaces every team and organization (their keys are deleted). Refused (exit 4) without it.",
)
@graph_options
def generate(
    config_path: Path,
    snapshot: Path | None,
    out: Path,
    output_format: OutputFormat | None,
    layout: Layout | None,
    check: bool,
    show_diff: bool,
    summary_path: str | None,
    report_path: str | None,
    allow_removals: bool,
    migrate_layout: bool,
    migrate_ids: bool,
    graph: GraphOptions,
) -> None:
    """Render Terraform or YAML for LiteLLM into OUT from Graph or a snapshot.

    Nothing is written when a guard refuses the change set (exit 4) or anything fails.
    """
    policy = load_policy(config_path)
    policy = with_output(policy, output_format, layout)
    directory = read_directory(policy, snapshot, graph)
    result = pipeline.build(
        policy, directory, out, migrate_layout=migrate_layout, migrate_ids=migrate_ids
    )
    if result.ids_switch is not None and not graph.quiet:
        old, new = result.ids_switch
        click.echo(
            f"entraform: ids migrate from {old} to {new}: terraform apply replaces every team "
            "and organization (deleting their keys) and creates them under the new ids",
            err=True,
        )
    _write_reports(result, summary_path, report_path, allow_removals)
    refusals = () if allow_removals else result.plan.refusals
    if allow_removals and not graph.quiet:
        for reason in result.plan.refusals:
            click.echo(f"entraform: allowed: {reason}", err=True)
    if check or show_diff:
        _print_changes(result, out, show_diff)
        if check and not result.plan.changed and not graph.quiet:
            unchanged = len(result.files)
            click.echo(f"entraform: {unchanged} file(s) would be left unchanged", err=True)
        if refusals:
            _refuse(refusals)
        if check and result.plan.changed:
            fix = _fix_command(config_path, snapshot, out, output_format, layout)
            stale = len(result.plan.files)
            raise ChangesFound(f"{stale} file(s) in {out} are out of date; update them with: {fix}")
        return
    if refusals:
        _refuse(refusals)
    files.write(out, result.plan.files)
    if not graph.quiet:
        counts = {
            a: sum(1 for f in result.plan.files if f.action == a)
            for a in ("create", "update", "delete")
        }
        done = ", ".join(f"{n} {a}d" for a, n in counts.items() if n) or "no file changed"
        click.echo(f"entraform: {out}: {done}", err=True)


def _fix_command(
    config_path: Path,
    snapshot: Path | None,
    out: Path,
    output_format: str | None,
    layout: str | None,
) -> str:
    """The generate command that rewrites what --check found stale."""
    words = ["entraform", "generate", "-c", str(config_path), "-o", str(out)]
    words += ["--snapshot", str(snapshot)] if snapshot else []
    words += ["--format", output_format] if output_format else []
    words += ["--layout", layout] if layout else []
    return shlex.join(words)


def _refuse(reasons: Sequence[str]) -> None:
    raise UnsafePlanError(
        "refused: "
        + "; ".join(reasons)
        + ". Nothing was written. Review the removals; if they are intended, run again with "
        "--allow-removals."
    )


def _print_changes(result: pipeline.Result, out: Path, show_diff: bool) -> None:
    for change in result.plan.files:
        click.echo(f"would {change.action} {out / change.name}", err=True)
        if show_diff:
            diff = difflib.unified_diff(
                (change.old or "").splitlines(keepends=True),
                (change.new or "").splitlines(keepends=True),
                fromfile=f"a/{change.name}" if change.old is not None else "/dev/null",
                tofile=f"b/{change.name}" if change.new is not None else "/dev/null",
            )
            click.echo("".join(diff), nl=False)


def _write_reports(
    result: pipeline.Result, summary_path: str | None, report_path: str | None, allowed: bool
) -> None:
    if summary_path:
        _emit(summary_path, summary.markdown(result, removals_allowed=allowed))
    if report_path:
        data = summary.report(result, removals_allowed=allowed)
        _emit(report_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _emit(path: str, text: str) -> None:
    if path == "-":
        click.echo(text, nl=False)
    else:
        files.write_one(Path(path), text)


@cli.command(
    epilog=examples(
        "entraform validate -c entraform.yaml",
        "entraform validate -c entraform.yaml --snapshot tenant.json",
    )
)
@config_option
@click.option(
    "--snapshot",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also apply the policy to this snapshot and check LiteLLM's rules.",
)
def validate(config_path: Path, snapshot: Path | None) -> None:
    """Check the policy file; errors name the file, key path and line."""
    policy = load_policy(config_path)
    message = (
        f"{config_path}: ok ({len(policy.organizations)} organization rule(s), "
        f"{len(policy.teams)} team rule(s))"
    )
    if snapshot:
        outcome = mapping.apply(policy, SnapshotSource(snapshot).read(policy.needs()))
        state = outcome.state
        message += f"; {len(state.organizations)} organization(s), {len(state.teams)} team(s)"
        for warning in outcome.findings.warnings:
            click.echo(f"entraform: warning: {warning}", err=True)
    click.echo(message)


@cli.command(
    epilog=examples(
        "entraform snapshot -c entraform.yaml -o tenant.json",
        "AZURE_TENANT_ID=... AZURE_CLIENT_ID=... AZURE_CLIENT_SECRET=... \\",
        "  entraform snapshot -c entraform.yaml -o tenant.json",
    )
)
@config_option
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Snapshot file to write (replaced atomically, only when the read succeeded).",
)
@graph_options
def snapshot(config_path: Path, out: Path, graph: GraphOptions) -> None:
    """Read what the policy needs from Microsoft Graph and write it as a snapshot file."""
    from generator.sources import snapshot as snapshot_file

    policy = load_policy(config_path)
    directory = graph_source(graph).read(policy.needs())
    files.write_one(out, snapshot_file.dumps(directory))
    if not graph.quiet:
        click.echo(
            f"entraform: wrote {out}: {len(directory.groups)} groups, {len(directory.users)} users",
            err=True,
        )


@cli.command(
    "map",
    epilog=examples(
        "entraform map -c entraform.yaml --snapshot tenant.json --out map.md",
        "entraform map -c entraform.yaml --out map.md   # from Microsoft Graph",
        "entraform map -c entraform.yaml --snapshot tenant.json --out -   # to stdout",
    ),
)
@config_option
@snapshot_option
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True),
    required=True,
    help="Markdown file to write ('-' for stdout); a file entraform did not write is refused.",
)
@graph_options
def map_structure(config_path: Path, snapshot: Path | None, out: str, graph: GraphOptions) -> None:
    """Draw the whole structure as Mermaid diagrams in Markdown.

    One diagram per organization and one for the standalone teams, each team linked to the
    Entra group it comes from, with member counts. GitHub and Azure DevOps render them.
    """
    policy = load_policy(config_path)
    state = mapping.apply(policy, read_directory(policy, snapshot, graph)).state
    words = ["entraform", "map", "--config", str(config_path)]
    words += ["--snapshot", str(snapshot)] if snapshot else []
    text = summary.structure(state, shlex.join([*words, "--out", out]))
    if out == "-":
        click.echo(text, nl=False)
        return
    files.write_generated(Path(out), text)
    if not graph.quiet:
        click.echo(f"entraform: wrote {out}", err=True)


@cli.command(epilog=examples("entraform schema > entraform.schema.json"))
def schema() -> None:
    """Print the policy file's JSON Schema (for editors: see the README)."""
    text = resources.files("generator").joinpath("policy.schema.json").read_text(encoding="utf-8")
    click.echo(text, nl=False)


def main() -> None:
    """Console-script entry point."""
    # One short batch run builds a large model with almost no reference cycles: the default
    # thresholds would rescan it over and over (measured: a third of a large run's time).
    gc.set_threshold(100_000, 50, 100)
    cli(prog_name="entraform")


for _command in COMMANDS:
    cli.add_command(_command)
cli.add_command(init_command)
cli.add_command(explain_command)
