"""A first policy drawn from a live LiteLLM: the teams its SSO login made, kept as they are."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from generator.directory import Directory, Group
from generator.live.drift import nfc
from generator.live.holdings import LiveMember, LiveOrganization, LiveState, LiveTeam
from generator.mapping import GRAPH_ATTRIBUTES
from generator.state import BUDGET_DURATION, ORGANIZATION_ADMIN, TEAM_ADMIN, Settings

# Entra object ids as Graph writes them; anything else cannot be a group (and must not reach a
# Graph filter, which refuses it).
OBJECT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Selected:
    """A group a drawn rule selects, with the names its comment shows."""

    id: str
    name: str
    alias: str | None


@dataclass(frozen=True)
class DrawnRule:
    """One organizations or teams rule of the drawn policy."""

    name: str
    groups: tuple[Selected, ...]
    # A template for the alias; None keeps the default, the group's display name.
    alias: str | None
    settings: Settings
    organization: Selected | None = None


@dataclass(frozen=True, order=True)
class Unmanageable:
    """A live team entraform cannot take over as it is, and why."""

    id: str
    alias: str | None
    reason: str

    def describe(self) -> str:
        """One line for people."""
        return f"team {self.alias or '(no alias)'!r} ({self.id}): {self.reason}"


@dataclass(frozen=True)
class Draft:
    """The policy drawn from LiteLLM, and what could not be drawn."""

    organizations: tuple[DrawnRule, ...]
    teams: tuple[DrawnRule, ...]
    enterprise: bool
    user_id: str
    unmanageable: tuple[Unmanageable, ...]
    warnings: tuple[str, ...]

    @property
    def team_count(self) -> int:
        """Teams the policy selects."""
        return sum(len(r.groups) for r in self.teams)


def group_ids(live: LiveState) -> tuple[str, ...]:
    """The live team and organization ids that may be Entra group object ids, sorted."""
    ids = {t.id for t in live.teams} | {t.organization_id for t in live.teams if t.organization_id}
    return tuple(sorted(i for i in ids if OBJECT_ID.fullmatch(i)))


def draw(live: LiveState, directory: Directory, ignore_users: Collection[str] = ()) -> Draft:
    """Select exactly the live teams whose id is a group, with their alias, settings and place."""
    kept: list[LiveTeam] = []
    unmanageable: list[Unmanageable] = []
    for team in live.teams:
        reason = _unmanageable(team, live, directory)
        if reason is None:
            kept.append(team)
        else:
            unmanageable.append(Unmanageable(team.id, team.alias, reason))
    ignored = {nfc(u) for u in ignore_users}
    placed = sorted({t.organization_id for t in kept if t.organization_id is not None})
    organizations = {i: live.organizations_by_id[i] for i in placed}
    warnings = [
        _admins_warning("organization", o.id, o.alias, o.members, ORGANIZATION_ADMIN, ignored)
        for o in organizations.values()
    ]
    warnings += [
        _admins_warning("team", t.id, t.alias, t.members, TEAM_ADMIN, ignored) for t in kept
    ]
    groups = directory.groups
    return Draft(
        organizations=_unique_names(
            [_organization_rule(o, groups[o.id]) for o in organizations.values()]
        ),
        teams=_team_rules(kept, groups, organizations),
        enterprise=live.organizations is not None,
        user_id=_user_id_attribute(kept, directory, ignored),
        unmanageable=tuple(sorted(unmanageable)),
        warnings=tuple(w for w in warnings if w),
    )


def _unmanageable(team: LiveTeam, live: LiveState, directory: Directory) -> str | None:
    if not OBJECT_ID.fullmatch(team.id):
        return "its team_id is not an Entra group object id"
    if team.id not in directory.groups:
        return "no Entra group has this object id (deleted in Entra, or not readable)"
    org = team.organization_id
    if org is not None and live.organizations is None:
        return f"it is in organization {org}, and LiteLLM's organizations could not be read"
    if org is not None and (org not in directory.groups or org not in live.organizations_by_id):
        return (
            f"it is in organization {org}, which is not made from an Entra group: entraform "
            "places teams only in organizations whose id is a group object id"
        )
    duration = team.settings.budget_duration
    if duration is not None and not BUDGET_DURATION.match(duration):
        return f"its budget_duration {duration!r} is not a duration like 30d, 1mo, 24h"
    return None


def _organization_rule(org: LiveOrganization, group: Group) -> DrawnRule:
    return DrawnRule(
        name=f"organization {group.display_name}",
        groups=(Selected(org.id, group.display_name, org.alias),),
        alias=_alias(org.alias, group),
        settings=_kept(org.settings),
    )


def _team_rules(
    teams: list[LiveTeam],
    groups: Mapping[str, Group],
    organizations: Mapping[str, LiveOrganization],
) -> tuple[DrawnRule, ...]:
    # Teams that share alias template, settings and organization share one rule.
    shared: dict[tuple[str | None, Settings, str | None], list[LiveTeam]] = {}
    for team in teams:
        key = (_alias(team.alias, groups[team.id]), _kept(team.settings), team.organization_id)
        shared.setdefault(key, []).append(team)
    rules = []
    for (alias, settings, org_id), members in shared.items():
        org = organizations.get(org_id) if org_id else None
        place = None if org is None else Selected(org.id, groups[org.id].display_name, org.alias)
        selected = tuple(Selected(t.id, groups[t.id].display_name, t.alias) for t in members)
        rules.append(DrawnRule(_team_rule_name(selected, place), selected, alias, settings, place))
    return _unique_names(rules)


def _team_rule_name(selected: tuple[Selected, ...], place: Selected | None) -> str:
    if len(selected) == 1:
        return f"team {selected[0].name}"
    return f"teams in organization {place.alias or place.name}" if place else "standalone teams"


def _unique_names(rules: list[DrawnRule]) -> tuple[DrawnRule, ...]:
    # Display names repeat in Entra; rule names must not.
    used: set[str] = set()
    unique = []
    for rule in rules:
        name, n = rule.name, 1
        while name in used:
            n += 1
            name = f"{rule.name} ({n})"
        used.add(name)
        unique.append(replace(rule, name=name))
    return tuple(unique)


def _alias(alias: str | None, group: Group) -> str | None:
    # The group's own name stays a template, so a rename in Entra reaches LiteLLM; a team
    # without an alias gets it too (LiteLLM's SSO always sets one, and the policy needs one).
    if not alias or nfc(alias) == nfc(group.display_name):
        return None
    return alias.replace("{", "{{").replace("}", "}}")


def _kept(settings: Settings) -> Settings:
    # Left out, models and metadata keep what LiteLLM has (the provider reads them back);
    # an empty model list is LiteLLM's "all models", which the policy says by leaving it out.
    models = tuple(dict.fromkeys(settings.models)) if settings.models else None
    return replace(settings, models=models, metadata=settings.metadata or None)


def _admins_warning(
    kind: str,
    object_id: str,
    alias: str | None,
    members: Iterable[LiveMember],
    role: str,
    ignored: set[str],
) -> str:
    admins = [
        m.user_email or m.user_id
        for m in members
        if m.role == role and nfc(m.user_id) not in ignored
    ]
    if not admins:
        return ""
    return (
        f"{kind} {alias or '(no alias)'!r} ({object_id}) has {role} member(s) in LiteLLM: "
        f"{', '.join(sorted(admins))}. The drawn policy gives every member the rule's member "
        "role, so terraform apply would change theirs; add `admins:` to the rule if they are "
        "the group's owners or the members of an admin group"
    )


def _user_id_attribute(teams: list[LiveTeam], directory: Directory, ignored: set[str]) -> str:
    # LiteLLM's MICROSOFT_USER_ID_ATTRIBUTE decided what its user ids are: find which one.
    live_ids = {nfc(m.user_id) for t in teams for m in t.members} - ignored
    counts = {
        name: sum(1 for u in directory.users.values() if getattr(u, field) in live_ids)
        for name, field in GRAPH_ATTRIBUTES.items()
    }
    return max(counts, key=lambda name: counts[name])  # the first, `id`, on a tie
