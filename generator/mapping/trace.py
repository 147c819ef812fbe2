"""Why a person has access, or not: every path from a policy rule down to them."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from generator import mapping
from generator.directory import Directory, Group, User
from generator.errors import ConfigError
from generator.mapping.selection import Match, described, name_of, select
from generator.policy import Policy, Rule
from generator.state import ORGANIZATION_ADMIN, TEAM_ADMIN, Membership, Organization, Team

# Chains shown per grant: nesting can fan out, and a reader wants the shortest ones first.
MAX_CHAINS = 20
Scope = Literal["organization", "team"]
Via = Literal["member", "owner", "admin_group", "team"]
ADMIN_ROLES: dict[Scope, str] = {"team": TEAM_ADMIN, "organization": ORGANIZATION_ADMIN}
OTHER: dict[Scope, Scope] = {"team": "organization", "organization": "team"}


@dataclass(frozen=True)
class Grant:
    """One way the person gets a role: nested groups, ownership, or a team of the organization."""

    role: str
    via: Via
    # From the selected (or admin) group down to the group the person is directly in; for
    # `owner`, the owned group alone; empty for `team`.
    groups: tuple[Group, ...] = ()
    team: Team | None = None


@dataclass(frozen=True)
class Access:
    """A team or organization the person is in, with their role and every grant of it."""

    kind: Scope
    id: str
    alias: str
    role: str
    match: Match
    grants: tuple[Grant, ...]
    complete: bool
    organization: Organization | None = None


@dataclass(frozen=True)
class Reason:
    """One reason the person is not in a team or organization, with a stable code."""

    code: str
    text: str
    # For `not_selected`: what each rule of that kind selects instead.
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Absence:
    """A team or organization the person is not in, and every reason why."""

    kind: Scope
    group: Group
    reasons: tuple[Reason, ...]
    # When the group is a team (or organization) the person is not in: its id and alias.
    id: str | None = None
    alias: str | None = None


@dataclass(frozen=True)
class Explanation:
    """What the policy gives one person, and the team or organization asked about."""

    origin: str
    person: User
    excluded: Reason | None
    organizations: tuple[Access, ...]
    teams: tuple[Access, ...]
    asked: Access | Absence | None = None


def explain(
    policy: Policy,
    directory: Directory,
    who: str,
    team: str | None = None,
    organization: str | None = None,
) -> Explanation:
    """Explain the person's access; with `team` or `organization`, also that one object."""
    person = directory.person(who)
    tracer = _Tracer(policy, directory, mapping.apply(policy, directory), person)
    kind: Scope = "team" if team is not None else "organization"
    query = team if team is not None else organization
    asked = None if query is None else tracer.asked(kind, query)
    return Explanation(
        policy.path,
        person,
        tracer.excluded,
        _by_alias(tracer.organization(o) for o in tracer.state.organizations),
        _by_alias(tracer.team(t) for t in tracer.state.teams),
        asked,
    )


