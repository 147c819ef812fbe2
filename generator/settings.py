"""A run's settings: format, layout and id scheme, against what the output folder holds.

The format is what is asked, else the folder's, else the policy's: a folder keeps its format.
The layout is what is asked, else the policy's, else the folder's; the ids are the policy's.
A layout or id scheme other than the folder's is a migration, refused unless the options ask
for it; a layout a format cannot hold is a configuration error.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from generator import render
from generator.errors import EXIT_USAGE, OutputError, Refusal, refuse
from generator.policy import Policy
from generator.policy.ids import Ids
from generator.workspace import manifest, roots
from generator.workspace.manifest import Manifest

MIGRATE_LAYOUT = "--migrate-layout"
MIGRATE_IDS = "--migrate-ids"


@dataclass(frozen=True)
class Asked:
    """What the command line asks of a run's settings."""

    out: Path
    format: str | None = None
    layout: str | None = None


@dataclass(frozen=True)
class Settled:
    """The format, layout and ids of this run, and how they differ from the last one's."""

    format: render.Format
    layout: str
    ids: Ids
    switched_from: str | None = None
    relaid_from: str | None = None
    ids_from: Ids | None = None
    refusals: tuple[Refusal, ...] = ()
    warnings: tuple[str, ...] = ()


def settle(policy: Policy, options: Asked, last: Manifest | None) -> Settled:
    """This run's format, layout and ids, and the refusals of switches nobody asked for."""
    # The manifest's other values are checked as it is read; the formats are known up here.
    if last is not None and last.format not in render.FORMATS:
        raise OutputError(
            f"{options.out / manifest.NAME} records the format {last.format!r}, which this "
            f"release does not write ({', '.join(render.FORMATS)}); restore it from version control"
        )
    asked = options.format or (last.format if last else None) or policy.output.format
    output = render.named(asked or render.DEFAULT)
    layout = options.layout or policy.output.layout or (last.layout if last else roots.SINGLE)
    config = [r for r in (output.refusal(layout),) if r is not None]
    if policy.users.manage and layout != roots.SINGLE:
        config.append(_USERS_NEED_SINGLE)
    refuse(config)
    settled = Settled(output, layout, policy.ids)
    if last is None:
        return settled
    warnings = []
    wanted = policy.output.format
    if options.format is None and wanted not in (None, last.format):
        warnings.append(
            f"output.format in the policy is {wanted}, but {options.out} holds {last.format}: "
            f"kept {last.format} (run once with --format {wanted} to switch; moved blocks carry "
            "every object over)"
        )
    switched = last.format if last.format != output.name else None
    relaid = last.layout if last.layout != layout else None
    refusals = [] if relaid is None else _relayout(options, last, switched, layout)
    ids_from: Ids | None = None
    if last.ids != policy.ids.describe():
        ids_from = Ids.parse(last.ids)
        refusals.append(_ids_refusal(options.out, ids_from, policy.ids))
    return replace(
        settled,
        switched_from=switched,
        relaid_from=relaid,
        ids_from=ids_from,
        refusals=tuple(refusals),
        warnings=tuple(warnings),
    )


_USERS_NEED_SINGLE = Refusal(
    "users.manage needs output.layout single: a person's memberships in several organizations "
    "would depend on one user resource, and Terraform orders creation and deletion only "
    "within one root module",
    exit_code=EXIT_USAGE,
)


def _relayout(options: Asked, last: Manifest, switched: str | None, layout: str) -> list[Refusal]:
    out = options.out
    if switched is not None:
        return [
            Refusal(
                f"{out} holds the {switched} format in the {last.layout} layout, and this run "
                f"asks for another format in the {layout} layout",
                advice="Switch the format and the layout in two runs, applying in between.",
            )
        ]
    waiting = sorted(
        {*(roots.path(r, roots.MOVED_FILE) for r in last.moves)}
        | {roots.path(r, roots.TRANSFERS_FILE) for r in last.imports}
    )
    if waiting:
        return [
            Refusal(
                f"{out} still holds {', '.join(waiting)}",
                advice="Apply them and delete them before changing the layout.",
            )
        ]
    keep = f"keep the layout: pass --layout {last.layout}"
    return [
        Refusal(
            f"{out} holds the {last.layout} layout and this run asks for {layout} "
            "(output.layout or --layout)",
            MIGRATE_LAYOUT,
            "Each layout keeps objects in other Terraform states, and `moved` blocks cannot "
            f"cross states. Run again with {MIGRATE_LAYOUT}: every new root module gets "
            f"`import` blocks ({roots.TRANSFERS_FILE}) for what it takes over, and every old "
            "one `removed` blocks that forget without destroying. Apply them all (in any "
            f"order), then delete what is left of the old ones. Or {keep}.",
            otherwise=keep,
        )
    ]


def _ids_refusal(out: Path, old: Ids, new: Ids) -> Refusal:
    return Refusal(
        f"{out} was written with the id scheme {old.describe()}, and the policy now asks for "
        f"{new.describe()}. team_id and organization_id force replacement in the "
        "ncecere/litellm provider, so terraform apply would delete every team and "
        "organization (their keys with them) and create them again under the new ids",
        MIGRATE_IDS,
        f"If that migration is intended, run again with {MIGRATE_IDS} (see docs/sso.md); "
        "otherwise restore ids: in the policy.",
        otherwise="restore ids: in the policy",
    )
