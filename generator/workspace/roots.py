"""Root modules: the folder, and so the Terraform state, that each object lives in.

The single layout is one root, the output folder itself. The per-organization layout gives each
organization a folder with its teams and memberships, and the teams outside any organization
one more, so a change plans and applies only the roots it touches, in parallel in CI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from generator.errors import ConfigError
from generator.state import DesiredState, Kind, Organization, Team
from generator.workspace.labels import LABEL, Forgotten, Labels, forgotten

SINGLE = "single"
PER_ORGANIZATION = "per-organization"
LAYOUTS = (SINGLE, PER_ORGANIZATION)
TOP = ""  # the output folder itself: the single layout's only root
STANDALONE = "teams"
# Files of blocks that people delete by hand once `terraform apply` has run with them.
MOVED_FILE = "moved.tf"
REMOVED_FILE = "removed.tf"
TRANSFERS_FILE = "transfers.tf"
PRUNED_BY_HAND = (MOVED_FILE, REMOVED_FILE, TRANSFERS_FILE)


def organization_root(label: str) -> str:
    """The folder of one organization's root module."""
    return f"org_{label}"


def is_root(name: str) -> bool:
    """True for a name this release gives a root: the folder itself, teams, or org_<label>."""
    label = name.removeprefix(organization_root(""))
    return name in (TOP, STANDALONE) or (label != name and LABEL.fullmatch(label) is not None)


def root_of(name: str) -> str:
    """The root a file of the output belongs to, from its path relative to the output folder."""
    return name.rpartition("/")[0]


def base_name(name: str) -> str:
    """A file's name inside its root."""
    return name.rpartition("/")[2]


def path(root: str, name: str) -> str:
    """A file's path relative to the output folder."""
    return f"{root}/{name}" if root else name


def shown(root: str) -> str:
    """A root as a folder relative to the output folder, for people and CI."""
    return root or "."


def changed(names: Iterable[str]) -> list[str]:
    """The roots that hold any of the named files."""
    return sorted({root_of(name) for name in names})


@dataclass(frozen=True)
class Roots:
    """Where each organization and team lives under one layout."""

    layout: str
    labels: Labels

    def of_organization(self, org_id: str) -> str:
        """The root of an organization and its memberships."""
        if self.layout != PER_ORGANIZATION:
            return TOP
        return organization_root(self.labels.organizations[org_id])

    def of_team(self, team: Team) -> str:
        """The root of a team and its memberships: its organization's, or the standalone one."""
        if team.organization_id is None:
            return self.standalone()
        return self.of_organization(team.organization_id)

    def standalone(self) -> str:
        """The root of the teams outside any organization."""
        return STANDALONE if self.layout == PER_ORGANIZATION else TOP

    def of(self, kind: Kind, object_id: str, state: DesiredState) -> str:
        """The root of an organization or team of the state, by kind and id."""
        if kind == "organization":
            return self.of_organization(object_id)
        return self.of_team(state.teams_by_id[object_id])

    def split(self, state: DesiredState) -> dict[str, DesiredState]:
        """Each root's part of the state; a root without objects is absent."""
        if self.layout != PER_ORGANIZATION:
            return {TOP: state}
        return _grouped(state, lambda o: self.of_organization(o.id), self.of_team)

    def part(self, state: DesiredState, name: str) -> DesiredState:
        """The objects of the root a person names ('.' for the output folder itself)."""
        named = {shown(root): part for root, part in self.split(state).items()}
        if name.strip("/") not in named:
            known = ", ".join(sorted(named)) or "none"
            raise ConfigError(f"--root {name}: no such root module (roots: {known})")
        return named[name.strip("/")]


def previous_root(labels: Labels, kind: Kind, object_id: str) -> str | None:
    """The root an object was found in by the last run; None when it had no labelled resource."""
    names = labels.organizations if kind == "organization" else labels.teams
    label = names.get(object_id)
    return None if label is None else labels.roots.get((kind, label), TOP)


def split_previous(state: DesiredState, labels: Labels) -> dict[str, DesiredState]:
    """A previous state's objects by the root they were found in."""
    found = _grouped(
        state,
        lambda o: previous_root(labels, "organization", o.id) or TOP,
        lambda t: previous_root(labels, "team", t.id) or TOP,
    )
    if state.users:
        # Users live in the single layout's one root (the run refuses them otherwise).
        found[TOP] = replace(found.get(TOP, DesiredState()), users=state.users)
    return found


def _grouped(
    state: DesiredState,
    org_root: Callable[[Organization], str],
    team_root: Callable[[Team], str],
) -> dict[str, DesiredState]:
    parts: dict[str, tuple[list[Organization], list[Team]]] = {}
    for org in state.organizations:
        parts.setdefault(org_root(org), ([], []))[0].append(org)
    for team in state.teams:
        parts.setdefault(team_root(team), ([], []))[1].append(team)
    return {root: DesiredState(tuple(o), tuple(t)) for root, (o, t) in sorted(parts.items())}


@dataclass(frozen=True, order=True)
class Transfer:
    """An organization or team that changes root between the last run and this one."""

    kind: Kind
    id: str
    source: str
    target: str


def transfers(previous: Labels, roots: Roots, state: DesiredState) -> tuple[Transfer, ...]:
    """What changes root between the last run and this one.

    Terraform cannot `moved` an object between states, so the object is imported where it now
    lives and its old root lets go of it without destroying it (see `let_go`).
    """
    found = []
    scoped: list[tuple[Kind, str]] = [("organization", o.id) for o in state.organizations]
    scoped += [("team", t.id) for t in state.teams]
    for kind, object_id in scoped:
        was = previous_root(previous, kind, object_id)
        now = roots.of(kind, object_id, state)
        if was is not None and was != now:
            found.append(Transfer(kind, object_id, was, now))
    return tuple(found)


def let_go(previous: Labels, moving: Iterable[Transfer]) -> tuple[Forgotten, ...]:
    """The `removed` blocks with which the old roots forget what moves away."""
    found: list[Forgotten] = []
    for transfer in moving:
        names = previous.organizations if transfer.kind == "organization" else previous.teams
        found += forgotten(transfer.kind, names[transfer.id], previous)
    return tuple(replace(f, moved=True) for f in found)
