"""Resolution: the policy's rules over the directory's groups, into LiteLLM's objects."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from operator import attrgetter

from generator.directory import Directory, Group, Resolved
from generator.errors import ConfigError, PolicyError
from generator.mapping.findings import (
    NO_IDENTITY,
    UNKNOWN,
    Findings,
    LeftOut,
    Provenance,
    attribute,
    email,
    excluded_because,
)
from generator.mapping.selection import Match, Places, ids_of, name_of, select
from generator.policy import Policy, Rule
from generator.state import DesiredState, LiteLLMUser, Membership, Organization, Team


class Mapper:
    """Holds the lookups and the running tallies of one mapping."""

    def __init__(self, policy: Policy, directory: Directory) -> None:
        self.policy = policy
        self.directory = directory
        self.warnings: list[str] = []
        self.skipped: dict[str, set[str]] = {}
        self.excluded: dict[str, set[str]] = {}
        self.by_name = _byname_of(directory.groups.values())
        # Each (user, role) decided once, by role and then user: None for a user left out.
        self.memberships: dict[str, dict[str, Membership | None]] = {}
        self.people: dict[str, tuple[str, str] | None] = {}
        self.resolved: dict[str, Resolved] = {}
        self.org_matches: list[Match] = []
        self.team_matches: list[Match] = []
        self.admin_groups: dict[tuple[Rule, str], str] = {}
        self.reasons: dict[str, str] = {}
        self.left_out: dict[tuple[str, str], dict[str, str]] = {}
        self.selected_users: set[str] = set()
        self.admin_users: set[str] = set()
        self.ids = policy.ids

    def state(self) -> DesiredState:
        org_matches = self.org_matches = self._matches(self.policy.organizations, "organizations")
        team_matches = self.team_matches = self._matches(self.policy.teams, "teams")
        if not org_matches and not team_matches:
            if self.policy.users.manage:
                self._refuse_unmatched_admins(set())
            return DesiredState()
        places = Places(self.policy.path, org_matches)
        teams = [self._team(m, places) for m in team_matches]
        by_organization: dict[str, list[Team]] = {}
        for team in teams:
            if team.organization_id is not None:
                by_organization.setdefault(team.organization_id, []).append(team)
        organizations = [self._organization(m, by_organization) for m in org_matches]
        return DesiredState(
            organizations=tuple(sorted(organizations, key=lambda o: o.id)),
            teams=tuple(sorted(teams, key=lambda t: t.id)),
            users=self._users([*organizations, *teams]) if self.policy.users.manage else (),
        )

    def _users(self, scopes: Iterable[Organization | Team]) -> tuple[LiteLLMUser, ...]:
        # One user per person who is a member of anything rendered, whatever their roles there.
        members = {m.key: m for scope in scopes for m in scope.members}
        self._refuse_unmatched_admins(members.keys())
        policy = self.policy.users
        users = []
        for key, m in members.items():
            entra = self.directory.users.get(key)
            emails = (entra.user_principal_name, entra.mail) if entra else ()
            role = policy.admin_role(key, m.user_id, *emails) or policy.role
            users.append(LiteLLMUser(key, m.user_id, m.user_email, role))
        return tuple(sorted(users))

    def _refuse_unmatched_admins(self, rendered: Collection[str]) -> None:
        """Refuse a `users.admins` entry that names nobody in a group the policy selects."""
        # Silently unmatched, the intended proxy admin would be written as an ordinary user.
        problems = []
        for admin in self.policy.users.admins:
            where = f"{self.policy.path}:{admin.line}: users.admins: "
            try:
                person = self.directory.person(admin.name)
            except ConfigError as exc:
                problems.append(where + str(exc))
                continue
            # A member left out (disabled, a guest) is reported as such: not this entry's fault.
            if person.id not in rendered and person.id not in self.selected_users:
                problems.append(
                    f"{where}{admin.name!r} ({person.display_name or person.id}) is in no group "
                    "the policy selects, so no LiteLLM user is rendered for them; add them to a "
                    "selected group, or remove the entry"
                )
        if problems:
            raise PolicyError("\n".join(problems))

    def findings(self) -> Findings:
        return Findings(
            warnings=tuple(self.warnings),
            skipped_members={k: len(v) for k, v in sorted(self.skipped.items())},
            excluded_users={
                reason: tuple(sorted(self._left_out(k) for k in keys))
                for reason, keys in sorted(self.excluded.items())
            },
            left_out=self.left_out,
            admin_only=frozenset(self.admin_users - self.selected_users),
        )

    def provenance(self) -> Provenance:
        return Provenance(
            organizations={m.group.id: m for m in self.org_matches},
            teams={m.group.id: m for m in self.team_matches},
            admin_groups=dict(self.admin_groups),
        )

    def _left_out(self, user_key: str) -> LeftOut:
        user = self.directory.users.get(user_key)
        name = user and (user.user_principal_name or user.mail or user.display_name)
        return LeftOut(name or user_key, user_key)

    def _candidates(self) -> Iterable[Group]:
        assigned = self.directory.app_assigned
        if self.policy.service_principal_id is None:
            return self.directory.groups.values()
        if assigned is None:
            raise PolicyError(
                "the policy selects groups assigned to an enterprise application, but the source "
                "holds no app role assignments; take the snapshot again with this policy"
            )
        return [g for g in self.directory.groups.values() if g.id in assigned]

    def _matches(self, rules: tuple[Rule, ...], kind: str) -> list[Match]:
        claimed: dict[str, Match] = {}
        for rule in rules:
            for group in self._candidates():
                values = select(rule, group)
                if values is None:
                    continue
                if group.id in claimed:
                    other = claimed[group.id].rule
                    raise PolicyError(
                        f"group {group.display_name!r} ({group.id}) is selected by two {kind} "
                        f"rules, {other.name!r} (line {other.line}) and {rule.name!r} "
                        f"(line {rule.line}); narrow one of them"
                    )
                claimed[group.id] = Match(rule, group, values)
        return sorted(claimed.values(), key=lambda m: m.group.id)

    def _team(self, match: Match, places: Places) -> Team:
        org = places.find(match, self.directory)
        team_id = self.ids.of(match.group.id)
        members = self._members(match, ("team", team_id), match.rule.member_role, "admin")
        return Team(
            id=team_id,
            alias=match.render(match.rule.alias),
            group_name=match.group.display_name,
            organization_id=None if org is None else self.ids.of(org.group.id),
            settings=match.rule.settings,
            members=members,
        )

    def _organization(self, match: Match, teams: Mapping[str, list[Team]]) -> Organization:
        org_id = self.ids.of(match.group.id)
        scope = ("organization", org_id)
        own = self._members(match, scope, match.rule.member_role, "org_admin")
        # Everyone in the organization's teams is a member of it too, in the rule's role; its
        # own role for someone also in the group itself (an org_admin stays one).
        members = {m.key: m for m in own}
        grew = False
        for team in teams.get(org_id, ()):
            # Whom a team leaves out, its organization leaves out too.
            if dropped := self.left_out.get(("team", team.id)):
                self.left_out.setdefault(scope, {}).update(dropped)
            # Set arithmetic in C: a nested team's members are nearly all in the group already.
            for user_key in set(map(_KEY, team.members)).difference(members):
                if found := self._membership(user_key, match.rule.member_role, match.group):
                    members[user_key] = found
                    grew = True
        return Organization(
            id=org_id,
            alias=match.render(match.rule.alias),
            group_name=match.group.display_name,
            settings=match.rule.settings,
            members=_sorted(members.values()) if grew else own,
        )

    def _members(
        self, match: Match, scope: tuple[str, str], member_role: str, admin_role: str
    ) -> tuple[Membership, ...]:
        resolved = self._resolved(match.group.id)
        for kind, ids in resolved.skipped.items():
            self.skipped.setdefault(kind, set()).update(ids)
        self.selected_users.update(resolved.users)
        admins = self._admins(match)
        members: list[Membership] = []
        # Half a million on a large tenant: keys sorted as strings and looked up in C, so members
        # come out in key order with no sort of objects; a new (user, role) is built once.
        for role, keys in ((member_role, resolved.users - admins), (admin_role, admins)):
            pool = self.memberships.setdefault(role, {})
            for user_key in sorted(keys.difference(pool)):
                pool[user_key] = self._new_membership(user_key, role, match.group)
            ordered = sorted(keys)
            found = list(map(pool.__getitem__, ordered))
            if None in found:
                dropped = self.left_out.setdefault(scope, {})
                for user_key, member in zip(ordered, found, strict=True):
                    if member is None:
                        dropped[user_key] = self.reasons[user_key]
            members += filter(None, found)  # in C: a Membership (a tuple of four) is never false
        return _sorted(members) if admins else tuple(members)

    def _resolved(self, group_id: str) -> Resolved:
        # The preset resolves each group twice, and one admin group serves many teams.
        if group_id not in self.resolved:
            self.resolved[group_id] = self.directory.user_members(group_id, self.policy.membership)
        return self.resolved[group_id]

    def _admins(self, match: Match) -> frozenset[str]:
        admins = match.rule.admins
        if admins is None:
            return frozenset()
        if admins.owners:
            if match.group.owners is None:
                self.warnings.append(f"owners of {name_of(match.group)} were not read")
            return self.directory.owner_users(match.group.id)
        name = match.render(admins.group or "")
        groups = self.by_name.get(name, [])
        if not groups:
            self.warnings.append(f"admin group {name!r} for {name_of(match.group)}: no group")
            return frozenset()
        if len(groups) > 1:
            raise PolicyError(
                f"{self.policy.path}:{match.rule.line}: rule {match.rule.name!r}: the admin group "
                f"name {name!r} belongs to {len(groups)} groups ({ids_of(groups)}); Entra allows "
                "duplicate display names, so give the admin group a unique name in Entra, or use "
                "admins: {owners: true}"
            )
        self.admin_groups[match.rule, match.group.id] = groups[0].id
        users = self._resolved(groups[0].id).users
        self.admin_users.update(users)
        return users

    def _membership(self, user_key: str, role: str, group: Group) -> Membership | None:
        # A user is in many groups: decide and build each (user, role) once, and share it.
        pool = self.memberships.setdefault(role, {})
        if user_key not in pool:
            pool[user_key] = self._new_membership(user_key, role, group)
        return pool[user_key]

    def _new_membership(self, user_key: str, role: str, group: Group) -> Membership | None:
        if user_key not in self.people:
            self.people[user_key] = self._identity(user_key, group)
        found = self.people[user_key]
        return None if found is None else Membership(user_key, *found, role)

    def _identity(self, user_key: str, group: Group) -> tuple[str, str] | None:
        """A user's id and email in LiteLLM, decided once whatever their roles; None: left out."""
        identity = self.policy.identity
        user = self.directory.users.get(user_key)
        if user is None:
            self._exclude(UNKNOWN, user_key)
            return None
        reason = excluded_because(user, identity)
        user_id = attribute(user, identity.user_id)
        address = email(user, identity.user_email)
        if reason == NO_IDENTITY:
            missing = identity.user_id if not user_id else "an email"
            self.warnings.append(
                f"user {user.display_name or user.id} in {name_of(group)} has no {missing} "
                "(limited information: check the User.Read.All permission); left out"
            )
        if reason is not None:
            self._exclude(reason, user_key)
            return None
        assert user_id and address  # excluded_because refused a user without either
        return user_id, address

    def _exclude(self, reason: str, user_key: str) -> None:
        self.excluded.setdefault(reason, set()).add(user_key)
        self.reasons[user_key] = reason


_KEY = attrgetter("key")


def _sorted(members: Iterable[Membership]) -> tuple[Membership, ...]:
    # By key alone: keys are unique in a scope, and the dataclass order compares every field.
    return tuple(sorted(members, key=_KEY))


def _byname_of(groups: Iterable[Group]) -> dict[str, list[Group]]:
    found: dict[str, list[Group]] = {}
    for group in groups:
        found.setdefault(group.display_name, []).append(group)
    return found
