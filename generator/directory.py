"""What Entra says: groups, users and membership edges, nothing more."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from operator import attrgetter
from typing import Literal

from generator.errors import ConfigError, PolicyError

ODATA_PREFIX = "#microsoft.graph."
_ID = attrgetter("id")
USER = "user"
GROUP = "group"


@dataclass(frozen=True, order=True)
class Member:
    """One edge from a group to a directory object, typed as Graph types it."""

    kind: str
    id: str

    @classmethod
    def from_odata(cls, odata_type: str, object_id: str) -> Member:
        """Build from Graph's `@odata.type` (`#microsoft.graph.user`) and id."""
        return cls(odata_type.removeprefix(ODATA_PREFIX), object_id)

    @property
    def odata_type(self) -> str:
        """Graph's spelling of the kind."""
        return ODATA_PREFIX + self.kind


@dataclass(frozen=True)
class User:
    """A user account; fields Graph did not return are None."""

    id: str
    display_name: str | None = None
    user_principal_name: str | None = None
    mail: str | None = None
    account_enabled: bool | None = None
    user_type: str | None = None

    @property
    def is_guest(self) -> bool:
        """True for B2B guests."""
        return self.user_type == "Guest"


@dataclass(frozen=True)
class Group:
    """A group with its direct members and, when read, its owners."""

    id: str
    display_name: str
    description: str | None = None
    mail: str | None = None
    security_enabled: bool | None = None
    members: tuple[Member, ...] = ()
    owners: tuple[Member, ...] | None = None
    # False when only the group's row was read (a nested group under `membership: direct`,
    # whose members that mode never follows); `members` is then empty and means nothing.
    members_read: bool = True


MembershipMode = Literal["transitive", "direct"]
# Chains under consideration at one depth before a search for chains gives up as incomplete.
MAX_FRONTIER = 10_000


@dataclass(frozen=True)
class Resolved:
    """A group's user members after resolving nesting, with what was skipped."""

    users: frozenset[str]
    # Non-user members by kind, as ids, so a caller can count each object once across groups.
    skipped: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Chains:
    """Chains of nested group ids from a group down to a user, and whether that is all of them."""

    found: tuple[tuple[str, ...], ...]
    complete: bool


