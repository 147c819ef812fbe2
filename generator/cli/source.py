"""The tenant's source as every command that reads it takes it: a snapshot file or Graph."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from generator.sources import SourceOptions

Decorated = TypeVar("Decorated", bound=Callable[..., Any])


def snapshot_option(f: Decorated) -> Decorated:
    """--snapshot: read the tenant from a snapshot file instead of Graph."""
    return click.option(
        "--snapshot",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read the tenant from this snapshot file instead of Microsoft Graph.",
    )(f)


def source_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options that say where the tenant is read; the command gets them as `source`.

    A snapshot file when given, else Microsoft Graph. Secrets only ever come from the
    environment.
    """

    @functools.wraps(f)
    def with_source(
        *args: Any,
        snapshot: Path | None,
        graph_url: str,
        graph_token: str | None,
        tenant_id: str | None,
        client_id: str | None,
        certificate_path: str | None,
        graph_budget: int,
        graph_max_wait: float,
        quiet: bool,
        verbose: bool,
        **kwargs: Any,
    ) -> Any:
        from generator.sources.graph.settings import GraphSettings

        graph = GraphSettings(
            base_url=graph_url,
            token=graph_token or None,
            tenant_id=tenant_id,
            client_id=client_id,
            client_secret=os.environ.get("AZURE_CLIENT_SECRET") or None,
            certificate_path=certificate_path,
            budget=graph_budget,
            max_total_wait=graph_max_wait,
        )
        verbosity = 0 if quiet else 2 if verbose else 1
        return f(*args, source=SourceOptions(snapshot, graph, verbosity), **kwargs)

    def ru_per_window(ctx: click.Context, param: click.Parameter, value: str) -> int:
        from generator.sources.graph.costs import budget

        try:
            return budget(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    options = [
        snapshot_option,
        click.option(
            "--graph-url",
            envvar="ENTRAFORM_GRAPH_URL",
            default="https://graph.microsoft.com/v1.0",
            show_default=True,
            show_envvar=True,
            help="Graph base URL: national clouds, or a local fake for tests.",
        ),
        click.option(
            "--graph-token",
            envvar="ENTRAFORM_GRAPH_TOKEN",
            show_envvar=True,
            help="A pre-acquired bearer token for Graph (prefer the env variable: "
            "command lines are visible to other processes).",
        ),
        click.option(
            "--tenant-id",
            envvar="AZURE_TENANT_ID",
            show_envvar=True,
            help="Entra tenant for client-secret or certificate credentials.",
        ),
        click.option(
            "--client-id",
            envvar="AZURE_CLIENT_ID",
            show_envvar=True,
            help="App registration (client) id. The secret is read from AZURE_CLIENT_SECRET only.",
        ),
        click.option(
            "--certificate",
            "certificate_path",
            envvar="AZURE_CLIENT_CERTIFICATE_PATH",
            show_envvar=True,
            type=click.Path(dir_okay=False),
            help="PEM certificate (with private key) for the app registration.",
        ),
        click.option(
            "--graph-budget",
            envvar="ENTRAFORM_GRAPH_BUDGET",
            show_envvar=True,
            default="L",
            show_default=True,
            callback=ru_per_window,
            help="Graph's throttling budget for this app and tenant, to pace reads to: a tenant "
            "size class (S under 50 users, M up to 500, L above) or RU per 10 s. A lower "
            "budget that Graph reports is learned during the read.",
        ),
        click.option(
            "--graph-max-wait",
            envvar="ENTRAFORM_GRAPH_MAX_WAIT",
            show_envvar=True,
            type=click.FloatRange(min=0),
            default=1200.0,
            show_default=True,
            help="Seconds a read may spend held back by Graph's throttling (pacing and "
            "Retry-After) before it exits 3.",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print errors only."),
        click.option("-v", "--verbose", is_flag=True, help="Log setup and each throttling pause."),
    ]
    command: Callable[..., Any] = with_source
    for option in reversed(options):
        command = option(command)
    return command


# Graph options that decide what is read, by parameter name; never --graph-token (a secret).
_GRAPH_WORDS = {
    "graph_url": "--graph-url",
    "tenant_id": "--tenant-id",
    "client_id": "--client-id",
    "certificate_path": "--certificate",
    "graph_budget": "--graph-budget",
    "graph_max_wait": "--graph-max-wait",
}


def reproducing(command: str, config: Path, source: SourceOptions, out: Path) -> list[str]:
    """The words of the command line that writes OUT again, for its file header."""
    words = ["entraform", command, "--config", str(config)]
    if source.snapshot:
        words += ["--snapshot", str(source.snapshot)]
    else:
        # Given on the command line, they must be given again; from the environment, they are.
        context = click.get_current_context()
        for name, flag in _GRAPH_WORDS.items():
            if context.get_parameter_source(name) is ParameterSource.COMMANDLINE:
                words += [flag, str(context.params[name])]
    return [*words, "--out", str(out)]
