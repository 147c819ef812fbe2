"""Where each organization, team, membership and user lives in a format's configuration.

Membership maps are split into chunks by a hash of the user's key once they grow: the time
`terraform plan` spends on one instance grows with the size of the map it comes from, so
bounded maps keep a plan linear in memberships (benchmarks/terraform_plan.py measures it).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import replace

from generator import hcl
from generator.state import DesiredState, Kind, LiteLLMUser
from generator.workspace.blocks import Import, Move, member_import_id
from generator.workspace.labels import Forgotten, Labels, chunk_label


def chunk(key: str, level: int) -> str:
    """The chunk a key (a user's) falls in: the first hex digits of its SHA-1.

    The same as Terraform's `substr(sha1(key), 0, level)`, which hashes the text as it reads it.
    """
    return digest(key)[:level] if level else ""


def digest(key: str) -> str:
    """The SHA-1 of a key as Terraform reads it, in hex: every level's chunk is a prefix."""
    return hashlib.sha1(hcl.normalized(key).encode(), usedforsecurity=False).hexdigest()


class Addresses(ABC):
    """The address of every object of a state under one format's labels."""

    def __init__(self, labels: Labels) -> None:
        self.labels = labels

    @abstractmethod
    def organization(self, org_id: str) -> str:
        """The organization resource (instance)."""

    @abstractmethod
    def team(self, team_id: str) -> str:
        """The team resource (instance)."""

    @abstractmethod
    def member(self, kind: Kind, scope_id: str, key: str) -> str:
        """One membership instance of a team or organization."""

    @abstractmethod
    def user(self, user: LiteLLMUser) -> str:
        """The user resource (instance)."""

    def chunked(self, kind: Kind, label: str, each: str, key: str) -> str:
        """A membership instance in its chunk: by the user's key, in either format."""
        name = chunk(key, self.labels.level(kind, label))
        return f"litellm_{kind}_member.{chunk_label(label, name)}[{hcl.quote(each)}]"

    def imports(self, state: DesiredState) -> Iterator[Import]:
        """An import block for every object of a state, with the provider's import id."""
        for org in state.organizations:
            yield Import(self.organization(org.id), org.id, "organization")
            for m in org.members:
                address = self.member("organization", org.id, m.key)
                yield Import(address, member_import_id(org.id, m.user_id), "organization member")
        for team in state.teams:
            yield Import(self.team(team.id), team.id, "team")
            for m in team.members:
                address = self.member("team", team.id, m.key)
                yield Import(address, member_import_id(team.id, m.user_id), "team member")

    def of(self, state: DesiredState) -> Iterator[tuple[tuple[str, ...], str]]:
        """Every object of a state with its address, keyed by (kind, ids...)."""
        for user in state.users:
            yield ("user", user.key), self.user(user)
        for org in state.organizations:
            yield ("organization", org.id), self.organization(org.id)
            for m in org.members:
                yield (
                    ("organization member", org.id, m.key),
                    self.member("organization", org.id, m.key),
                )
        for team in state.teams:
            yield ("team", team.id), self.team(team.id)
            for m in team.members:
                yield ("team member", team.id, m.key), self.member("team", team.id, m.key)


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


def moved_out(
    tombstones: Iterable[Forgotten], last: Labels, before: Addresses, users: Iterable[LiteLLMUser]
) -> tuple[Forgotten, ...]:
    """The tombstones, each user forgotten now with the instance of a map they had last run."""
    found = tuple(tombstones)
    new = {t.label for t in found if t.kind == "user" and t not in last.tombstones}
    if not new:
        return found
    where = {
        last.users[u.user_id]: before.user(u) for u in users if last.users.get(u.user_id) in new
    }
    return tuple(
        replace(t, was=where[t.label])
        if t.kind == "user" and where.get(t.label, t.address) != t.address
        else t
        for t in found
    )
