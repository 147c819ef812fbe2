"""The policy: which groups become LiteLLM organizations and teams, and how."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal, NamedTuple

from generator.policy.ids import Ids
from generator.sources import GroupSelector, Needs
from generator.state import Settings

TEMPLATE_FIELDS = ("displayName", "id", "mail")


@dataclass(frozen=True)
class Admins:
    """Who gets the admin role: the group's owners or the members of a named group."""

    owners: bool = False
    group: str | None = None


@dataclass(frozen=True)
class Place:
    """Where a team goes: standalone, or an organization found by key, group, capture or nesting."""

    kind: Literal["none", "key", "group", "capture", "nested", "same_group"] = "none"
    value: str | None = None


@dataclass(frozen=True)
class Rule:
    """One organizations or teams rule, with defaults already applied."""

    name: str
    selector: GroupSelector
    alias: str = "{displayName}"
    key: str = "{displayName}"
    member_role: str = "user"
    admins: Admins | None = None
    settings: Settings = field(default_factory=Settings)
    placement: Place = field(default_factory=Place)
    line: int = 0

    @property
    def pattern(self) -> re.Pattern[str] | None:
        """The compiled selection regex, if the rule selects by regex."""
        return None if self.selector.regex is None else compiled(self.selector.regex)


@dataclass(frozen=True)
class Identity:
    """How Entra users become LiteLLM users."""

    user_id: str = "id"
    user_email: str = "userPrincipalName"
    include_guests: bool = True
    include_disabled: bool = False


@dataclass(frozen=True)
class Safety:
    """Removal guard thresholds and what happens to de-scoped objects."""

    max_removed: int = 10
    max_removed_percent: float = 10.0
    min_existing: int = 20
    organizations_removed: Literal["forget", "delete"] = "forget"
    teams_removed: Literal["delete", "forget"] = "delete"


class NamedAdmin(NamedTuple):
    """One `users.admins` entry: a person's name as written, the role, and its policy line."""

    name: str
    role: str
    line: int = 0


@dataclass(frozen=True)
class Users:
    """Offboarding: whether every member becomes a LiteLLM user, in which role, and their fate."""

    manage: bool = False
    role: str = "internal_user"
    removed: Literal["delete", "forget"] = "delete"
    # Proxy admins by userPrincipalName, mail or object id, with the role they keep.
    admins: tuple[NamedAdmin, ...] = ()

    def admin_role(self, *names: str | None) -> str | None:
        """The admin role the policy names for any of a person's names, if any."""
        named = {a.name.casefold(): a.role for a in self.admins}
        return next((named[n.casefold()] for n in names if n and n.casefold() in named), None)


@dataclass(frozen=True)
class Checks:
    """What must hold of the rendered access on every run, with each check's policy line."""

    min_admins: int | None = None
    no_guest_admins: bool = False
    max_members: int | None = None
    member_domains: tuple[str, ...] = ()
    lines: tuple[tuple[str, int], ...] = ()

    @property
    def named(self) -> tuple[str, ...]:
        """The checks the policy states, in the order they are evaluated."""
        given = {
            "min_admins": self.min_admins is not None,
            "no_guest_admins": self.no_guest_admins,
            "max_members": self.max_members is not None,
            "member_domains": bool(self.member_domains),
        }
        return tuple(name for name, on in given.items() if on)

    def line(self, name: str) -> int:
        """The policy line of a check."""
        return dict(self.lines).get(name, 0)


@dataclass(frozen=True)
class Output:
    """Output settings; None where the policy leaves them to the folder or the defaults."""

    format: str | None = None
    # The command file headers name; None: the command that wrote them, with its options.
    regenerate: str | None = None
    provider_version: str = ">= 2.1.0, < 3.0.0"
    # One root module (and state) for the tenant, or one per organization plus one for the rest.
    layout: str | None = None
    # A backend type written as a partial configuration into every root, e.g. "azurerm".
    backend: str | None = None

    def regenerate_command(self, out: Path | str, output_format: str, layout: str) -> str | None:
        """The policy's command for file headers, `{format}`, `{layout}` and `{out}` filled in."""
        if self.regenerate is None:
            return None
        # One policy can then document the command for either format, layout and any folder.
        filled = self.regenerate.replace("{format}", output_format).replace("{layout}", layout)
        return filled.replace("{out}", str(out))


@dataclass(frozen=True)
class LiteLLM:
    """The LiteLLM proxy the output is applied to."""

    # Open source by default: a wrong false fails here with advice, a wrong true only at apply.
    enterprise: bool = False


@dataclass(frozen=True)
class Policy:
    """The whole validated policy file."""

    path: str
    organizations: tuple[Rule, ...] = ()
    teams: tuple[Rule, ...] = ()
    membership: Literal["transitive", "direct"] = "transitive"
    identity: Identity = field(default_factory=Identity)
    safety: Safety = field(default_factory=Safety)
    output: Output = field(default_factory=Output)
    litellm: LiteLLM = field(default_factory=LiteLLM)
    users: Users = field(default_factory=Users)
    ids: Ids = field(default_factory=Ids)
    checks: Checks = field(default_factory=Checks)
    service_principal_id: str | None = None
    group_filter: str | None = None

    def needs(self) -> Needs:
        """Say what a source must read for this policy."""
        rules = self.organizations + self.teams
        admin_groups = [r.admins.group for r in rules if r.admins and r.admins.group]
        extra = tuple(_admin_selector(g) for g in admin_groups)
        return Needs(
            selectors=tuple(r.selector for r in rules) + extra,
            transitive=self.membership == "transitive",
            owners=any(r.admins and r.admins.owners for r in rules),
            service_principal_id=self.service_principal_id,
            group_filter=self.group_filter,
        )


def _admin_selector(template: str) -> GroupSelector:
    # Names come from templates: read by name when literal, else by the literal prefix.
    if not fields_of(template):
        return GroupSelector(names=(template,))
    prefix = template.split("{", 1)[0]
    return GroupSelector(prefix=prefix) if prefix else GroupSelector(regex=".*")


def fields_of(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


@cache
def compiled(regex: str) -> re.Pattern[str]:
    return re.compile(regex)
