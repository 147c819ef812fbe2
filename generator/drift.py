"""Drift: where the live LiteLLM differs from the desired state, sorted."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from generator.litellm import LiveMember, LiveState
from generator.state import DesiredState, Membership, Settings

SCALARS = ("max_budget", "budget_duration", "tpm_limit", "rpm_limit")


@dataclass(frozen=True, order=True)
class Difference:
    """One way a live object differs; subject is the user id for member differences."""

    kind: str
    object_id: str
    subject: str
    what: str
    desired: str
    live: str
    name: str = field(compare=False)
    who: str = field(default="", compare=False)  # the member's email, when known

    def describe(self) -> str:
        """One line for people."""
        where = f"{self.kind} {self.name!r} ({self.object_id})"
        if self.what == "missing":
            return f"{where}: not in LiteLLM (terraform apply creates it)"
        if self.what == "member missing":
            return f"{where}: member {self.desired} ({self.subject}) is not in LiteLLM"
        if self.what == "member extra":
            return (
                f"{where}: member {self.live} ({self.subject}) is in LiteLLM but not desired "
                "(added outside Terraform, or left the group)"
            )
        if self.what == "role":
            member = f"{self.who} ({self.subject})" if self.who else self.subject
            return f"{where}: member {member} has role {self.live}, desired {self.desired}"
        return f"{where}: {self.what} is {self.live}, desired {self.desired}"


def compare(
    state: DesiredState, live: LiveState, ignore_users: Collection[str] = ()
) -> tuple[Difference, ...]:
    """Every difference between the desired state and LiteLLM (organizations when readable)."""
    ignored = set(ignore_users)
    found: list[Difference] = []
    if live.organizations is not None:
        orgs = live.organizations_by_id
        for org in state.organizations:
            there = orgs.get(org.id)
            if there is None:
                found.append(Difference("organization", org.id, "", "missing", "", "", org.alias))
                continue
            one = _Object("organization", org.id, org.alias)
            found += one.fields(org.alias, there.alias, org.settings, there.settings)
            found += one.members(org.members, there.members, ignored)
    teams = live.teams_by_id
    for team in state.teams:
        live_team = teams.get(team.id)
        if live_team is None:
            found.append(Difference("team", team.id, "", "missing", "", "", team.alias))
            continue
        one = _Object("team", team.id, team.alias)
        found += one.fields(team.alias, live_team.alias, team.settings, live_team.settings)
        if team.organization_id != live_team.organization_id:
            found.append(
                one.difference(
                    "organization_id", _show(team.organization_id), _show(live_team.organization_id)
                )
            )
        found += one.members(team.members, live_team.members, ignored)
    return tuple(sorted(found))


@dataclass(frozen=True)
class _Object:
    kind: str
    id: str
    name: str

    def difference(
        self, what: str, desired: str, live: str, subject: str = "", who: str = ""
    ) -> Difference:
        return Difference(self.kind, self.id, subject, what, desired, live, self.name, who)

    def fields(
        self, alias: str, live_alias: str | None, desired: Settings, live: Settings
    ) -> list[Difference]:
        found = []
        if alias != live_alias:
            found.append(self.difference("alias", _show(alias), _show(live_alias)))
        # Only what entraform sets is compared: LiteLLM fills the rest from its defaults.
        if desired.models is not None and sorted(desired.models) != sorted(live.models or ()):
            found.append(self.difference("models", _models(desired.models), _models(live.models)))
        for name in SCALARS:
            want, have = getattr(desired, name), getattr(live, name)
            if want is not None and want != have:
                found.append(self.difference(name, _show(want), _show(have)))
        # LiteLLM keeps its own keys in metadata too; only the keys entraform writes count.
        have_metadata = dict(live.metadata or ())
        for key, value in desired.metadata or ():
            if have_metadata.get(key) != value:
                shown = _show(have_metadata.get(key))
                found.append(self.difference(f"metadata.{key}", _show(value), shown))
        return found

    def members(
        self, desired: tuple[Membership, ...], live: tuple[LiveMember, ...], ignored: set[str]
    ) -> list[Difference]:
        found = []
        have = {m.user_id: m for m in live}
        wanted = {m.user_id for m in desired}
        for m in desired:
            there = have.get(m.user_id)
            if there is None:
                found.append(self.difference("member missing", m.user_email, "", m.user_id))
            elif there.role != m.role:
                found.append(self.difference("role", m.role, there.role, m.user_id, m.user_email))
        for extra in live:
            # The proxy admin a master-key create adds is not Entra's doing (--ignore-user).
            if extra.user_id not in wanted and extra.user_id not in ignored:
                who = extra.user_email or extra.user_id
                found.append(self.difference("member extra", "", who, extra.user_id))
        return found


def _models(models: tuple[str, ...] | None) -> str:
    # An empty list is LiteLLM's "all models".
    return ", ".join(sorted(models)) if models else "all models"


def _show(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_dicts(differences: tuple[Difference, ...]) -> list[dict[str, str]]:
    """JSON-ready differences, with the sentence people read."""
    return [{**vars(d), "message": d.describe()} for d in differences]
