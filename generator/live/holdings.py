"""What a live LiteLLM proxy holds: its teams, organizations, members and users."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

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


@dataclass(frozen=True)
class LiveState:
    """What LiteLLM holds; organizations is None when unreadable, users when not read."""

    teams: tuple[LiveTeam, ...] = ()
    organizations: tuple[LiveOrganization, ...] | None = ()
    organizations_note: str | None = None
    users: tuple[LiveUser, ...] | None = None

    @cached_property
    def users_by_id(self) -> Mapping[str, LiveUser]:
        """Users keyed by user id in NFC, as Terraform sends ids (empty when not read)."""
        return {unicodedata.normalize("NFC", u.user_id): u for u in self.users or ()}

    @cached_property
    def teams_by_id(self) -> Mapping[str, LiveTeam]:
        """Teams keyed by id."""
        return {t.id: t for t in self.teams}

    @cached_property
    def organizations_by_id(self) -> Mapping[str, LiveOrganization]:
        """Organizations keyed by id (empty when unavailable)."""
        return {o.id: o for o in self.organizations or ()}
