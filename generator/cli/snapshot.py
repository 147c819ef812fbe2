"""`entraform snapshot`: read what the policy needs and keep it as a snapshot file."""

from __future__ import annotations

from pathlib import Path

import click

from generator.cli.options import config_option, examples, file_option
from generator.cli.source import source_options
from generator.policy.load import load_policy
from generator.sources import SourceOptions, open_source
from generator.sources import snapshot as snapshot_file
from generator.workspace import writes


@click.command(
    epilog=examples(
        "entraform snapshot -c entraform.yaml -o tenant.json",
        "AZURE_TENANT_ID=... AZURE_CLIENT_ID=... AZURE_CLIENT_SECRET=... \\",
        "  entraform snapshot -c entraform.yaml -o tenant.json",
    )
)
@config_option
@file_option("Snapshot file to write (replaced atomically, only when the read succeeded).")
@source_options
def snapshot(config_path: Path, out: Path, source: SourceOptions) -> None:
    """Read what the policy needs from Microsoft Graph and write it as a snapshot file.

    With --snapshot, the snapshot given is checked and written again in the canonical form.
    """
    policy = load_policy(config_path)
    directory = open_source(source).read(policy.needs())
    writes.write_one(out, snapshot_file.dumps(directory))
    if not source.quiet:
        click.echo(
            f"entraform: wrote {out}: {len(directory.groups)} groups, {len(directory.users)} users",
            err=True,
        )
