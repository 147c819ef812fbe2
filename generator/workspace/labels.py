"""Terraform labels, with one owner: readable, collision-free, sticky once written.

A label is the sanitised group name plus the start of the object id, never a position, so
other objects coming and going never move an address; once written it is kept, so a rename
changes attributes in place. Forgotten objects keep their `removed` blocks.

Membership maps are split into chunks by a hash of the user's key once they grow: the time
`terraform plan` spends on one instance grows with the size of the map it comes from, so
bounded maps keep a plan linear in memberships (benchmarks/terraform_plan.py measures it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from generator import hcl
from generator.state import DesiredState, Kind

MAX_SLUG = 40
SUFFIX = 8
# Members per chunk a map is split for; plan time per instance is flat up to about here.
CHUNK = 64
# Labels never hold two underscores in a row (slugs collapse them): a chunk suffix is unambiguous.
CHUNK_MARK = "__"
# What a label may hold: a Terraform identifier's characters, so it is safe as a name and a path.
LABEL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, order=True)
class Forgotten:
    """A resource Terraform forgets with a `removed` block: an object, or its members."""

    kind: Kind
    label: str
    members: bool = False
    chunk: str = ""
    # The root module whose state holds it (see roots); the output folder itself by default.
    root: str = ""
    # Forgotten because it moved to another root, which imports it: not because it left.
    moved: bool = False
    # The instance it is moved out of first: a `removed` block cannot name one instance of a
    # map (a user in a chunk of users), so the object gets a resource of its own to forget.
    was: str = ""

    @property
    def address(self) -> str:
        """The resource address the `removed` block names."""
        label = chunk_label(self.label, self.chunk)
        return f"litellm_{self.kind}{'_member' if self.members else ''}.{label}"

    @property
    def lines(self) -> tuple[tuple[str, str], ...]:
        """The argument the `removed` block is written with."""
        return (("from", self.address),)

    @property
    def recorded(self) -> str | list[str]:
        """How the manifest records it: the address, with the instance it was moved out of."""
        return [self.address, self.was] if self.was else self.address

    @classmethod
    def parse(cls, recorded: str | list[str], root: str = "") -> Forgotten:
        """The inverse of `recorded` (or of `address`, for a `removed` block of a root)."""
        pair = [recorded, ""] if isinstance(recorded, str) else recorded
        address, was = pair if isinstance(pair, list) and len(pair) == 2 else ("", "")
        if not isinstance(address, str) or not (was == "" or _is_user_instance(was)):
            raise ValueError(f"not an address entraform forgets: {recorded!r}")
        resource, _, name = address.partition(".")
        kind = resource.removeprefix("litellm_").removesuffix("_member")
        label, _, chunk = name.partition(CHUNK_MARK)
        members = resource.endswith("_member")
        plain = label and all(c.isascii() and (c.isalnum() or c in "_-") for c in name)
        if kind in KINDS and plain and not (members and kind == "user"):
            found = cls(KINDS[kind], label, members, chunk, root, was=was)
            if found.address == address and (not was or found.kind == "user"):
                return found
        raise ValueError(f"not an address entraform forgets: {address!r}")


KINDS: dict[str, Kind] = {"organization": "organization", "team": "team", "user": "user"}


def _is_user_instance(address: object) -> bool:
    """Whether an address is one user in a map of users, as entraform writes it."""
    if not isinstance(address, str) or not address.endswith('"]'):
        return False
    resource, _, rest = address.partition(".")
    label, _, key = rest[:-1].partition("[")
    try:
        return (
            resource == "litellm_user"
            and bool(LABEL.fullmatch(label))
            and hcl.quote(hcl.unquote(key)) == key
        )
    except ValueError:
        return False


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
    # Keyed by LiteLLM user id: the resource a forgotten user is moved to (users live in maps).
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
    forget_users: bool = False,
    lead: str = "",
) -> Labels:
    """Labels for a state: the previous ones kept, new ones allocated, the gone forgotten.

    `lead` is the id scheme's prefix, left out of label suffixes. Chunk levels are the
    previous ones until `chunked` sets them for this state's map sizes.
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
    return Labels(
        organizations, teams, tuple(sorted(tombstones)), levels=previous.levels, users=users
    )


def chunked(labels: Labels, sizes: Mapping[tuple[Kind, str], int]) -> Labels:
    """The labels with a chunk level for each membership map of the given sizes."""
    levels = {at: chunk_level(n, labels.levels.get(at)) for at, n in sizes.items()}
    return replace(labels, levels=levels)


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