@dataclass(frozen=True)
class Directory:
    """Groups and users keyed by object id."""

    groups: Mapping[str, Group]
    users: Mapping[str, User]
    # Ids of groups assigned to the LiteLLM enterprise app; None when that was not read.
    app_assigned: frozenset[str] | None = None

    def __repr__(self) -> str:
        """Counts, not contents."""
        # asyncio formats the result of a run's main task as the run ends (Python 3.11's SIGINT
        # handling); a large tenant written out in full is megabytes and most of a second.
        return f"Directory({len(self.groups)} groups, {len(self.users)} users)"

    @classmethod
    def of(
        cls,
        groups: Iterable[Group],
        users: Iterable[User],
        app_assigned: Iterable[str] | None = None,
    ) -> Directory:
        """Index groups and users by id, in id order so iteration is deterministic."""
        return cls(
            groups={g.id: g for g in sorted(groups, key=_ID)},
            users={u.id: u for u in sorted(users, key=_ID)},
            app_assigned=None if app_assigned is None else frozenset(app_assigned),
        )

    def user_members(self, group_id: str, mode: MembershipMode = "transitive") -> Resolved:
        """Return the user ids under a group, following nested groups unless `direct`."""
        users: set[str] = set()
        skipped: dict[str, set[str]] = {}
        seen = {group_id}
        pending = [group_id]
        while pending:  # an explicit stack: membership cycles and deep nesting are both legal
            group = self.groups.get(pending.pop())
            if group is None:
                continue
            if not group.members_read:
                raise _unread(group)
            direct = self._direct(group)
            users.update(direct.users)
            for kind, ids in direct.skipped.items():
                skipped.setdefault(kind, set()).update(ids)
            if mode == "transitive":
                fresh = [g for g in direct.groups if g not in seen]
                seen.update(fresh)
                pending += fresh
        return Resolved(frozenset(users), {k: frozenset(v) for k, v in sorted(skipped.items())})

    def _direct(self, group: Group) -> _Direct:
        """A group's direct members sorted by kind, once: a team's are read again by its parent."""
        found = self._partitions.get(group.id)
        if found is None:
            # Comprehensions, not one loop: a large tenant's groups hold half a million users.
            users = tuple([m.id for m in group.members if m.kind == USER])
            groups: dict[str, None] = {}
            skipped: dict[str, set[str]] = {}
            for member in [m for m in group.members if m.kind != USER]:
                if member.kind == GROUP:
                    groups[member.id] = None
                else:
                    skipped.setdefault(member.kind, set()).add(member.id)
            found = self._partitions[group.id] = _Direct(users, tuple(groups), skipped)
        return found

    def chains(self, group_id: str, user_id: str, mode: MembershipMode, limit: int) -> Chains:
        """Up to `limit` chains of group ids from a group down to one the user is directly in.

        Shortest first; a chain never passes a group twice, so nesting cycles end.
        """
        direct = set(self._user_groups.get(user_id, ()))
        within = self._holding(user_id) if mode == "transitive" else {group_id}
        found: list[tuple[str, ...]] = []
        level: list[tuple[str, ...]] = [(group_id,)] if group_id in within else []
        # Breadth first, so a cut keeps the shortest; one chain past the limit says there are more.
        while level and len(found) <= limit and len(level) <= MAX_FRONTIER:
            deeper: list[tuple[str, ...]] = []
            for chain in level:
                if chain[-1] in direct:
                    found.append(chain)
                subgroups = sorted(m.id for m in self.groups[chain[-1]].members if m.kind == GROUP)
                deeper += [(*chain, g) for g in subgroups if g in within and g not in chain]
            level = deeper
        return Chains(tuple(found[:limit]), complete=not level and len(found) <= limit)

    def _holding(self, user_id: str) -> set[str]:
        """The read groups the user is in, directly or through nesting."""
        pending = list(self._user_groups.get(user_id, ()))
        holding = set(pending)
        while pending:
            for parent in self.parent_groups(pending.pop()):
                if parent not in holding and self.groups[parent].members_read:
                    holding.add(parent)
                    pending.append(parent)
        return holding

    def person(self, who: str) -> User:
        """The one user whose object id, userPrincipalName or mail is `who` (any case)."""
        wanted = who.casefold()
        found = [
            u
            for u in self.users.values()
            if wanted in (u.id.casefold(), _fold(u.user_principal_name), _fold(u.mail))
        ]
        if len(found) > 1:
            ids = ", ".join(u.id for u in found)
            raise ConfigError(f"{who!r} names {len(found)} users ({ids}); give the object id")
        if not found:
            known = [n for u in self.users.values() for n in (u.user_principal_name, u.mail) if n]
            close = difflib.get_close_matches(who, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"no user {who!r} (by userPrincipalName, mail or object id) among the "
                f"{len(self.users)} users read, which are the members and owners of the groups "
                f"the policy reads{hint}"
            )
        return found[0]

    def owner_users(self, group_id: str) -> frozenset[str]:
        """Return the user ids among a group's owners (empty when owners were not read)."""
        group = self.groups.get(group_id)
        if group is None or group.owners is None:
            return frozenset()
        return frozenset(o.id for o in group.owners if o.kind == USER)

    def parent_groups(self, group_id: str) -> tuple[str, ...]:
        """Return the ids of groups that have this group as a direct member (among those read)."""
        return self._parents.get(group_id, ())

    @cached_property
    def _partitions(self) -> dict[str, _Direct]:
        return {}

    @cached_property
    def _user_groups(self) -> dict[str, tuple[str, ...]]:
        groups: dict[str, list[str]] = {}
        for group in self.groups.values():
            if group.members_read:
                for member in group.members:
                    if member.kind == USER:
                        groups.setdefault(member.id, []).append(group.id)
        return {user: tuple(ids) for user, ids in groups.items()}

    @cached_property
    def _parents(self) -> dict[str, tuple[str, ...]]:
        parents: dict[str, list[str]] = {}
        for group in self.groups.values():
            for child in self._direct(group).groups:
                parents.setdefault(child, []).append(group.id)
        return {child: tuple(ids) for child, ids in parents.items()}


@dataclass(frozen=True)
class _Direct:
    """A group's direct members: users, nested groups, and the rest by kind."""

    users: tuple[str, ...]
    groups: tuple[str, ...]
    skipped: dict[str, set[str]]


def _unread(group: Group) -> PolicyError:
    # Resolving an unread group as empty would silently shrink a team: refuse instead.
    return PolicyError(
        f"the members of group {group.display_name!r} ({group.id}) were not read: the tenant was "
        "read under `membership: direct`, where it was only nested in a selected group; select "
        "it in the policy, or read the tenant again (`entraform snapshot`) with this policy"
    )


def _fold(value: str | None) -> str | None:
    return None if value is None else value.casefold()
