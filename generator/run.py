"""One `generate` run: small steps from the tenant and the last run to a Report. Writes nothing."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from pathlib import Path

from generator import mapping, plan, render
from generator.directory import Directory
from generator.errors import EXIT_USAGE, Refusal, refuse
from generator.policy import Policy
from generator.policy.ids import Ids
from generator.render import blocks, legacy
from generator.render.addresses import moves
from generator.render.templates import RenderOptions
from generator.report.outcome import Report
from generator.state import DesiredState, Kind
from generator.workspace import folder, manifest, roots, writes
from generator.workspace.blocks import Import, Move
from generator.workspace.labels import assign, chunked
from generator.workspace.manifest import Manifest
from generator.workspace.roots import Roots, Transfer, let_go, transfers


@dataclass(frozen=True)
class Options:
    """How a run is asked for: the folder, the settings the command line overrides, the risks."""

    out: Path
    format: str | None = None
    layout: str | None = None
    migrate_layout: bool = False
    migrate_ids: bool = False
    allow_removals: bool = False
    check: bool = False
    # The command that reproduces the folder, before --format and --layout (file headers).
    command: tuple[str, ...] = ("entraform", "generate")

    @property
    def overrides(self) -> frozenset[str]:
        """The options given that accept a risk a refusal names."""
        given = {
            plan.ALLOW_REMOVALS: self.allow_removals,
            MIGRATE_LAYOUT: self.migrate_layout,
            MIGRATE_IDS: self.migrate_ids,
        }
        return frozenset(option for option, on in given.items() if on)


MIGRATE_LAYOUT = "--migrate-layout"
MIGRATE_IDS = "--migrate-ids"


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


def generate(policy: Policy, directory: Directory, options: Options) -> Report:
    """Map, render and plan a run; nothing is written."""
    previous = folder.read(options.out, legacy.read)
    settled = settle(policy, options, previous.manifest)
    outcome = mapping.apply(policy, directory)
    state = outcome.state
    last_labels, last_state = previous.under(settled.ids_from, settled.ids)
    labels = assign(
        last_labels,
        state,
        forget_organizations=policy.safety.organizations_removed == "forget",
        forget_teams=policy.safety.teams_removed == "forget",
        forget_users=policy.users.removed == "forget",
        lead=settled.ids.lead,
    )
    labels = chunked(labels, settled.format.map_sizes(state, labels))
    placement = Roots(settled.layout, labels)
    moving = transfers(last_labels, placement, state)
    labels = replace(
        labels,
        tombstones=tuple(sorted({*labels.tombstones, *let_go(last_labels, moving)})),
        roots=_roots(placement, state),
    )
    command = _command(options, settled)
    output = RenderOptions(
        policy.output.regenerate_command(options.out, settled.format.name, settled.layout)
        or command,
        policy.output.provider_version,
        policy.output.backend,
        forget_organizations=policy.safety.organizations_removed == "forget",
        forget_users=policy.users.removed == "forget",
    )
    files = render.render(state, labels, settled.format, output, settled.layout, previous.roots)
    at = settled.format.addresses(labels)
    moved: dict[str, tuple[Move, ...]] = {}
    rechunked = any(last_labels.levels.get(k, n) != n for k, n in labels.levels.items())
    if settled.switched_from is not None or rechunked:
        before = render.named(settled.switched_from or settled.format.name)
        was = roots.split_previous(last_state, last_labels)
        for root, now in placement.split(state).items():
            old = was.get(root, DesiredState())
            moved[root] = moves(old, before.addresses(last_labels), now, at)
    imports: dict[str, list[Import]] = {}
    for transfer in moving:
        alone = _alone(state, transfer)
        imports.setdefault(transfer.target, []).extend(at.imports(alone))
    parts = placement.split(state)

    def part(root: str) -> DesiredState:
        return parts.get(root, DesiredState())

    pending = blocks.Pending(
        files,
        previous.text,
        lambda root: {address for _, address in at.of(part(root))},
        lambda root: {t.address for t in render.tombstones_of(labels, root, part(root))},
        output,
    )
    last = previous.manifest
    kept_moved = pending.moves(
        last.moves if last else {}, moved, settled.switched_from, settled.format.name
    )
    kept_imported = pending.imports(last.imports if last else {}, imports)
    digests = {name: manifest.digest(text) for name, text in files.items()}
    record = previous.as_written(
        Manifest(
            settled.format.name,
            settled.layout,
            policy.ids.describe(),
            digests,
            state,
            labels,
            kept_moved,
            kept_imported,
        )
    )
    files[manifest.NAME] = manifest.dumps(record)
    digests[manifest.NAME] = manifest.digest(files[manifest.NAME])
    previous.refuse_foreign(files)
    changes = plan.make(last_state, state, policy.safety, policy.users)
    return Report(
        out=options.out,
        outcome=outcome,
        previous=last_state,
        labels=labels,
        files=files,
        file_changes=writes.changes(previous.digests, files, digests),
        changes=changes.changes,
        refusals=(*settled.refusals, *changes.refusals),
        overrides=options.overrides,
        format=settled.format.name,
        layout=settled.layout,
        switched_from=settled.switched_from,
        relaid_from=settled.relaid_from,
        ids_switch=None
        if settled.ids_from is None
        else (settled.ids_from.describe(), settled.ids.describe()),
        moves=tuple(m for root in sorted(moved) for m in moved[root]),
        transfers=moving,
        warnings=settled.warnings,
        check=options.check,
        command=shlex.join(
            [*shlex.split(command), *([plan.ALLOW_REMOVALS] if options.allow_removals else [])]
        ),
    )


def settle(policy: Policy, options: Options, last: Manifest | None) -> Settled:
    """This run's format, layout and ids: what is asked, else what the folder holds, else the
    policy's. A switch the options do not ask for is refused; a layout a format cannot hold
    is a configuration error, raised at once."""
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
    ids_from: Ids | None = Ids.parse(last.ids)
    if ids_from is None or ids_from.describe() == policy.ids.describe():
        ids_from = None
    else:
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


def _relayout(options: Options, last: Manifest, switched: str | None, layout: str) -> list[Refusal]:
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
    return [
        Refusal(
            f"{out} holds the {last.layout} layout and this run asks for {layout} "
            "(output.layout or --layout)",
            MIGRATE_LAYOUT,
            "Each layout keeps objects in other Terraform states, and `moved` blocks cannot "
            f"cross states. Run again with {MIGRATE_LAYOUT}: every new root module gets "
            f"`import` blocks ({roots.TRANSFERS_FILE}) for what it takes over, and every old "
            "one `removed` blocks that forget without destroying. Apply them all (in any "
            "order), then delete what is left of the old ones. Or keep the layout: pass "
            f"--layout {last.layout}.",
        )
    ]


def _ids_refusal(out: Path, old: Ids, new: Ids) -> Refusal:
    return Refusal(
        f"{out} was written with the id scheme {old.describe()}, and the policy now asks for "
        f"{new.describe()}. team_id and organization_id force replacement in the "
        "ncecere/litellm provider, so terraform apply would delete every team and "
        "organization (their keys with them) and create them again under the new ids",
        MIGRATE_IDS,
        f"If that migration is intended, run again with {MIGRATE_IDS} (README, Running beside "
        "LiteLLM's SSO); otherwise restore ids: in the policy.",
    )


def _roots(placement: Roots, state: DesiredState) -> dict[tuple[Kind, str], str]:
    found: dict[tuple[Kind, str], str] = {
        ("organization", placement.labels.organizations[o.id]): placement.of_organization(o.id)
        for o in state.organizations
    }
    found |= {("team", placement.labels.teams[t.id]): placement.of_team(t) for t in state.teams}
    return {at: root for at, root in found.items() if root}


def _alone(state: DesiredState, transfer: Transfer) -> DesiredState:
    if transfer.kind == "organization":
        return DesiredState((state.organizations_by_id[transfer.id],))
    return DesiredState((), (state.teams_by_id[transfer.id],))


def _command(options: Options, settled: Settled) -> str:
    words = [*options.command, "--format", settled.format.name, "--layout", settled.layout]
    return shlex.join(words)
