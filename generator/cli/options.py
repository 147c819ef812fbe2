"""Options and input reading that several commands share."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click

from generator.directory import Directory
from generator.policy import Layout, OutputFormat, Policy
from generator.sources import Source
from generator.sources.snapshot import SnapshotSource

F = TypeVar("F", bound=Callable[..., Any])


def config_option(f: F) -> F:
    """The --config option every command shares."""
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default="entraform.yaml",
        show_default=True,
        help="Policy file (see README).",
    )(f)


def snapshot_option(f: F) -> F:
    """--snapshot: read the tenant from a snapshot file instead of Graph."""
    return click.option(
        "--snapshot",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read the tenant from this snapshot file instead of Microsoft Graph.",
    )(f)


def layout_option(f: F) -> F:
    """--layout: override the policy's output layout."""
    return click.option(
        "--layout",
        type=click.Choice(["single", "per-organization"]),
        help="Root modules (default: output.layout in the policy, else single): one for the "
        "tenant, or one per organization plus teams/ for the rest.",
    )(f)


def output_options(f: F) -> F:
    """--format and --layout: override the policy's output format and layout."""
    f = layout_option(f)
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["terraform", "yaml"]),
        help="Output format (default: output.format in the policy, else terraform).",
    )(f)


def with_output(
    policy: Policy, output_format: OutputFormat | None, layout: Layout | None = None
) -> Policy:
    """The policy with --format and --layout applied, where given."""
    output = policy.output
    if output_format is not None:
        output = replace(output, format=output_format)
    if layout is not None:
        output = replace(output, layout=layout)
    return replace(policy, output=output)


@dataclass(frozen=True)
class GraphOptions:
    """How to reach and pace Microsoft Graph, and how much to say while reading it."""

    url: str
    token: str | None
    tenant_id: str | None
    client_id: str | None
    certificate_path: str | None
    budget: int
    max_wait: float
    quiet: bool
    verbose: bool


def examples(*commands: str) -> str:
    """A command's help epilog: its own examples, one per line, kept as written."""
    return "\b\nExamples:\n" + "\n".join(f"  {c}" for c in commands)


def graph_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options for reading Microsoft Graph; the command gets them as `graph`.

    Secrets only ever come from the environment.
    """

    @functools.wraps(f)
    def with_graph(
        *args: Any,
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
        graph = GraphOptions(
            graph_url,
            graph_token or None,
            tenant_id,
            client_id,
            certificate_path,
            graph_budget,
            graph_max_wait,
            quiet,
            verbose,
        )
        return f(*args, graph=graph, **kwargs)

    def ru_per_window(ctx: click.Context, param: click.Parameter, value: str) -> int:
        from generator.sources.graph.costs import budget

        try:
            return budget(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    options = [
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
    command: Callable[..., Any] = with_graph
    for option in reversed(options):
        command = option(command)
    return command


def graph_source(options: GraphOptions) -> Source:
    """Build the Graph source from the graph options."""
    # Imported here: msgraph is heavy, and snapshot runs must not pay for it.
    from generator.sources.graph import GraphSettings, GraphSource
    from generator.sources.graph.progress import Progress

    settings = GraphSettings(
        base_url=options.url,
        token=options.token,
        tenant_id=options.tenant_id,
        client_id=options.client_id,
        client_secret=os.environ.get("AZURE_CLIENT_SECRET") or None,
        certificate_path=options.certificate_path,
        budget=options.budget,
        max_total_wait=options.max_wait,
    )
    verbosity = 0 if options.quiet else 2 if options.verbose else 1
    return GraphSource(settings, Progress(sys.stderr, verbosity=verbosity))


def read_directory(policy: Policy, snapshot: Path | None, options: GraphOptions) -> Directory:
    """Read the tenant from the snapshot when given, else from Microsoft Graph."""
    source = SnapshotSource(snapshot) if snapshot else graph_source(options)
    return source.read(policy.needs())
