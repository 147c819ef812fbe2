"""One run of the core: directory and policy in, a plan for the output folder out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from generator import mapping, plan, render
from generator.directory import Directory
from generator.errors import ConfigError, OutputError, UnsafePlanError
from generator.policy import PER_ORGANIZATION, YAML, Output, Policy
from generator.policy.ids import Ids
from generator.render import hcl
from generator.state import DesiredState
from generator.workspace import labels as addresses
from generator.workspace import legacy as existing
from generator.workspace import manifest, roots
from generator.workspace.labels import Addresses, Import, Labels, Move, moves
from generator.workspace.legacy import Existing


@dataclass(frozen=True)
class Result:
    """The outcome of mapping plus the plan against the output folder."""

    outcome: mapping.Outcome
    existing: Existing
    labels: Labels
    files: dict[str, str]
    plan: plan.Plan
    output_format: str
    # Set when the folder held the other format: the moves that keep every object's state.
    switched_from: str | None = None
    moves: tuple[Move, ...] = ()
    # Set when the folder held the other layout and --migrate-layout asked to move to this one.
    relaid_from: str | None = None
    transfers: roots.Transfers = field(default_factory=roots.Transfers)
    layout: str = "single"
    # Set when the id scheme changed (--migrate-ids): the old and the new scheme.
    ids_switch: tuple[str, str] | None = None
    # The changed files' objects as they were: what the summary's diagram compares against.
    previous: DesiredState = field(default_factory=DesiredState)

    @property
    def changed_roots(self) -> list[str]:
        """The root modules whose files change: the ones to plan and apply."""
        return roots.changed(f.name for f in self.plan.files if f.name != manifest.NAME)


def build(
    config: Policy,
    directory: Directory,
    out: Path,
    *,
    migrate_layout: bool = False,
    migrate_ids: bool = False,
) -> Result:
    """Map, render and plan; nothing is written."""
    outcome = mapping.apply(config, directory)
    state = outcome.state
    output = replace(config.output, regenerate=config.output.regenerate_command(out))
    _refuse_unsupported(config, output)
    before = existing.read(out)
    switched_from = before.format if before.format not in (None, output.format) else None
    relaid_from = before.layout if before.layout not in (None, output.layout) else None
    if relaid_from is not None:
        _refuse_relayout(before, relaid_from, output, switched_from, migrate_layout)
    ids_from = _ids_switch(before, config.ids, migrate_ids)
    if ids_from is not None:
        before = replace(before, labels=_relabel(before.labels, ids_from, config.ids))
    forget = config.safety.organizations_removed == "forget"
    names = addresses.assign(
        before.labels,
        state,
        forget_organizations=forget,
        forget_teams=config.safety.teams_removed == "forget",
        output_format=output.format,
        forget_users=config.users.removed == "forget",
        lead=config.ids.lead,
    )
    placement = roots.Placement(output.layout, names)
    after = Addresses(names, output.format)
    moving = roots.transfers(before.labels, placement, state, after)
    names = replace(names, tombstones=tuple(sorted({*names.tombstones, *moving.tombstones})))
    held = {roots.root_of(n) for n in before.digests if n.endswith(".tf")}
    files = render.render(
        state,
        names,
        output,
        forget_organizations=forget,
        forget_users=config.users.removed == "forget",
        held=held,
    )
    digests = {name: manifest.digest(text) for name, text in files.items()}
    rechunked = _rechunked(before.labels, names)
    if switched_from is not None or relaid_from is not None or rechunked or not before.verified:
        # Every old object is needed: to move it, or because nothing proves the files unedited.
        old, new = before.state(), state
    else:
        changed = plan.changed_files(before.digests, digests)
        old, new = before.state(changed), render.described_by(state, names, output, changed)
    if ids_from is not None:
        # Compared under the new ids, the change set shows what else changes; the summary says
        # that every object is replaced.
        old = _reidentified(old, ids_from, config.ids)
    parts = placement.split(state)
    moved: dict[str, tuple[Move, ...]] = {}
    if switched_from is not None or rechunked:
        at = Addresses(before.labels, before.format or output.format)
        was = roots.split_previous(old, before.labels)
        for root, part in parts.items():
            moved[root] = moves(was.get(root, DesiredState()), at, part, after)
    kept = _Kept(files, digests, before, output, after, parts)
    kept.moves(moved, switched_from)
    kept.imports(moving.imports)
    _add_manifest(files, digests, config.ids)
    _refuse_foreign_files(out, files, before)
    changes = plan.make(before, files, digests, old, new, state, config.safety, config.users)
    every_move = tuple(m for root in sorted(moved) for m in moved[root])
    return Result(
        outcome,
        before,
        names,
        files,
        changes,
        output.format,
        switched_from,
        every_move,
        relaid_from,
        moving,
        output.layout,
        None if ids_from is None else (ids_from.describe(), config.ids.describe()),
        previous=old,
    )


def _ids_switch(before: Existing, ids: Ids, migrate: bool) -> Ids | None:
    """The scheme the folder was written with, when it differs and --migrate-ids allows it."""
    previous = Ids.parse(before.ids)
    if before.format is None or previous.describe() == ids.describe():
        return None
    if not migrate:
        raise UnsafePlanError(
            f"refused: {before.folder} was written with the id scheme {previous.describe()}, "
            f"and the policy now asks for {ids.describe()}. team_id and organization_id force "
            "replacement in the ncecere/litellm provider, so terraform apply would delete every "
            "team and organization (their keys with them) and create them again under the new "
            "ids. Nothing was written. If that migration is intended, run again with "
            "--migrate-ids (README, Running beside LiteLLM's SSO); otherwise restore ids: in the "
            "policy."
        )
    return previous


def _relabel(labels: Labels, old: Ids, new: Ids) -> Labels:
    # Each object keeps its address under its new id, so Terraform plans a replacement.
    def moved(found: Mapping[str, str]) -> dict[str, str]:
        return {new.of(old.group_of(i)): label for i, label in found.items()}

    return replace(labels, organizations=moved(labels.organizations), teams=moved(labels.teams))


def _reidentified(state: DesiredState, old: Ids, new: Ids) -> DesiredState:
    # A team's organization may already carry its new id (read through the relabelled labels).
    ids = {o.id: new.of(old.group_of(o.id)) for o in state.organizations}
    ids |= {t.id: new.of(old.group_of(t.id)) for t in state.teams}

    def again(object_id: str | None) -> str | None:
        return None if object_id is None else ids.get(object_id, object_id)

    return replace(
        state,
        organizations=tuple(replace(o, id=ids[o.id]) for o in state.organizations),
        teams=tuple(
            replace(t, id=ids[t.id], organization_id=again(t.organization_id)) for t in state.teams
        ),
    )


def _refuse_unsupported(config: Policy, output: Output) -> None:
    if output.layout != PER_ORGANIZATION:
        return
    if output.format == YAML:
        raise ConfigError(
            "output.layout per-organization needs format terraform: the YAML route keeps a "
            "root's objects in shared resources, and Terraform cannot hand one instance of a "
            "resource from one root module to another"
        )
    if config.users.manage:
        raise ConfigError(
            "users.manage needs output.layout single: a person's memberships in several "
            "organizations would depend on one user resource, and Terraform orders creation "
            "and deletion only within one root module"
        )


def _refuse_relayout(
    before: Existing, was: str, output: Output, switched_from: str | None, migrate: bool
) -> None:
    folder = before.folder
    if switched_from is not None:
        raise UnsafePlanError(
            f"{folder} holds the {switched_from} format in the {was} layout; switch the format "
            "and the layout in two runs, applying in between"
        )
    pending = sorted(n for n in before.digests if roots.base_name(n) in _PENDING)
    if pending:
        raise UnsafePlanError(
            f"{folder} still holds {', '.join(pending)}: apply them and delete them before "
            "changing the layout"
        )
    if not migrate:
        raise UnsafePlanError(
            f"refused: {folder} holds the {was} layout and this run asks for {output.layout} "
            "(output.layout or --layout). Nothing was written. Each "
            "layout keeps objects in other Terraform states, and `moved` blocks cannot cross "
            "states. Run again with --migrate-layout: every new root module gets `import` "
            f"blocks ({render.TRANSFERS_FILE}) for what it takes over, and every old one "
            "`removed` blocks that forget without destroying. Apply them all (in any order), "
            "then delete what is left of the old ones."
        )


_PENDING = (render.MOVED_FILE, render.TRANSFERS_FILE)


def _rechunked(before: Labels, now: Labels) -> bool:
    """True when a kept membership map is split into a different number of chunks."""
    return any(before.levels.get(at, level) != level for at, level in now.levels.items())


_MOVED = re.compile(r"^moved \{\n\s*from\s*=\s*(.+?)\s*\n\s*to\s*=\s*(.+?)\s*\n\}", re.MULTILINE)
_IMPORT = re.compile(r'^import \{\n\s*to\s*=\s*(.+?)\s*\n\s*id\s*=\s*(".*")\s*\n\}', re.MULTILINE)
# Every block's opening line, read or not: one the patterns above miss must not vanish silently.
_OPENING = re.compile(r"^[ \t]*(moved|import)[ \t]*\{", re.MULTILINE)
# The `from` of each `removed` block, as render writes them.
_FORGETS = re.compile(r"^[ \t]*from[ \t]*=[ \t]*(\S+)", re.MULTILINE)


class _Kept:
    """The `moved` and `import` files of each root: kept until deleted by hand after apply.

    Blocks from earlier runs stay beside the new ones, chained before them, unless Terraform
    would refuse them: a move from an address declared again or moved a second way, an import
    to an address the root no longer declares or that its `removed` blocks forget. A file is
    written again only when its blocks change, and deleted when none is left.
    """

    def __init__(
        self,
        files: dict[str, str],
        digests: dict[str, str],
        before: Existing,
        output: Output,
        at: Addresses,
        parts: dict[str, DesiredState],
    ) -> None:
        self.files, self.digests, self.before, self.output = files, digests, before, output
        self.at, self.parts = at, parts

    def moves(self, moved: dict[str, tuple[Move, ...]], switched_from: str | None) -> None:
        """Write each root's moved.tf: new moves, and the earlier ones still valid."""
        for root in self._roots(render.MOVED_FILE, moved):
            new = moved.get(root, ())
            declared = self._declared(root) | {m.source for m in new}
            earlier = [Move(*f) for f in self._blocks(root, render.MOVED_FILE, "moved", _MOVED)]
            kept = [m for m in earlier if m.source not in declared]
            blocks = (*kept, *new)
            text = render.moved_file(blocks, switched_from, self.output) if blocks else None
            self._put(root, render.MOVED_FILE, text, same=not new and kept == earlier)

    def imports(self, imports: Mapping[str, tuple[Import, ...]]) -> None:
        """Write each root's transfers.tf: new imports, and the earlier ones still valid."""
        for root in self._roots(render.TRANSFERS_FILE, imports):
            new = {i.address: i for i in imports.get(root, ())}
            found = self._blocks(root, render.TRANSFERS_FILE, "import", _IMPORT)
            earlier = [Import(a, hcl.unquote(i)) for a, i in found]
            declared, forgotten = self._declared(root) - new.keys(), self._forgotten(root)
            kept = [
                i
                for i in earlier
                if i.address in declared and i.address.partition("[")[0] not in forgotten
            ]
            blocks = sorted((*kept, *new.values()))
            text = render.transfers_file(blocks, self.output) if blocks else None
            self._put(root, render.TRANSFERS_FILE, text, same=not new and kept == earlier)

    def _roots(self, name: str, new: Mapping[str, tuple[object, ...]]) -> list[str]:
        held = {roots.root_of(n) for n in self.before.digests if roots.base_name(n) == name}
        return sorted(held | {root for root, found in new.items() if found})

    def _blocks(
        self, root: str, name: str, kind: str, pattern: re.Pattern[str]
    ) -> list[tuple[str, str]]:
        """The blocks of an earlier file; one that cannot be read stops the run."""
        at = roots.path(root, name)
        if at not in self.before.digests:
            return []
        text = self.before.text(at)
        found: list[tuple[str, str]] = pattern.findall(text)
        opened = _OPENING.findall(text).count(kind)
        if opened != len(found):
            raise OutputError(
                f"{self.before.folder / at}: entraform reads {len(found)} of its {opened} "
                f"`{kind}` blocks; dropping the others would let terraform apply destroy and "
                f"re-create what they carry. Write each `{kind}` block back in the form "
                "entraform writes it (no comments or extra arguments inside), or delete the "
                "file if terraform apply has already run with it"
            )
        return found

    def _declared(self, root: str) -> set[str]:
        return {address for _, address in self.at.of(self.parts.get(root, DesiredState()))}

    def _forgotten(self, root: str) -> set[str]:
        """The resources the root's `removed` blocks forget, as this run renders them."""
        return set(_FORGETS.findall(self.files.get(roots.path(root, render.REMOVED_FILE), "")))

    def _put(self, root: str, name: str, text: str | None, *, same: bool) -> None:
        at = roots.path(root, name)
        if text is None:
            return  # no block left: the file is deleted, or never written
        if same:
            # The blocks it had: the file stays byte for byte, until someone deletes it.
            text = self.before.text(at)
        self.files[at] = text
        self.digests[at] = manifest.digest(text)


def _add_manifest(files: dict[str, str], digests: dict[str, str], ids: Ids) -> None:
    recorded = {n: d for n, d in digests.items() if roots.base_name(n) not in render.PRUNED_BY_HAND}
    files[manifest.NAME] = manifest.dumps(recorded, ids.describe())
    digests[manifest.NAME] = manifest.digest(files[manifest.NAME])


def _refuse_foreign_files(out: Path, files: dict[str, str], before: Existing) -> None:
    for name in files:
        if name not in before.digests and (out / name).exists():
            raise OutputError(
                f"{out / name} exists but was not generated by entraform; "
                "move it away or choose another output folder"
            )
