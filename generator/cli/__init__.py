"""The command line: one module per command; errors become exit codes here, and only here.

Commands are listed with their one-line summaries and imported when they run, so that
`entraform --help` loads no command's dependencies (a test keeps each summary the command's own).
"""

from __future__ import annotations

import gc
import importlib
from typing import Any, NamedTuple

import click

from generator.cli.options import examples
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


class Command(NamedTuple):
    """A command: its name (and module), its function, and its help's first paragraph."""

    name: str
    function: str
    summary: str


COMMANDS = {
    c.name: c
    for c in (
        Command(
            "init",
            "init_command",
            "Write a first policy file: a commented starter, or one drawn from a live LiteLLM.",
        ),
        Command(
            "generate",
            "generate",
            "Render Terraform or YAML for LiteLLM into OUT from Graph or a snapshot.",
        ),
        Command(
            "validate",
            "validate",
            "Check the policy file; errors name the file, key path and line.",
        ),
        Command(
            "snapshot",
            "snapshot",
            "Read what the policy needs from Microsoft Graph and write it as a snapshot file.",
        ),
        Command(
            "adopt",
            "adopt_command",
            "Write import blocks for every rendered object LiteLLM already has.",
        ),
        Command(
            "drift",
            "drift_command",
            "Compare the desired state with live LiteLLM "
            "(read-only); exit 1 on drift, 5 on security.",
        ),
        Command(
            "explain",
            "explain_command",
            "Show every organization and team PERSON gets, "
            "with the role and each path granting it.",
        ),
        Command(
            "map", "map_structure", "Draw the whole structure as Mermaid diagrams in Markdown."
        ),
        Command(
            "schema",
            "schema",
            "Print the policy file's JSON Schema (for editors: see docs/editors.md).",
        ),
    )
}


class _Group(click.Group):
    """Loads a command when it runs, and maps entraform's errors to exit codes: the one place."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = COMMANDS.get(cmd_name)
        if found is None:
            return None
        module = importlib.import_module(f"generator.cli.{found.name}")
        command: click.Command = getattr(module, found.function)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # As click writes them, from the summaries: no command is imported to list it.
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [
            (n, click.Command(n, help=COMMANDS[n].summary).get_short_help_str(limit)) for n in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

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


def main() -> None:
    """Console-script entry point."""
    # A run builds a large model with almost no reference cycles, reading Graph included (the
    # same peak memory with the collector off): collecting would only walk the model, over and
    # over as it grows and once more at exit to free what the process gives back anyway.
    gc.disable()
    try:
        cli(prog_name="entraform")
    finally:
        gc.freeze()
