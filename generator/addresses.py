"""Terraform labels and addresses, with one owner: readable, collision-free, sticky once written.

A label is the sanitised group name plus the start of the object id, never a position, so
other objects coming and going never move an address; once written it is kept, so a rename
changes attributes in place. Forgotten objects keep their `removed` blocks, and a format
switch maps every address to its twin in the other format.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from generator import hcl
from generator.policy import YAML
from generator.state import DesiredState

MAX_SLUG = 40
SUFFIX = 8
Kind = Literal["organization", "team"]


@dataclass(frozen=True, order=True)
class Forgotten:
    """A resource Terraform forgets with a `removed` block: an object, or its members."""

    kind: Kind
    label: str
    members: bool = False

    @property
    def address(self) -> str:
        """The resource address the `removed` block names."""
        return f"litellm_{self.kind}{'_member' if self.members else ''}.{self.label}"

    @classmethod
    def parse(cls, address: str) -> Forgotten:
        """The inverse of `address`."""
        found = _FORGOTTEN.fullmatch(address)
        if found is None:
            raise ValueError(f"not an address entraform forgets: {address!r}")
        kind: Kind = "organization" if found[1] == "organization" else "team"
        return cls(kind, found[3], members=bool(found[2]))


_FORGOTTEN = re.compile(r"litellm_(organization|team)(_member)?\.([\w-]+)")


@dataclass(frozen=True)
class Labels:
    """Terraform labels per object id, and what is forgotten with `removed` blocks."""

    organizations: Mapping[str, str] = field(default_factory=dict)
    teams: Mapping[str, str] = field(default_factory=dict)
    tombstones: tuple[Forgotten, ...] = ()


def assign(
    previous: Labels,
    state: DesiredState,
    *,
    forget_organizations: bool,
    forget_teams: bool,
    lead: str = "",
) -> Labels:
    """Labels for a state: the previous ones kept, new ones allocated, the gone forgotten.

    `lead` is the id scheme's prefix, left out of label suffixes.
    """
    reserved = [t.label for t in previous.tombstones]
    organizations = allocate(
        ((o.id, o.group_name) for o in state.organizations),
        previous.organizations,
        reserved,
        lead,
    )
    teams = allocate(((t.id, t.group_name) for t in state.teams), previous.teams, reserved, lead)
    tombstones = set(previous.tombstones)
    if forget_organizations:
        tombstones |= _forgotten("organization", previous.organizations, organizations)
    if forget_teams:
        tombstones |= _forgotten("team", previous.teams, teams)
    live = {("organization", label) for label in organizations.values()}
    live |= {("team", label) for label in teams.values()}
    # A removed block and a resource at one address would be a Terraform error.
    kept = {t for t in tombstones if (t.kind, t.label) not in live}
    return Labels(organizations, teams, tuple(sorted(kept)))


def _forgotten(kind: Kind, old: Mapping[str, str], new: Mapping[str, str]) -> set[Forgotten]:
    gone = [label for object_id, label in old.items() if object_id not in new]
    return {Forgotten(kind, label, members) for label in gone for members in (False, True)}


def slug(name: str) -> str:
    """Return a lowercase identifier fragment from a display name (may be empty)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:MAX_SLUG].rstrip("_")


def allocate(
    objects: Iterable[tuple[str, str]],
    previous: Mapping[str, str],
    reserved: Iterable[str] = (),
    lead: str = "",
) -> dict[str, str]:
    """Give each (id, name) a label: its previous one if it had one, else slug plus id suffix.

    The suffix comes from the object id, never from position, so adding or removing other
    objects never changes a label; labels already written are kept so a rename changes
    attributes in place instead of the resource address. The id scheme's prefix (`lead`)
    is left out of the suffix, so a label looks the same under either scheme.
    """
    taken = set(previous.values()) | set(reserved)
    labels: dict[str, str] = {}
    for object_id, name in sorted(objects):
        if object_id in previous:
            labels[object_id] = previous[object_id]
            continue
        base = slug(name) or "group"
        if base[0].isdigit():
            base = "g_" + base
        tail = re.sub(r"[^a-z0-9]", "", object_id.removeprefix(lead).lower()) or "x"
        for width in range(min(SUFFIX, len(tail)), len(tail) + 1):
            label = f"{base}_{tail[:width]}"
            if label not in taken:
                break
        else:
            label = _numbered(f"{base}_{tail}", taken)
        taken.add(label)
        labels[object_id] = label
    return labels


def _numbered(label: str, taken: set[str]) -> str:
    # Only reachable when two ids differ in nothing but punctuation.
    n = 2
    while f"{label}_{n}" in taken:
        n += 1
    return f"{label}_{n}"


@dataclass(frozen=True, order=True)
class Move:
    """One `moved` block: the address an object had and the one it has now."""

    source: str
    target: str
    kind: str = field(default="", compare=False)


class Addresses:
    """Where each organization, team and membership lives in the rendered configuration."""

    def __init__(self, labels: Labels, output_format: str) -> None:
        self.labels = labels
        self.yaml = output_format == YAML

    def organization(self, org_id: str) -> str:
        """The organization resource."""
        if self.yaml:
            return f"litellm_organization.this[{hcl.quote(org_id)}]"
        return f"litellm_organization.{self.labels.organizations[org_id]}"

    def organization_member(self, org_id: str, key: str) -> str:
        """One organization membership instance."""
        if self.yaml:
            return f"litellm_organization_member.this[{hcl.quote(f'{org_id}/{key}')}]"
        label = self.labels.organizations[org_id]
        return f"litellm_organization_member.{label}[{hcl.quote(key)}]"

    def team(self, team_id: str) -> str:
        """The team resource."""
        if self.yaml:
            return f"litellm_team.this[{hcl.quote(team_id)}]"
        return f"litellm_team.{self.labels.teams[team_id]}"

    def team_member(self, team_id: str, key: str) -> str:
        """One team membership instance."""
        if self.yaml:
            return f"litellm_team_member.this[{hcl.quote(f'{team_id}/{key}')}]"
        return f"litellm_team_member.{self.labels.teams[team_id]}[{hcl.quote(key)}]"

    def of(self, state: DesiredState) -> Iterator[tuple[tuple[str, ...], str]]:
        """Every object of a state with its address, keyed by (kind, ids...)."""
        for org in state.organizations:
            yield ("organization", org.id), self.organization(org.id)
            for m in org.members:
                yield (
                    ("organization member", org.id, m.key),
                    self.organization_member(org.id, m.key),
                )
        for team in state.teams:
            yield ("team", team.id), self.team(team.id)
            for m in team.members:
                yield ("team member", team.id, m.key), self.team_member(team.id, m.key)


def moves(
    old: DesiredState, before: Addresses, new: DesiredState, after: Addresses
) -> tuple[Move, ...]:
    """A move for every object both states hold whose address differs."""
    targets = dict(after.of(new))
    found = (
        Move(source, targets[key], key[0])
        for key, source in before.of(old)
        if key in targets and targets[key] != source
    )
    return tuple(sorted(found))
