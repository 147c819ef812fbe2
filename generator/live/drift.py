"""Drift: where the live LiteLLM differs from the desired state, sorted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from generator import hcl
from generator.live.holdings import LiveMember, LiveState
from generator.state import ADMIN_ROLES, DesiredState, Membership, Settings

DOCS = "docs/drift.md"


def nfc(text: str) -> str:
    """The text as Terraform sends it to LiteLLM: NFC, stream-safe as Go writes it."""
    return hcl.normalized(text)


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
        if self.what == "user_role" and self.live in ADMIN_ROLES:
            return (
                f"{where}: is {self.live} in LiteLLM, the policy writes {self.desired}: terraform "
                f"apply would demote this proxy admin. Name it in users.admins ({self.name}: "
                f"{self.live}) before applying"
            )
        if self.what == "role":
            member = f"{self.who} ({self.subject})" if self.who else self.subject
            return f"{where}: member {member} has role {self.live}, desired {self.desired}"
        return f"{where}: {self.what} is {self.live}, desired {self.desired}"


@dataclass(frozen=True, order=True)
class Unmanaged:
    """A team or organization LiteLLM has that the policy does not render."""

    kind: str
    id: str
    alias: str | None
    members: int  # without the ignored users (the proxy admin)

    def describe(self) -> str:
        """One line for people."""
        return (
            f"{self.kind} {self.alias or '(no alias)'!r} ({self.id}), {self.members} member(s): "
            "not selected by the policy (created at SSO login, or by hand)"
        )


def compare(
    state: DesiredState, live: LiveState, ignore_users: Collection[str] = ()
) -> tuple[Difference, ...]:
    """Every difference between the desired state and LiteLLM (organizations when readable)."""
    ignored = {nfc(u) for u in ignore_users}
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
    found += _users(state, live)
    return tuple(sorted(found))


def _users(state: DesiredState, live: LiveState) -> list[Difference]:
    found = []
    for user in state.users if live.users is not None else ():
        there = live.users_by_id.get(nfc(user.user_id))
        if there is None:
            found.append(Difference("user", user.key, user.user_id, "missing", "", "", user.alias))
            continue
        one = _Object("user", user.key, user.alias)
        if there.role != user.role:
            found.append(one.difference("user_role", user.role, there.role, user.user_id))
        if not _same(user.user_email, there.user_email):
            shown = _show(there.user_email)
            found.append(one.difference("user_email", user.user_email, shown, user.user_id))
    return found


def find_unmanaged(
    state: DesiredState, live: LiveState, ignore_users: Collection[str] = ()
) -> tuple[Unmanaged, ...]:
    """The teams and organizations LiteLLM has that the policy does not render, sorted."""
    ignored = {nfc(u) for u in ignore_users}

    def count(members: Iterable[LiveMember]) -> int:
        return sum(1 for m in members if nfc(m.user_id) not in ignored)

    found = [
        Unmanaged("team", t.id, t.alias, count(t.members))
        for t in live.teams
        if t.id not in state.teams_by_id
    ]
    found += [
        Unmanaged("organization", o.id, o.alias, count(o.members))
        for o in live.organizations or ()
        if o.id not in state.organizations_by_id
    ]
    return tuple(sorted(found))


def licence_warnings(state: DesiredState, live: LiveState) -> list[str]:
    """What an unlicensed (OSS) proxy refuses in the desired state, beyond organizations."""
    if live.organizations is not None:
        return []
    if not any(m.role == "admin" for t in state.teams for m in t.members):
        return []
    return [
        "the team admin role is an Enterprise feature too: without a licence LiteLLM rejects "
        "team members with role admin (400 'Assigning team admins is a premium feature'). "
        "Set LITELLM_LICENSE on the proxy, or give team admins the role user in the policy"
    ]


def advice(
    differences: tuple[Difference, ...], unmanaged: int, strict: bool, users: int = 0
) -> str:
    """What to do about a drift result (members the policy leaves out apart), as one sentence."""
    steps = []
    if any(d.what == "user_role" and d.live in ADMIN_ROLES for d in differences):
        steps.append(
            "name the proxy admins in users.admins before any apply, which would demote them"
        )
    if differences:
        steps.append("run terraform plan and apply to create or restore what the policy renders")
    if strict and unmanaged:
        steps.append("select the unmanaged teams in the policy, or delete them in LiteLLM")
    if strict and users:
        steps.append("delete the unmanaged users in LiteLLM, or select a group of theirs")
    return "; ".join(steps) + f" (see {DOCS})"


def describe(
    differences: tuple[Difference, ...], unmanaged: tuple[Unmanaged, ...], strict: bool
) -> list[str]:
    """The result as lines of text: one per difference, then the unmanaged section."""
    lines = [d.describe() for d in differences]
    if unmanaged:
        counted = (
            "counted as drift (--strict)" if strict else "reported, not drift without --strict"
        )
        heading = f"Not managed by the policy: {count_kinds(unmanaged)} ({counted}):"
        lines += ["", heading] if lines else [heading]
        lines += [f"  {u.describe()}" for u in unmanaged]
    return lines


def count_kinds(unmanaged: tuple[Unmanaged, ...]) -> str:
    """How many of each kind, as in '2 teams, 1 organization'."""
    counts = Counter(u.kind for u in unmanaged)
    return ", ".join(
        f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in sorted(counts.items(), reverse=True)
    )


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
        # Terraform sends every string in NFC, so another normal form from Entra is no drift.
        if not _same(alias, live_alias):
            found.append(self.difference("alias", _show(alias), _show(live_alias)))
        # Only what entraform sets is compared: LiteLLM fills the rest from its defaults.
        if desired.models is not None and _nfc_sorted(desired.models) != _nfc_sorted(live.models):
            found.append(self.difference("models", _models(desired.models), _models(live.models)))
        for name in Settings.scalars():
            want, have = getattr(desired, name), getattr(live, name)
            if want is not None and not _same(want, have):
                found.append(self.difference(name, _show(want), _show(have)))
        # LiteLLM keeps its own keys in metadata too; only the keys entraform writes count.
        have_metadata = {nfc(k): v for k, v in live.metadata or ()}
        for key, value in desired.metadata or ():
            there = have_metadata.get(nfc(key))
            if not _same(value, there):
                found.append(self.difference(f"metadata.{key}", _show(value), _show(there)))
        return found

    def members(
        self, desired: tuple[Membership, ...], live: tuple[LiveMember, ...], ignored: set[str]
    ) -> list[Difference]:
        found = []
        have = {nfc(m.user_id): m for m in live}
        wanted = {nfc(m.user_id) for m in desired}
        for m in desired:
            there = have.get(nfc(m.user_id))
            if there is None:
                found.append(self.difference("member missing", m.user_email, "", m.user_id))
            elif there.role != m.role:
                found.append(self.difference("role", m.role, there.role, m.user_id, m.user_email))
        for key, extra in have.items():
            # The proxy admin a master-key create adds is not Entra's doing (--ignore-user).
            if key not in wanted and key not in ignored:
                who = extra.user_email or extra.user_id
                found.append(self.difference("member extra", "", who, extra.user_id))
        return found


def _same(desired: Any, live: Any) -> bool:
    if isinstance(desired, str) and isinstance(live, str):
        return nfc(desired) == nfc(live)
    return bool(desired == live)


def _nfc_sorted(models: tuple[str, ...] | None) -> list[str]:
    return sorted(nfc(m) for m in models or ())


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


def unmanaged_dicts(unmanaged: tuple[Unmanaged, ...]) -> list[dict[str, Any]]:
    """JSON-ready unmanaged objects, with the sentence people read."""
    return [{**vars(u), "message": u.describe()} for u in unmanaged]
