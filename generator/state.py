"""What LiteLLM should contain: organizations, teams and memberships, checked against its rules."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from operator import attrgetter
from typing import Any, Literal, NamedTuple

from generator.errors import PolicyError

TEAM_ROLES = ("user", "admin")
ORGANIZATION_ROLES = ("internal_user", "internal_user_viewer", "org_admin")
USER_ROLES = ("internal_user", "internal_user_viewer", "proxy_admin", "proxy_admin_viewer")
ADMIN_ROLES = ("proxy_admin", "proxy_admin_viewer")
# The admin role within a team and within an organization.
TEAM_ADMIN, ORGANIZATION_ADMIN = "admin", "org_admin"
BUDGET_DURATION = re.compile(r"^[1-9][0-9]*(s|m|h|d|mo)$")
# The kinds of object entraform manages, as changes, labels and messages name them.
Kind = Literal["organization", "team", "user"]


# An organization's value of a capped setting is the most any team in it may have.
_CAP = {"cap": True}


@dataclass(frozen=True)
class Settings:
    """Limits and models LiteLLM keeps on an organization or a team; None means unset.

    The one place a LiteLLM setting is declared: the policy schema (kept in step by a test),
    the renderers, the live reader, drift and adoption all iterate over these fields.
    """

    models: tuple[str, ...] | None = None
    max_budget: float | None = field(default=None, metadata=_CAP)
    budget_duration: str | None = None
    tpm_limit: int | None = field(default=None, metadata=_CAP)
    rpm_limit: int | None = field(default=None, metadata=_CAP)
    metadata: tuple[tuple[str, str], ...] | None = None

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every setting, in schema order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def scalars(cls) -> tuple[str, ...]:
        """The settings that hold one plain value (not the model list or the metadata map)."""
        return tuple(n for n in cls.names() if n not in ("models", "metadata"))

    @classmethod
    def caps(cls) -> tuple[str, ...]:
        """The numeric settings a team must keep at or below its organization's."""
        return tuple(f.name for f in fields(cls) if f.metadata.get("cap"))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Settings:
        """Build from a mapping that may hold other keys too (policy rules, rendered objects)."""
        values = {name: data.get(name) for name in cls.names()}
        if values["models"] is not None:
            values["models"] = tuple(values["models"])
        if values["metadata"] is not None:
            values["metadata"] = tuple(sorted(values["metadata"].items()))
        return cls(**values)

    def merged(self, override: Settings) -> Settings:
        """Return these settings with every field the override sets replaced."""
        changes = {f.name: getattr(override, f.name) for f in fields(override)}
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def as_dict(self) -> dict[str, object]:
        """Return the set fields in schema order, metadata as a dict."""
        data: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                data[f.name] = dict(value) if f.name == "metadata" else value
        return data


class Membership(NamedTuple):
    """One user in a team or organization, keyed by the Entra user object id.

    A named tuple: a large tenant holds half a million, and comparing two states compares them
    all, which a tuple does in C.
    """

    key: str
    user_id: str
    user_email: str
    role: str


@dataclass(frozen=True, order=True)
class LiteLLMUser:
    """A LiteLLM user for one person who is a member of anything rendered, keyed by object id."""

    key: str
    user_id: str
    user_email: str
    role: str

    @property
    def alias(self) -> str:
        """How reviewers recognise the user: the email."""
        return self.user_email


@dataclass(frozen=True)
class Organization:
    """A LiteLLM organization made from one Entra group."""

    id: str
    alias: str
    group_name: str
    settings: Settings = field(default_factory=Settings)
    members: tuple[Membership, ...] = ()


@dataclass(frozen=True)
class Team:
    """A LiteLLM team made from one Entra group, in an organization or standalone."""

    id: str
    alias: str
    group_name: str
    organization_id: str | None = None
    settings: Settings = field(default_factory=Settings)
    members: tuple[Membership, ...] = ()


# Either kind of object that holds members.
Scoped = Organization | Team


