"""The plan: two desired states in, the semantic change set and the refusals out. Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter
from typing import Literal, NamedTuple, get_args

from generator.errors import Refusal
from generator.policy import Safety, Users
from generator.state import DesiredState, Kind, LiteLLMUser, Membership, Scoped, Team

MemberAction = Literal["added", "removed", "role"]
# Said once for every guard: the removals are what to review, --allow-removals accepts them.
ALLOW_REMOVALS = "--allow-removals"
_REVIEW = "Review the removals; if they are intended, run again with --allow-removals."


@dataclass(frozen=True)
class ObjectChange:
    """An organization, team or user added, removed, renamed, or changed (settings, role).

    `detail` says what changed as `old → new` for each field, the old alias of a rename, and
    whether a removed object is deleted or only forgotten by Terraform.
    """

    kind: Kind
    id: str
    alias: str
    action: Literal["added", "removed", "renamed", "changed"]
    detail: str = ""


class MemberChange(NamedTuple):
    """A membership added, removed or with a changed role (a tuple: cheap by the half million)."""

    kind: Kind
    scope_id: str
    scope_alias: str
    user_email: str
    action: MemberAction
    role: str
    old_role: str | None = None
    user_id: str = ""


class Roster(NamedTuple):
    """One team's or organization's members before and after this run."""

    kind: Kind
    scope_id: str
    alias: str
    old: tuple[Membership, ...]
    new: tuple[Membership, ...]


@dataclass(frozen=True)
class ChangeSet:
    """What changes in LiteLLM, object by object and member by member.

    Member changes are worked out when first read: a first run adds every membership, half a
    million on a large tenant, and a run asked for no summary or report needs only their count.
    """

    objects: tuple[ObjectChange, ...] = ()
    rosters: tuple[Roster, ...] = ()

    @cached_property
    def members(self) -> tuple[MemberChange, ...]:
        """Every membership added, removed or with a changed role, scope by scope, by email."""
        return tuple(change for roster in self.rosters for change in _member_changes(*roster))

    def count(self, kind: str, action: str) -> int:
        """Count object or member changes of one kind and action (kind `member` for both scopes)."""
        return self._counts[(kind, action)]

    @cached_property
    def _counts(self) -> Counter[tuple[str, str]]:
        counts: Counter[tuple[str, str]] = Counter((o.kind, o.action) for o in self.objects)
        # A scope that had no members adds every one; only the others are diffed to count.
        counts["member", "added"] += sum(len(r.new) for r in self.rosters if not r.old)
        changed = (c for r in self.rosters if r.old for c in _member_changes(*r))
        counts.update(("member", c.action) for c in changed)
        return counts

    @property
    def empty(self) -> bool:
        """True when nothing changes in LiteLLM (a member's new email alone is no change)."""
        members = (n for (kind, _), n in self._counts.items() if kind == "member")
        return not self.objects and not any(members)


@dataclass(frozen=True)
class Plan:
    """What a run changes in LiteLLM, and the guards' reasons to refuse it."""

    changes: ChangeSet
    refusals: tuple[Refusal, ...]


def make(before: DesiredState, after: DesiredState, safety: Safety, users: Users) -> Plan:
    """Compare the state the last run wrote with this run's, and apply the guards."""
    changes = diff(before, after, fates(safety, users))
    return Plan(changes, guard(before, after, changes, safety))


def forgotten(safety: Safety, users: Users) -> frozenset[Kind]:
    """The kinds Terraform forgets when the policy drops one of them; apply deletes the others."""
    removed: dict[Kind, str] = {
        "organization": safety.organizations_removed,
        "team": safety.teams_removed,
        "user": users.removed,
    }
    return frozenset(kind for kind, fate in removed.items() if fate == "forget")


def fates(safety: Safety, users: Users) -> Mapping[Kind, str]:
    """What happens to a removed object of each kind: Terraform forgets it, or apply deletes it."""
    forgets = forgotten(safety, users)
    return {kind: "forgotten" if kind in forgets else "deleted" for kind in get_args(Kind)}


def diff(
    old: DesiredState, new: DesiredState, fates: Mapping[Kind, str] | None = None
) -> ChangeSet:
    """Return the semantic changes from one desired state to the next."""
    aliases = {o.id: o.alias for o in (*old.organizations, *new.organizations)}
    objects: list[ObjectChange] = []
    rosters: list[Roster] = []
    pairs: tuple[tuple[Kind, Mapping[str, Scoped], Mapping[str, Scoped]], ...] = (
        ("organization", old.organizations_by_id, new.organizations_by_id),
        ("team", old.teams_by_id, new.teams_by_id),
    )
    for kind, before, after in pairs:
        for object_id in sorted(set(before) | set(after)):
            a, b = before.get(object_id), after.get(object_id)
            if b is None and a is not None:
                fate = (fates or {}).get(kind, "deleted")
                objects.append(ObjectChange(kind, object_id, a.alias, "removed", fate))
                continue
            assert b is not None
            if a is None:
                objects.append(ObjectChange(kind, object_id, b.alias, "added"))
            else:
                objects += _object_changes(kind, a, b, aliases)
            rosters.append(Roster(kind, b.id, b.alias, a.members if a else (), b.members))
    objects += _user_changes(old.users_by_key, new.users_by_key, (fates or {}).get("user"))
    return ChangeSet(tuple(objects), tuple(rosters))


def _user_changes(
    before: Mapping[str, LiteLLMUser], after: Mapping[str, LiteLLMUser], fate: str | None
) -> list[ObjectChange]:
    changes = []
    every = {**before, **after}
    # By email, as reviewers scan people everywhere else.
    for key in sorted(every, key=lambda k: (every[k].alias.casefold(), k)):
        a, b = before.get(key), after.get(key)
        if b is None and a is not None:
            changes.append(ObjectChange("user", key, a.alias, "removed", fate or "deleted"))
        elif a is None and b is not None:
            changes.append(ObjectChange("user", key, b.alias, "added"))
        elif a is not None and b is not None and a != b:
            fields = ("user_id", "user_email", "role")
            detail = "; ".join(
                f"{f}: {getattr(a, f)} → {getattr(b, f)}"
                for f in fields
                if getattr(a, f) != getattr(b, f)
            )
            changes.append(ObjectChange("user", key, b.alias, "changed", detail))
    return changes


def _object_changes(
    kind: Kind, a: Scoped, b: Scoped, aliases: Mapping[str, str]
) -> list[ObjectChange]:
    changes = []
    if a.alias != b.alias:
        changes.append(ObjectChange(kind, b.id, b.alias, "renamed", f"from {a.alias!r}"))
    details = []
    if isinstance(a, Team) and isinstance(b, Team) and a.organization_id != b.organization_id:
        old, new = (_organization(i, aliases) for i in (a.organization_id, b.organization_id))
        details.append(f"organization: {old} → {new}")
    before, after = a.settings.as_dict(), b.settings.as_dict()
    details += [
        f"{k}: {_shown(before.get(k))} → {_shown(after.get(k))}"
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    ]
    if details:
        changes.append(ObjectChange(kind, b.id, b.alias, "changed", "; ".join(details)))
    return changes


def _organization(org_id: str | None, aliases: Mapping[str, str]) -> str:
    return "none" if org_id is None else f"{aliases.get(org_id, org_id)!r}"


def _shown(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(map(str, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


def _member_changes(
    kind: Kind, scope_id: str, alias: str, old: tuple[Membership, ...], new: tuple[Membership, ...]
) -> list[MemberChange]:
    if old == new:
        return []
    if not old:
        return _added(kind, scope_id, alias, new)
    before = {m.key: m for m in old}
    after = {m.key: m for m in new}
    found: list[tuple[Membership, MemberAction, str | None]]
    found = [(m, "added", None) for k, m in after.items() if k not in before]
    found += [(m, "removed", None) for k, m in before.items() if k not in after]
    found += [
        (m, "role", before[k].role)
        for k, m in after.items()
        if k in before and before[k].role != m.role
    ]
    found.sort(key=lambda change: change[0].user_email)
    return [
        MemberChange(kind, scope_id, alias, m.user_email, action, m.role, old_role, m.user_id)
        for m, action, old_role in found
    ]


def _added(
    kind: Kind, scope_id: str, alias: str, members: tuple[Membership, ...]
) -> list[MemberChange]:
    """Every member of a scope that had none, by email: what a first run says of each."""
    return [
        MemberChange(kind, scope_id, alias, m.user_email, "added", m.role, None, m.user_id)
        for m in sorted(members, key=attrgetter("user_email"))
    ]


def guard(
    before: DesiredState, after: DesiredState, changes: ChangeSet, safety: Safety
) -> tuple[Refusal, ...]:
    """The guards' reasons to refuse this change set (none when it is safe)."""
    reasons = []
    if not after.organizations and not after.teams:
        had = changes.count("organization", "removed") + changes.count("team", "removed")
        reasons.append(
            "the policy selects no groups at all: refusing to remove everything"
            if had
            else "the policy selects no groups at all: check its selectors against the tenant "
            "(entraform validate --snapshot)"
        )
    now = {
        "organization": len(after.organizations),
        "team": len(after.teams),
        "member": sum(len(o.members) for o in after.organizations)
        + sum(len(t.members) for t in after.teams),
        "user": len(after.users),
    }
    for kind, count in now.items():
        # What there was: what there is, less what this change adds, plus what it removes.
        total = count - changes.count(kind, "added") + changes.count(kind, "removed")
        removed = changes.count(kind, "removed")
        over_count = removed > safety.max_removed
        share = 100.0 * removed / total if total else 0.0
        over_share = total >= safety.min_existing and share > safety.max_removed_percent
        if removed and (over_count or over_share):
            reasons.append(
                f"{removed} {kind} removals of {total} ({share:.0f}%) exceed the limit of "
                f"{safety.max_removed} or {safety.max_removed_percent:g}%"
            )
    reasons += _emptied(before, after)
    return tuple(Refusal(r, ALLOW_REMOVALS, _REVIEW) for r in reasons)


def _emptied(before: DesiredState, after: DesiredState) -> list[str]:
    # A group emptied at once is more often a failed sync in Entra than a real decision.
    pairs: tuple[tuple[str, Mapping[str, Scoped], tuple[Scoped, ...]], ...] = (
        ("organization", before.organizations_by_id, after.organizations),
        ("team", before.teams_by_id, after.teams),
    )
    found = []
    for kind, previous_by_id, now_objects in pairs:
        for scoped in now_objects:
            previous = previous_by_id.get(scoped.id)
            if previous is not None and previous.members and not scoped.members:
                count = len(previous.members)
                found.append(
                    f"{kind} {scoped.alias!r} ({scoped.id}) had {count} "
                    f"member{'' if count == 1 else 's'} and now has none"
                )
    return found
