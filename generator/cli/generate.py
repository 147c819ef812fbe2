"""`entraform generate`: render the tenant through the policy into the output folder."""

from __future__ import annotations

import difflib
import json
import shlex
from pathlib import Path

import click

from generator import run
from generator.cli.options import config_option, examples, folder_option, output_options
from generator.cli.source import reproducing, source_options
from generator.policy.load import load_policy
from generator.report import facts, summary
from generator.report.outcome import Report
from generator.sources import SourceOptions, open_source
from generator.workspace import folder, manifest, roots, writes


@click.command(
    epilog=examples(
        "entraform generate -c entraform.yaml --snapshot tenant.json -o infra/litellm",
        "entraform generate -c entraform.yaml -o infra/litellm   # from Microsoft Graph",
        "entraform generate -c entraform.yaml -o infra/litellm --check --diff",
        "entraform generate ... --summary pr.md --report pr.json",
        "entraform generate ... --migrate-ids   # after changing ids: in the policy",
    )
)
@config_option
@folder_option(
    "Output folder; only files carrying entraform's header are ever changed.",
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
    "roots, removed blocks (forget, never destroy) in the old ones. Without it a layout change "
    "is refused (exit 4).",
)
@click.option(
    "--migrate-ids",
    is_flag=True,
    help="Accept a change of the policy's ids: scheme on existing output: terraform apply then "
    "replaces every team and organization (their keys are deleted). Refused (exit 4) without it.",
)
@source_options
def generate(
    config_path: Path,
    out: Path,
    output_format: str | None,
    layout: str | None,
    check: bool,
    show_diff: bool,
    summary_path: str | None,
    report_path: str | None,
    allow_removals: bool,
    migrate_layout: bool,
    migrate_ids: bool,
    source: SourceOptions,
) -> None:
    """Render Terraform or YAML for LiteLLM into OUT from Graph or a snapshot.

    The format, layout and id scheme OUT was written with stick: a run without --format keeps
    OUT's format. Nothing is written when a guard refuses the change set (exit 4) or anything
    fails.
    """
    policy = load_policy(config_path)
    directory = open_source(source).read(policy.needs())
    options = run.Options(
        out,
        output_format,
        layout,
        migrate_layout=migrate_layout,
        migrate_ids=migrate_ids,
        allow_removals=allow_removals,
        check=check,
        command=tuple(reproducing("generate", config_path, source, out)),
    )
    report = run.generate(policy, directory, options)
    _tell(report, quiet=source.quiet)
    if summary_path:
        _emit(summary_path, summary.markdown(report))
    if report_path:
        _emit(report_path, json.dumps(facts.facts(report), indent=2, ensure_ascii=False) + "\n")
    if check or show_diff:
        _print_changes(report, out, show_diff)
        if check and not report.changed and not source.quiet:
            unchanged = len(report.files)
            click.echo(f"entraform: {unchanged} file(s) would be left unchanged", err=True)
        report.finish()
        return
    if not report.blocking:
        writes.write(out, report.file_changes)
    report.finish()
    if not source.quiet:
        counts = {
            a: sum(1 for f in report.file_changes if f.action == a)
            for a in ("create", "update", "delete")
        }
        done = ", ".join(f"{n} {a}d" for a, n in counts.items() if n) or "no file changed"
        click.echo(f"entraform: {out}: {done}", err=True)
        if any(f.name == manifest.NAME and f.action == "create" for f in report.file_changes):
            click.echo(_first_steps(report, out), err=True)


def _first_steps(report: Report, out: Path) -> str:
    """What to do after the first run into a folder: plan it, adopting what LiteLLM has."""
    chdir = shlex.quote(str(out if report.layout == roots.SINGLE else out / "<root>"))
    each = "" if report.layout == roots.SINGLE else " (in each root module)"
    return (
        f"entraform: next: review the files, then terraform -chdir={chdir} init and "
        f"terraform -chdir={chdir} plan{each}; if LiteLLM already has these teams (its SSO "
        "login makes them), run entraform adopt first (docs/adopt.md)"
    )


def _tell(report: Report, *, quiet: bool) -> None:
    """Say on stderr what the run accepts beyond the usual: migrations, allowed refusals."""
    if quiet:
        return
    if report.ids_switch is not None:
        old, new = report.ids_switch
        click.echo(
            f"entraform: ids migrate from {old} to {new}: terraform apply replaces every team "
            "and organization (deleting their keys) and creates them under the new ids",
            err=True,
        )
    for warning in report.warnings:
        click.echo(f"entraform: warning: {warning}", err=True)
    for refusal in report.allowed:
        click.echo(f"entraform: allowed: {refusal.reason}", err=True)


def _print_changes(report: Report, out: Path, show_diff: bool) -> None:
    for change in report.file_changes:
        click.echo(f"would {change.action} {out / change.name}", err=True)
        if show_diff:
            old = None if change.action == "create" else folder.text_of(out / change.name)
            diff = difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                (change.new or "").splitlines(keepends=True),
                fromfile=f"a/{change.name}" if old is not None else "/dev/null",
                tofile=f"b/{change.name}" if change.new is not None else "/dev/null",
            )
            click.echo("".join(diff), nl=False)


def _emit(path: str, text: str) -> None:
    if path == "-":
        click.echo(text, nl=False)
    else:
        writes.write_one(Path(path), text)