class _Tracer:
    """Follows one person through the rules, the groups and the mapped state."""

    def __init__(
        self, policy: Policy, directory: Directory, outcome: mapping.Outcome, person: User
    ) -> None:
        self.policy = policy
        self.directory = directory
        self.state = outcome.state
        self.provenance = outcome.provenance
        self.person = person
        self.excluded = _exclusion(policy, person)

    def team(self, team: Team) -> Access | None:
        role = _role_in(team.members, self.person.id)
        if role is None:
            return None
        match = self.provenance.teams[self.policy.ids.group_of(team.id)]
        grants, complete = self._grants(match, ADMIN_ROLES["team"])
        organization = self.state.organizations_by_id.get(team.organization_id or "")
        return Access("team", team.id, team.alias, role, match, grants, complete, organization)

    def organization(self, organization: Organization) -> Access | None:
        role = _role_in(organization.members, self.person.id)
        if role is None:
            return None
        match = self.provenance.organizations[self.policy.ids.group_of(organization.id)]
        grants, complete = self._grants(match, ADMIN_ROLES["organization"])
        grants += self._through_teams(organization.id, match.rule.member_role)
        return Access(
            "organization", organization.id, organization.alias, role, match, grants, complete
        )

    def asked(self, kind: Scope, query: str) -> Access | Absence:
        group = self._group(kind, query)
        scoped = self._objects(kind).get(self.policy.ids.of(group.id))
        if scoped is None:
            return Absence(kind, group, self._reasons(kind, group))
        access = self.team(scoped) if isinstance(scoped, Team) else self.organization(scoped)
        reasons = () if access else self._reasons(kind, group)
        return access or Absence(kind, group, reasons, scoped.id, scoped.alias)

    def _objects(self, kind: Scope) -> Mapping[str, Team | Organization]:
        return self.state.teams_by_id if kind == "team" else self.state.organizations_by_id

    def _grants(self, match: Match, admin_role: str) -> tuple[tuple[Grant, ...], bool]:
        grants: list[Grant] = []
        complete = True
        admins = match.rule.admins
        group_id = match.group.id
        if admins and admins.owners and self.person.id in self.directory.owner_users(group_id):
            grants.append(Grant(admin_role, "owner", (match.group,)))
        admin_group = self.provenance.admin_groups.get((match.rule, group_id))
        if admins and admins.group and admin_group is not None:
            chains, done = self._chains(admin_group)
            grants += [Grant(admin_role, "admin_group", c) for c in chains]
            complete = complete and done
        chains, done = self._chains(group_id)
        grants += [Grant(match.rule.member_role, "member", c) for c in chains]
        return tuple(grants), complete and done

    def _through_teams(self, organization_id: str, role: str) -> tuple[Grant, ...]:
        teams = self.state.teams_by_organization.get(organization_id, ())
        return tuple(
            Grant(role, "team", team=t)
            for t in sorted(teams, key=lambda t: (t.alias, t.id))
            if _role_in(t.members, self.person.id)
        )

    def _chains(self, group_id: str) -> tuple[list[tuple[Group, ...]], bool]:
        found = self.directory.chains(group_id, self.person.id, self.policy.membership, MAX_CHAINS)
        return [tuple(self.directory.groups[g] for g in c) for c in found.found], found.complete

    def _group(self, kind: Scope, query: str) -> Group:
        groups, ids = self.directory.groups, self.policy.ids
        # The group's object id, or the team's or organization's id (prefixed under `ids`).
        key = ids.group_of(query)
        if by_id := groups.get(key) or groups.get(key.casefold()):
            return by_id
        other = OTHER[kind]
        # The asked kind's alias wins; the other kind's only explains a miss or a clash.
        found = self._aliased(kind, query) or self._aliased(other, query)
        found += [(g.id, "its name") for g in groups.values() if g.display_name == query]
        hits = {g: " and ".join(h for i, h in found if i == g) for g, _ in sorted(found)}
        if len(hits) > 1:
            shown = "; ".join(f"group {name_of(groups[g])} by {h}" for g, h in hits.items())
            raise ConfigError(
                f"{query!r} names {len(hits)} objects: {shown}; aliases and Entra display names "
                f"need not be unique: give the object id of the {kind} you mean"
            )
        if not hits:
            names = [o.alias for o in self._objects(kind).values()]
            names += [g.display_name for g in groups.values()]
            close = difflib.get_close_matches(query, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"no {kind} and no group {query!r} (by alias, group name or object id) among the "
                f"{len(groups)} groups read{hint}"
            )
        ((group_id, how),) = hits.items()
        if how == f"its {other}'s alias":
            raise ConfigError(
                f"no {kind} {query!r}: {query!r} is the {other} made from group "
                f"{name_of(groups[group_id])}; ask with --{other} {query!r}"
            )
        return groups[group_id]

    def _aliased(self, kind: Scope, alias: str) -> list[tuple[str, str]]:
        found = [i for i, o in self._objects(kind).items() if o.alias == alias]
        return [(self.policy.ids.group_of(i), f"its {kind}'s alias") for i in found]

    def _reasons(self, kind: Scope, group: Group) -> tuple[Reason, ...]:
        reasons = [self.excluded] if self.excluded else []
        matches = self.provenance.teams if kind == "team" else self.provenance.organizations
        match = matches.get(group.id)
        if match is None:
            return (*reasons, *self._unselected(kind, group))
        grants, _ = self._grants(match, ADMIN_ROLES[kind])
        if kind == "organization":
            grants += self._through_teams(self.policy.ids.of(group.id), match.rule.member_role)
        if not grants:
            reasons.append(self._not_member(kind, match))
        return tuple(reasons)

    def _not_member(self, kind: Scope, match: Match) -> Reason:
        group = match.group
        if self.policy.membership == "transitive":
            text = f"not a member of {group.display_name!r} nor of any group nested in it"
        else:
            text = f"not a direct member of {group.display_name!r} (membership: direct)"
            nested = self.directory.chains(group.id, self.person.id, "transitive", 1)
            if nested.found:
                text += "; they are in it only through nested groups, which direct does not follow"
        admins = match.rule.admins
        if admins and admins.owners:
            text += ", and not an owner of it"
        admin_group = self.provenance.admin_groups.get((match.rule, group.id))
        if admins and admins.group and admin_group is not None:
            text += f", nor in its admin group {self.directory.groups[admin_group].display_name!r}"
        if kind == "organization":
            count = len(self.state.teams_by_organization.get(self.policy.ids.of(group.id), ()))
            text += f", nor in any of its {count} team(s)"
        return Reason("not_a_member", text)

    def _unselected(self, kind: Scope, group: Group) -> list[Reason]:
        rules = self.policy.teams if kind == "team" else self.policy.organizations
        reasons = []
        if would := [r for r in rules if select(r, group) is not None]:
            text = (
                f"{self._rule(would[0])} would select {group.display_name!r}, but only groups "
                "assigned to the enterprise application source.service_principal_id are "
                "candidates, and this one is not assigned"
            )
            reasons.append(Reason("not_assigned", text))
        else:
            text = f"no {kind}s rule selects {group.display_name!r}"
            text += "" if rules else ": there are none"
            listed = tuple(f"{self._rule(r)} selects {described(r)}" for r in rules)
            reasons.append(Reason("not_selected", text, listed))
        other = OTHER[kind]
        other_matches = self.provenance.organizations if kind == "team" else self.provenance.teams
        if match := other_matches.get(group.id):
            alias = self._objects(other)[self.policy.ids.of(group.id)].alias
            text = f"{self._rule(match.rule)} selects it as {other} {alias!r}"
            reasons.append(Reason(f"selected_as_{other}", f"{text}: ask with --{other} {alias!r}"))
        return reasons

    def _rule(self, rule: Rule) -> str:
        return f"rule {rule.name!r} ({self.policy.path}:{rule.line})"


def _exclusion(policy: Policy, person: User) -> Reason | None:
    reason = mapping.excluded_because(person, policy.identity)
    if reason == mapping.DISABLED:
        return Reason("disabled", mapping.WHY[mapping.DISABLED])
    if reason == mapping.GUEST:
        return Reason("guest_excluded", mapping.WHY[mapping.GUEST])
    if reason == mapping.NO_IDENTITY:
        return Reason(
            "no_usable_identity",
            f"no {policy.identity.user_id} or no email (userPrincipalName or mail) to give LiteLLM",
        )
    return None


def _role_in(members: Iterable[Membership], user_key: str) -> str | None:
    return next((m.role for m in members if m.key == user_key), None)


def _by_alias(found: Iterable[Access | None]) -> tuple[Access, ...]:
    return tuple(sorted((a for a in found if a), key=lambda a: (a.alias, a.id)))
