"""What a live LiteLLM proxy holds: its teams, organizations, members, users and keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from generator import hcl
from generator.state import Settings


@dataclass(frozen=True, order=True)
class LiveMember:
    """A user in a live team or organization, as LiteLLM reports it."""

    user_id: str
    role: str
    user_email: str | None = None


@dataclass(frozen=True)
class LiveTeam:
    """A team LiteLLM has."""

    id: str
    alias: str | None
    organization_id: str | None = None
    settings: Settings = field(default_factory=Settings)
    members: tuple[LiveMember, ...] = ()


@dataclass(frozen=True)
class LiveOrganization:
    """An organization LiteLLM has."""

    id: str
    alias: str | None
    settings: Settings = field(default_factory=Settings)
    members: tuple[LiveMember, ...] = ()


@dataclass(frozen=True, order=True)
class LiveUser:
    """A user LiteLLM has (from /user/list)."""

    user_id: str
    user_email: str | None
    role: str
    key_count: int | None = None  # LiteLLM's count of the user's keys, when it gives one
    # LiteLLM's SSO made this user at a sign-in: only that path sets `sso_user_id`.
    made_at_sign_in: bool = False


@dataclass(frozen=True)
class LiveKey:
    """A key LiteLLM has: whose it is and its use, never its secret or hash."""

    user_id: str | None
    team_id: str | None
    alias: str | None
    name: str | None  # LiteLLM's abbreviation of the secret, as its UI shows it (sk-...abcd)
    last_active: str | None = None  # when LiteLLM last recorded spend on it
    expires: str | None = None
    blocked: bool = False

    @property
    def order(self) -> tuple[str, ...]:
        """A sort key: by owner, then by how people recognise the key."""
        return tuple(v or "" for v in (self.team_id, self.user_id, self.alias, self.name))


@dataclass(frozen=True)
class LiveState:
    """What LiteLLM holds; organizations is None when unreadable, users and keys when not read."""

    teams: tuple[LiveTeam, ...] = ()
    organizations: tuple[LiveOrganization, ...] | None = ()
    organizations_note: str | None = None
    users: tuple[LiveUser, ...] | None = None
    keys: tuple[LiveKey, ...] | None = None

    @cached_property
    def users_by_id(self) -> Mapping[str, LiveUser]:
        """Users keyed by user id as Terraform sends ids (empty when not read)."""
        return {hcl.normalized(u.user_id): u for u in self.users or ()}

    @cached_property
    def teams_by_id(self) -> Mapping[str, LiveTeam]:
        """Teams keyed by id."""
        return {t.id: t for t in self.teams}

    @cached_property
    def organizations_by_id(self) -> Mapping[str, LiveOrganization]:
        """Organizations keyed by id (empty when unavailable)."""
        return {o.id: o for o in self.organizations or ()}
