"""One run of the core: directory and policy in, a plan for the output folder out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from generator import addresses, existing, manifest, mapping, plan, render
from generator.addresses import Addresses, Labels, Move, moves
from generator.directory import Directory
from generator.errors import OutputError, UnsafePlanError
from generator.existing import Existing
from generator.ids import Ids
from generator.policy import Output, Policy
from generator.state import DesiredState


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
    # Set when the id scheme changed (--migrate-ids): the old and the new scheme.
    ids_switch: tuple[str, str] | None = None


def build(config: Policy, directory: Directory, out: Path, *, migrate_ids: bool = False) -> Result:
    """Map, render and plan; nothing is written."""
    outcome = mapping.apply(config, directory)
    state = outcome.state
    before = existing.read(out)
    ids_from = _ids_switch(before, config.ids, migrate_ids)
    if ids_from is not None:
        before = replace(before, labels=_relabel(before.labels, ids_from, config.ids))
    forget = config.safety.organizations_removed == "forget"
    names = addresses.assign(
        before.labels,
        state,
        forget_organizations=forget,
        forget_teams=config.safety.teams_removed == "forget",
        lead=config.ids.lead,
    )
    output = replace(config.output, regenerate=config.output.regenerate_command(out))
    files = render.render(state, names, output, forget_organizations=forget)
    digests = {name: manifest.digest(text) for name, text in files.items()}
    switched_from = before.format if before.format not in (None, output.format) else None
    if switched_from is not None or not before.verified:
        # Every old object is needed: to move it, or because nothing proves the files unedited.
        old, new = before.state(), state
    else:
        changed = plan.changed_files(before.digests, digests)
        old, new = before.state(changed), render.described_by(state, names, output.format, changed)
    if ids_from is not None:
        # Compared under the new ids, the change set shows what else changes; the summary says
        # that every object is replaced.
        old = _reidentified(old, ids_from, config.ids)
    moved: tuple[Move, ...] = ()
    if switched_from is not None:
        at = Addresses(before.labels, switched_from)
        moved = moves(old, at, state, Addresses(names, output.format))
    _add_moved_file(files, digests, before, switched_from, moved, output)
    _add_manifest(files, digests, config.ids)
    _refuse_foreign_files(out, files, before)
    changes = plan.make(before, files, digests, old, new, state, config.safety)
    return Result(
        outcome,
        before,
        names,
        files,
        changes,
        output.format,
        switched_from,
        moved,
        None if ids_from is None else (ids_from.describe(), config.ids.describe()),
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

    return DesiredState(
        tuple(replace(o, id=ids[o.id]) for o in state.organizations),
        tuple(
            replace(t, id=ids[t.id], organization_id=again(t.organization_id)) for t in state.teams
        ),
    )


def _add_moved_file(
    files: dict[str, str],
    digests: dict[str, str],
    before: Existing,
    switched_from: str | None,
    moved: tuple[Move, ...],
    output: Output,
) -> None:
    if switched_from is not None:
        if moved:
            files[render.MOVED_FILE] = render.moved_file(moved, switched_from, output)
    elif render.MOVED_FILE in before.digests:
        # Kept until someone deletes it after apply, like the `removed` blocks.
        files[render.MOVED_FILE] = before.text(render.MOVED_FILE)
    if render.MOVED_FILE in files:
        digests[render.MOVED_FILE] = manifest.digest(files[render.MOVED_FILE])


def _add_manifest(files: dict[str, str], digests: dict[str, str], ids: Ids) -> None:
    recorded = {n: d for n, d in digests.items() if n not in render.PRUNED_BY_HAND}
    files[manifest.NAME] = manifest.dumps(recorded, ids.describe())
    digests[manifest.NAME] = manifest.digest(files[manifest.NAME])


def _refuse_foreign_files(out: Path, files: dict[str, str], before: Existing) -> None:
    for name in files:
        if name not in before.digests and (out / name).exists():
            raise OutputError(
                f"{out / name} exists but was not generated by entraform; "
                "move it away or choose another output folder"
            )
