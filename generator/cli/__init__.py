"""The command line: one module per command; errors become exit codes here, and only here."""

from __future__ import annotations

import gc
from typing import Any

import click

from generator.cli.adopt import adopt_command
from generator.cli.drift import drift_command
from generator.cli.explain import explain_command
from generator.cli.generate import generate
from generator.cli.init import init_command
from generator.cli.map import map_structure
from generator.cli.options import examples
from generator.cli.schema import schema
from generator.cli.snapshot import snapshot
from generator.cli.validate import validate
from generator.errors import ChangesFound, EntraformError

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


for _command in (
    init_command,
    generate,
    validate,
    snapshot,
    adopt_command,
    drift_command,
    explain_command,
    map_structure,
    schema,
):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    # One short batch run builds a large model with almost no reference cycles: the default
    # thresholds would rescan it over and over (measured: a third of a large run's time).
    gc.set_threshold(100_000, 50, 100)
    cli(prog_name="entraform")
