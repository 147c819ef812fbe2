"""Terraform labels and addresses, with one owner: readable, collision-free, sticky once written.

A label is the sanitised group name plus the start of the object id, never a position, so
other objects coming and going never move an address; once written it is kept, so a rename
changes attributes in place. Forgotten objects keep their `removed` blocks, and a format
switch maps every address to its twin in the other format.

Membership maps are split into chunks by a hash of the user's key once they grow: the time
`terraform plan` spends on one instance grows with the size of the map it comes from, so
bounded maps keep a plan linear in memberships (benchmarks/terraform_plan.py measures it).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from generator.policy import YAML
from generator.render import hcl
from generator.state import DesiredState, User

MAX_SLUG = 40
SUFFIX = 8
Kind = Literal["organization", "team", "user"]
# Members per chunk a map is split for; plan time per instance is flat up to about here.
CHUNK = 64
# Labels never hold two underscores in a row (slugs collapse them): a chunk suffix is unambiguous.
CHUNK_MARK = "__"
# The YAML route's resources, one set for the whole tenant.
YAML_LABEL = "this"


@dataclass(frozen=True, order=True)
class Forgotten:
    """A resource Terraform forgets with a `removed` block: an object, or its members."""

    kind: Kind
    label: str
    members: bool = False
    chunk: str = ""
    # The root module whose state holds it (see roots); the output folder itself by default.
    root: str = ""

    @property
    def address(self) -> str:
        """The resource address the `removed` block names."""
        label = chunk_label(self.label, self.chunk)
        return f"litellm_{self.kind}{'_member' if self.members else ''}.{label}"

    @classmethod
    def parse(cls, address: str, root: str = "") -> Forgotten:
        """The inverse of `address`, for a `removed` block found in a root."""
        found = _FORGOTTEN.fullmatch(address)
        if found is None:
            raise ValueError(f"not an address entraform forgets: {address!r}")
        label, _, chunk = found[3].partition(CHUNK_MARK)
        return cls(KINDS[found[1]], label, members=bool(found[2]), chunk=chunk, root=root)


_FORGOTTEN = re.compile(r"litellm_(organization|team|user)((?<!user)_member)?\.([\w-]+)")
KINDS: dict[str, Kind] = {"organization": "organization", "team": "team", "user": "user"}


@dataclass(frozen=True)
class Labels:
    """Terraform labels per object id, and what is forgotten with `removed` blocks."""

    organizations: Mapping[str, str] = field(default_factory=dict)
    teams: Mapping[str, str] = field(default_factory=dict)
    tombstones: tuple[Forgotten, ...] = ()
    # Chunk level (hex digits of the key hash) of each membership resource, by kind and label.
    levels: Mapping[tuple[Kind, str], int] = field(default_factory=dict)
    # The root each object was found in by the last run, by kind and label.
    roots: Mapping[tuple[Kind, str], str] = field(default_factory=dict)
    # Keyed by LiteLLM user id, the first attribute of each litellm_user block.
    users: Mapping[str, str] = field(default_factory=dict)

    def level(self, kind: Kind, label: str) -> int:
        """How many hex digits split one membership resource (0: a single map)."""
        return self.levels.get((kind, label), 0)


def assign(
    previous: Labels,
    state: DesiredState,
    *,
    forget_organizations: bool,
    forget_teams: bool,
    output_format: str,
    forget_users: bool = False,
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
    users = allocate(((u.user_id, u.user_email) for u in state.users), previous.users, reserved)
    tombstones = set(previous.tombstones)
    if forget_organizations:
        tombstones |= _forgotten("organization", previous, organizations)
    if forget_teams:
        tombstones |= _forgotten("team", previous, teams)
    if forget_users:
        tombstones |= _forgotten("user", previous, users)
    sizes = _sizes(state, organizations, teams, output_format)
    levels = {at: chunk_level(n, previous.levels.get(at)) for at, n in sizes.items()}
    return Labels(organizations, teams, tuple(sorted(tombstones)), levels=levels, users=users)


def _forgotten(kind: Kind, previous: Labels, new: Mapping[str, str]) -> set[Forgotten]:
    old = {"organization": previous.organizations, "team": previous.teams, "user": previous.users}
    gone = [label for object_id, label in old[kind].items() if object_id not in new]
    return {t for label in gone for t in forgotten(kind, label, previous)}


def forgotten(kind: Kind, label: str, previous: Labels) -> list[Forgotten]:
    """The `removed` blocks that forget one object and its membership chunks where it was."""
    root = previous.roots.get((kind, label), "")
    chunks = chunk_names(previous.level(kind, label)) if kind != "user" else []
    return [Forgotten(kind, label, root=root)] + [
        Forgotten(kind, label, True, name, root) for name in chunks
    ]


def _sizes(
    state: DesiredState, organizations: Mapping[str, str], teams: Mapping[str, str], fmt: str
) -> dict[tuple[Kind, str], int]:
    if fmt == YAML:
        return {
            ("organization", YAML_LABEL): sum(len(o.members) for o in state.organizations),
            ("team", YAML_LABEL): sum(len(t.members) for t in state.teams),
            ("user", YAML_LABEL): len(state.users),
        }
    sizes: dict[tuple[Kind, str], int] = {}
    for org in state.organizations:
        sizes["organization", organizations[org.id]] = len(org.members)
    for team in state.teams:
        sizes["team", teams[team.id]] = len(team.members)
    return sizes


def chunk_level(size: int, previous: int | None = None) -> int:
    """Hex digits that split a map of `size` into chunks of about CHUNK: the previous, if it fits.

    A map must double past or halve below its level's range to change level, so a team that
    hovers at a boundary does not move its members back and forth.
    """
    if previous is not None:
        low = CHUNK * 16 ** (previous - 1) // 2 if previous else 0
        if low < size <= 2 * CHUNK * 16**previous:
            return previous
    level = 0
    while size > CHUNK * 16**level:
        level += 1
    return level


def chunk(key: str, level: int) -> str:
    """The chunk a key (a user's) falls in: the first hex digits of its SHA-1.

    The same as Terraform's `substr(sha1(key), 0, level)`, which hashes the text as it reads it.
    """
    if not level:
        return ""
    text = hcl.normalized(key).encode()
    return hashlib.sha1(text, usedforsecurity=False).hexdigest()[:level]


def chunk_names(level: int) -> list[str]:
    """Every chunk of a level, in order ("" alone for an unsplit map)."""
    return [format(i, f"0{level}x") for i in range(16**level)] if level else [""]


def chunk_label(label: str, name: str) -> str:
    """The resource label of one chunk of a membership resource."""
    return f"{label}{CHUNK_MARK}{name}" if name else label


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
class Import:
    """One `import` block: a Terraform address and the provider's import id."""

    address: str
    id: str
    kind: str = field(default="", compare=False)


def member_import_id(scope_id: str, user_id: str) -> str:
    """The provider's import id of a team or organization membership."""
    return f"{scope_id}:{user_id}"


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
        return self._member("organization", self.labels.organizations, org_id, key)

    def team(self, team_id: str) -> str:
        """The team resource."""
        if self.yaml:
            return f"litellm_team.this[{hcl.quote(team_id)}]"
        return f"litellm_team.{self.labels.teams[team_id]}"

    def team_member(self, team_id: str, key: str) -> str:
        """One team membership instance."""
        return self._member("team", self.labels.teams, team_id, key)

    def _member(self, kind: Kind, labels: Mapping[str, str], parent: str, key: str) -> str:
        label, each = (YAML_LABEL, f"{parent}/{key}") if self.yaml else (labels[parent], key)
        # By the user's key in either route: a YAML chunk then holds only its users' chunk.
        name = chunk(key, self.labels.level(kind, label))
        return f"litellm_{kind}_member.{chunk_label(label, name)}[{hcl.quote(each)}]"

    def imports(self, state: DesiredState) -> Iterator[Import]:
        """An import block for every object of a state, with the provider's import id."""
        for org in state.organizations:
            yield Import(self.organization(org.id), org.id, "organization")
            for m in org.members:
                address = self.organization_member(org.id, m.key)
                yield Import(address, member_import_id(org.id, m.user_id), "organization member")
        for team in state.teams:
            yield Import(self.team(team.id), team.id, "team")
            for m in team.members:
                address = self.team_member(team.id, m.key)
                yield Import(address, member_import_id(team.id, m.user_id), "team member")

    def user(self, user: User) -> str:
        """The user resource (instance, in the YAML route)."""
        if self.yaml:
            name = chunk(user.key, self.labels.level("user", YAML_LABEL))
            return f"litellm_user.{chunk_label(YAML_LABEL, name)}[{hcl.quote(user.key)}]"
        return f"litellm_user.{self.labels.users[user.user_id]}"

    def of(self, state: DesiredState) -> Iterator[tuple[tuple[str, ...], str]]:
        """Every object of a state with its address, keyed by (kind, ids...)."""
        for user in state.users:
            yield ("user", user.key), self.user(user)
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