@dataclass(frozen=True)
class DesiredState:
    """Everything entraform manages in LiteLLM, sorted by id."""

    organizations: tuple[Organization, ...] = ()
    teams: tuple[Team, ...] = ()
    # Empty unless the policy manages users (users.manage).
    users: tuple[LiteLLMUser, ...] = ()

    def memberships(self) -> Iterator[Membership]:
        """Every membership of every organization and team."""
        for organization in self.organizations:
            yield from organization.members
        for team in self.teams:
            yield from team.members

    @property
    def lines(self) -> int:
        """Its memberships and users: the lines that rendering it writes, counted without a pass."""
        members = sum(len(o.members) for o in self.organizations)
        return members + sum(len(t.members) for t in self.teams) + len(self.users)

    @cached_property
    def users_by_key(self) -> Mapping[str, LiteLLMUser]:
        """Users keyed by Entra object id."""
        return {u.key: u for u in self.users}

    @cached_property
    def organizations_by_id(self) -> Mapping[str, Organization]:
        """Organizations keyed by id."""
        return {o.id: o for o in self.organizations}

    @cached_property
    def teams_by_id(self) -> Mapping[str, Team]:
        """Teams keyed by id."""
        return {t.id: t for t in self.teams}

    @cached_property
    def teams_by_organization(self) -> Mapping[str | None, tuple[Team, ...]]:
        """Teams per organization id (None for standalone teams), each in id order."""
        grouped: dict[str | None, list[Team]] = {}
        for team in self.teams:
            grouped.setdefault(team.organization_id, []).append(team)
        return {org_id: tuple(teams) for org_id, teams in grouped.items()}


def named(scoped: Organization | Team) -> str:
    """An organization or team as messages name it: two groups may share one display name."""
    kind = "team" if isinstance(scoped, Team) else "organization"
    return f"{kind} {scoped.alias!r} ({scoped.id})"


def validate(state: DesiredState, where: Callable[[Organization | Team], str] = named) -> None:
    """Raise PolicyError listing every way the state breaks LiteLLM's rules."""
    problems: list[str] = []
    organizations = state.organizations_by_id
    for org in state.organizations:
        problems += _check_settings(where(org), org.settings)
        problems += _check_roles(where(org), org.members, ORGANIZATION_ROLES)
    for team in state.teams:
        problems += _check_settings(where(team), team.settings)
        problems += _check_roles(where(team), team.members, TEAM_ROLES)
        parent = organizations.get(team.organization_id or "")
        if parent is not None:
            problems += _check_fits(where(team), team.settings, named(parent), parent.settings)
    problems += [
        f"user {u.user_email}: role {u.role!r} is not one of {', '.join(USER_ROLES)}"
        for u in state.users
        if u.role not in USER_ROLES
    ]
    if problems:
        raise PolicyError("the desired state breaks LiteLLM's rules:\n  " + "\n  ".join(problems))


def _check_settings(where: str, settings: Settings) -> list[str]:
    problems = []
    duration = settings.budget_duration
    if duration is not None and not BUDGET_DURATION.match(duration):
        problems.append(f"{where}: budget_duration {duration!r} is not like 30d, 1mo, 24h")
    for name in Settings.caps():
        value = getattr(settings, name)
        if value is not None and value < 0:
            problems.append(f"{where}: {name} must not be negative")
    return problems


def _check_roles(
    where: str, members: tuple[Membership, ...], allowed: tuple[str, ...]
) -> list[str]:
    # A scope's roles are one or two: only a scope with another is looked at member by member.
    if set(map(attrgetter("role"), members)) <= set(allowed):
        return []
    return [
        f"{where}: role {m.role!r} of {m.user_email} is not one of {', '.join(allowed)}"
        for m in members
        if m.role not in allowed
    ]


def _check_fits(where: str, team: Settings, org_where: str, org: Settings) -> list[str]:
    # LiteLLM rejects a team that asks for more than its organization grants (400 on create).
    problems = []
    if org.models:
        if not team.models:
            problems.append(
                f"{where}: no model list (all models) inside {org_where}, which allows only "
                f"{', '.join(org.models)}; set the team's models"
            )
        elif extra := sorted(set(team.models) - set(org.models)):
            problems.append(f"{where}: models {', '.join(extra)} are not allowed by {org_where}")
    for name in Settings.caps():
        team_value, org_value = getattr(team, name), getattr(org, name)
        if org_value is not None and (team_value is None or team_value > org_value):
            shown = "unset" if team_value is None else team_value
            problems.append(f"{where}: {name} {shown} exceeds {org_value} of {org_where}")
    return problems
