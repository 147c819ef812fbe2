"""One `generate` run: small steps from the tenant and the last run to a Report. Writes nothing."""

from __future__ import annotations

import shlex
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from generator import mapping, plan, render
from generator.directory import Directory
from generator.mapping import checks
from generator.policy import Policy
from generator.render import blocks, fork, legacy
from generator.render.addresses import Addresses, moved_out, moves
from generator.render.templates import RenderOptions
from generator.report.outcome import Report
from generator.settings import MIGRATE_IDS, MIGRATE_LAYOUT, Asked, Settled, settle
from generator.state import DesiredState, Kind
from generator.workspace import folder, manifest, roots, writes
from generator.workspace.blocks import Import, Move
from generator.workspace.folder import Previous
from generator.workspace.labels import Labels, assign, chunked
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


def generate(policy: Policy, directory: Directory, options: Options) -> Report:
    """Map, render and plan a run; nothing is written."""
    state = (outcome := mapping.apply(policy, directory)).state
    previous = folder.read(options.out, legacy.read, state.memberships())
    settled = settle(policy, Asked(options.out, options.format, options.layout), previous.manifest)
    last_labels, last_state = previous.under(settled.ids_from, settled.ids)
    before = render.named(settled.switched_from or settled.format.name).addresses(last_labels)
    labels, moving = _labels(policy, settled, before, last_state, state)
    command = shlex.join(
        [*options.command, "--format", settled.format.name, "--layout", settled.layout]
    )
    output = _render_options(policy, options.out, settled, command)
    with _manifest_bulk(previous, state, labels) as bulk:
        files = render.render(state, labels, settled.format, output, settled.layout, previous.roots)
    at = settled.format.addresses(labels)
    moved = _moves(settled, before, last_state, state, at)
    record, digests = _record(previous, policy, settled, state, at, files, output, moved, moving)
    files[manifest.NAME] = previous.manifest_text(record, bulk.value)
    del bulk  # its pieces are as large as the manifest
    digests[manifest.NAME] = manifest.digest(files[manifest.NAME])
    previous.refuse_foreign(files)
    changes = plan.make(last_state, state, policy.safety, policy.users)
    broken = checks.refusals(policy, state, directory)
    return Report(
        out=options.out,
        outcome=outcome,
        previous=last_state,
        labels=labels,
        files=files,
        file_changes=writes.changes(previous.digests, files, digests),
        changes=changes.changes,
        refusals=(*settled.refusals, *changes.refusals, *broken),
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
        command=shlex.join([*shlex.split(command), *sorted(options.overrides)]),
        checks=() if broken else policy.checks.named,
    )


def _labels(
    policy: Policy, settled: Settled, before: Addresses, was: DesiredState, state: DesiredState
) -> tuple[Labels, tuple[Transfer, ...]]:
    """This run's labels, chunk levels and roots, and what changes root since the last run.

    `before` holds the last run's labels, with the addresses its format gave them.
    """
    last = before.labels
    forgets = plan.forgotten(policy.safety, policy.users)
    labels = assign(
        last,
        state,
        forget_organizations="organization" in forgets,
        forget_teams="team" in forgets,
        forget_users="user" in forgets,
        lead=settled.ids.lead,
    )
    labels = chunked(labels, settled.format.map_sizes(state, labels))
    placement = Roots(settled.layout, labels)
    moving = transfers(last, placement, state)
    left = moved_out(labels.tombstones, last, before, was.users)
    tombstones = tuple(sorted({*left, *let_go(last, moving)}))
    return replace(labels, tombstones=tombstones, roots=_roots(placement, state)), moving


def _manifest_bulk(
    previous: Previous, state: DesiredState, labels: Labels
) -> AbstractContextManager[fork.Later[list[str]]]:
    """The bulk of this run's manifest, offered to this process while a second core renders.

    It comes from the state and labels alone (a run's `removed` blocks are recorded apart).
    Where the folder's manifest of this version records the same ones, it is likely kept as
    it is, and the bulk is written only if asked for.
    """
    work = partial(manifest.bulk_of, state, labels)
    last = previous.recorded
    if previous.current and last is not None and (last.state, last.labels) == (state, labels):
        return nullcontext(fork.Later(work, 0))
    # It costs about what rendering a quarter as many member lines costs.
    return fork.meanwhile(work, state.lines // 4)


def _render_options(policy: Policy, out: Path, settled: Settled, command: str) -> RenderOptions:
    """The header's command, provider and backend, and which removed objects are forgotten."""
    regenerate = policy.output.regenerate_command(out, settled.format.name, settled.layout)
    forgets = plan.forgotten(policy.safety, policy.users)
    return RenderOptions(
        regenerate or command,
        policy.output.provider_version,
        policy.output.backend,
        forget_organizations="organization" in forgets,
        forget_teams="team" in forgets,
        forget_users="user" in forgets,
    )


def _moves(
    settled: Settled, before: Addresses, was: DesiredState, state: DesiredState, at: Addresses
) -> dict[str, tuple[Move, ...]]:
    """The `moved` blocks of each root: when the format switches, or a map splits or appears."""
    last = before.labels
    chunking = any(last.levels.get(k, n) != n for k, n in at.labels.levels.items())
    # Users had a resource each before they had maps: the first run with maps moves them.
    mapped = bool(was.users) and any(
        k[0] == "user" and k not in last.levels for k in at.labels.levels
    )
    if settled.switched_from is None and not chunking and not mapped:
        return {}
    earlier = roots.split_previous(was, last)
    parts = Roots(settled.layout, at.labels).split(state)
    return {
        root: moves(earlier.get(root, DesiredState()), before, part, at)
        for root, part in parts.items()
    }


def _record(
    previous: Previous,
    policy: Policy,
    settled: Settled,
    state: DesiredState,
    at: Addresses,
    files: dict[str, str],
    output: RenderOptions,
    moved: dict[str, tuple[Move, ...]],
    moving: tuple[Transfer, ...],
) -> tuple[Manifest, dict[str, str]]:
    """Write each root's blocks into the files; return this run's manifest and their digests."""
    labels = at.labels
    parts = Roots(settled.layout, labels).split(state)

    def part(root: str) -> DesiredState:
        return parts.get(root, DesiredState())

    imports: dict[str, list[Import]] = {}
    for transfer in moving:
        imports.setdefault(transfer.target, []).extend(at.imports(_alone(state, transfer)))
    pending = blocks.Pending(
        files,
        previous.text,
        lambda root: {address for _, address in at.of(part(root))},
        lambda root: {t.address for t in render.tombstones_of(labels, root, part(root), at)},
        output,
    )
    last = previous.manifest
    kept_moved = pending.moves(
        last.moves if last else {}, moved, settled.switched_from, settled.format.name
    )
    kept_imported = pending.imports(last.imports if last else {}, imports)
    digests = {name: manifest.digest(text) for name, text in files.items()}
    ids = policy.ids.describe()
    written = Manifest(
        settled.format.name, settled.layout, ids, digests, state, labels, kept_moved, kept_imported
    )
    return previous.as_written(written), digests


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
