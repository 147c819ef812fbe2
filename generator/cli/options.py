"""The option sets commands share: the policy, the output, LiteLLM (the source: cli.source)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from generator.errors import ConfigError
from generator.live.client import CONCURRENCY
from generator.workspace import roots

if TYPE_CHECKING:
    from generator.live.client import Client

F = TypeVar("F", bound=Callable[..., Any])


def examples(*commands: str) -> str:
    """A command's help epilog: its own examples, one per line, kept as written."""
    return "\b\nExamples:\n" + "\n".join(f"  {c}" for c in commands)


def config_option(f: F) -> F:
    """The --config option every command shares."""
    return click.option(
        "-c",
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default="entraform.yaml",
        show_default=True,
        help="Policy file (see docs/policy.md; `entraform init` writes a first one).",
    )(f)


def folder_option(help: str, *, required: bool = True) -> Callable[[F], F]:
    """-o/--out: the output folder `entraform generate` writes."""
    return click.option(
        "-o",
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        required=required,
        help=help,
    )


def file_option(help: str, *, dash: bool = False) -> Callable[[F], F]:
    """-o/--out: the one file a command writes (with `dash`, '-' for stdout)."""
    return click.option(
        "-o",
        "--out",
        type=click.Path(dir_okay=False, allow_dash=dash, path_type=Path),
        required=True,
        help=help,
    )


def layout_option(f: F) -> F:
    """--layout: the root modules, over the policy's and the folder's."""
    return click.option(
        "--layout",
        type=click.Choice(roots.LAYOUTS),
        help="Root modules: one for the tenant, or one per organization plus teams/ for the "
        "rest (default: output.layout in the policy, else the folder's, else single).",
    )(f)


class _Formats(click.Choice[str]):
    """--format's choices: the names in render.FORMATS, looked up when the option is used."""

    def __init__(self) -> None:
        super().__init__(())

    @property
    def choices(self) -> tuple[str, ...]:
        from generator.render import FORMATS

        return tuple(sorted(FORMATS))

    @choices.setter
    def choices(self, value: object) -> None:
        """Choice's own constructor sets them; the table is what counts."""


def output_options(f: F) -> F:
    """--format and --layout: over what the policy and the folder say."""
    f = layout_option(f)
    return click.option(
        "--format",
        "output_format",
        type=_Formats(),
        help="Output format (default: the folder's, else output.format in the policy, else "
        "terraform). Another format than the folder's is a switch that moves every object.",
    )(f)


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
        ignore_user_option,
        concurrency_option,
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def ignore_user_option(f: F) -> F:
    """--ignore-user: members that are not Entra's doing."""
    return click.option(
        "--ignore-user",
        "ignore_users",
        multiple=True,
        default=("default_user_id",),
        show_default=True,
        help="A LiteLLM user id whose membership is not Entra's doing (repeatable; giving "
        "any replaces the default, the proxy admin that master-key creates add).",
    )(f)


def concurrency_option(f: F) -> F:
    """--litellm-concurrency: requests out at once."""
    return click.option(
        "--litellm-concurrency",
        type=click.IntRange(min=1),
        default=CONCURRENCY,
        show_default=True,
        help="LiteLLM requests out at once (1: one at a time). A 429 or 503 pauses them "
        "all for its Retry-After.",
    )(f)


def root_option(f: F) -> F:
    """--root: one root module of the per-organization layout instead of the whole tree."""
    return click.option(
        "--root",
        "root_name",
        metavar="FOLDER",
        help="Only this root module of OUT (a folder such as org_<label> or teams, as the "
        "generate report's changed_roots lists them; '.' for the single layout).",
    )(f)


def litellm_client(url: str, concurrency: int) -> Client:
    """A read-only LiteLLM client; the key is read from the environment only."""
    from generator.live.client import Client

    key = os.environ.get("LITELLM_API_KEY", "")
    if not key:
        raise ConfigError(
            "LITELLM_API_KEY is not set: export the key of a LiteLLM proxy_admin_viewer user "
            "(entraform only makes read-only calls with it)"
        )
    return Client(url, key, concurrency=concurrency)
