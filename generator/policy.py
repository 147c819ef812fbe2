"""Apply the policy to a directory: the only code that speaks both Entra and LiteLLM."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from generator.config import Policy, Rule
from generator.directory import Directory, Group, User
from generator.errors import PolicyError
from generator.state import DesiredState, Membership, Organization, Team, validate

GRAPH_ATTRIBUTES = {"id": "id", "userPrincipalName": "user_principal_name", "mail": "mail"}


@dataclass(frozen=True)
class Findings:
    """What the mapping noticed: warnings for the summary, and counts of what it left out."""

    warnings: tuple[str, ...] = ()
    skipped_members: Mapping[str, int] = field(default_factory=dict)
    excluded_users: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """The desired state and what was noticed while building it."""

    state: DesiredState
    findings: Findings


@dataclass(frozen=True)
class _Match:
    rule: Rule
    group: Group
    values: Mapping[str, str]

    def render(self, template: str) -> str:
        return template.format_map(self.values)


def apply(policy: Policy, directory: Directory) -> Outcome:
    """Map the directory through the policy into a validated desired state."""
    mapper = _Mapper(policy, directory)
    state = mapper.state()
    validate(state)
    return Outcome(state, mapper.findings())


class _Mapper:
    """Holds the lookups and the running tallies of one mapping."""

    def __init__(self, policy: Policy, directory: Directory) -> None:
        self.policy = policy
        self.directory = directory
        self.warnings: list[str] = []
        self.skipped: Counter[str] = Counter()
        self.excluded: dict[str, set[str]] = {}
        self.by_name: dict[str, list[Group]] = {}
        for group in directory.groups.values():
            self.by_name.setdefault(group.display_name, []).append(group)

    def state(self) -> DesiredState:
        org_matches = self._matches(self.policy.organizations, "organizations")
        team_matches = self._matches(self.policy.teams, "teams")
        if not org_matches and not team_matches:
            return DesiredState()
        keys = self._organization_keys(org_matches)
        teams = [self._team(m, keys, org_matches) for m in team_matches]
        organizations = [self._organization(m, teams) for m in org_matches]
        return DesiredState(
            organizations=tuple(sorted(organizations, key=lambda o: o.id)),
            teams=tuple(sorted(teams, key=lambda t: t.id)),
        )

    def findings(self) -> Findings:
        return Findings(
            warnings=tuple(self.warnings),
            skipped_members=dict(sorted(self.skipped.items())),
            excluded_users={k: len(v) for k, v in sorted(self.excluded.items())},
        )

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

    def _matches(self, rules: tuple[Rule, ...], kind: str) -> list[_Match]:
        claimed: dict[str, _Match] = {}
        for rule in rules:
            for group in self._candidates():
                values = _select(rule, group)
                if values is None:
                    continue
                if group.id in claimed:
                    other = claimed[group.id].rule
                    raise PolicyError(
                        f"group {group.display_name!r} ({group.id}) is selected by two {kind} "
                        f"rules, {other.name!r} (line {other.line}) and {rule.name!r} "
                        f"(line {rule.line}); narrow one of them"
                    )
                claimed[group.id] = _Match(rule, group, values)
        return sorted(claimed.values(), key=lambda m: m.group.id)

    def _organization_keys(self, matches: list[_Match]) -> dict[str, _Match]:
        keys: dict[str, _Match] = {}
        for match in matches:
            key = match.render(match.rule.key)
            if key in keys:
                raise PolicyError(
                    f"organization key {key!r} comes from both {keys[key].group.display_name!r}"
                    f" and {match.group.display_name!r}; make rule {match.rule.name!r}'s key unique"
                )
            keys[key] = match
        return keys

    def _team(self, match: _Match, keys: dict[str, _Match], orgs: list[_Match]) -> Team:
        org = self._place(match, keys, orgs)
        members = self._members(match, member_role=match.rule.member_role, admin_role="admin")
        return Team(
            id=match.group.id,
            alias=match.render(match.rule.alias),
            group_name=match.group.display_name,
            organization_id=None if org is None else org.group.id,
            settings=match.rule.settings,
            members=members,
        )

    def _organization(self, match: _Match, teams: list[Team]) -> Organization:
        own = self._members(match, member_role=match.rule.member_role, admin_role="org_admin")
        merged = {m.key: m for t in teams if t.organization_id == match.group.id for m in t.members}
        role = match.rule.member_role
        members = {k: Membership(m.key, m.user_id, m.user_email, role) for k, m in merged.items()}
        members.update({m.key: m for m in own if m.key not in members or m.role == "org_admin"})
        return Organization(
            id=match.group.id,
            alias=match.render(match.rule.alias),
            group_name=match.group.display_name,
            settings=match.rule.settings,
            members=tuple(sorted(members.values())),
        )

    def _place(self, match: _Match, keys: dict[str, _Match], orgs: list[_Match]) -> _Match | None:
        placement = match.rule.placement
        by_id = {m.group.id: m for m in orgs}
        name = match.group.display_name
        found: list[_Match]
        if placement.kind == "none":
            return None
        if placement.kind == "same_group":
            found = [by_id[match.group.id]] if match.group.id in by_id else []
        elif placement.kind == "nested":
            parents = self.directory.parent_groups(match.group.id)
            found = [by_id[p] for p in parents if p in by_id]
        elif placement.kind == "group":
            wanted = match.render(placement.value or "")
            found = [m for m in orgs if m.group.display_name == wanted]
        else:
            value = placement.value or ""
            key = match.values[value] if placement.kind == "capture" else match.render(value)
            found = [keys[key]] if key in keys else []
        if len(found) == 1:
            return found[0]
        if not found:
            raise PolicyError(
                f"team group {name!r} (rule {match.rule.name!r}) belongs in an organization by "
                f"{placement.kind}, but no selected organization group fits; select that "
                f"organization's group or stop selecting {name!r}"
            )
        names = ", ".join(repr(m.group.display_name) for m in found)
        raise PolicyError(f"team group {name!r} is nested in several organization groups: {names}")

    def _members(self, match: _Match, member_role: str, admin_role: str) -> tuple[Membership, ...]:
        resolved = self.directory.user_members(match.group.id, self.policy.membership)
        self.skipped.update(resolved.skipped)
        roles = dict.fromkeys(resolved.users, member_role)
        roles.update(dict.fromkeys(self._admins(match), admin_role))
        members = (
            self._membership(user_key, role, match.group) for user_key, role in roles.items()
        )
        return tuple(sorted(m for m in members if m is not None))

    def _admins(self, match: _Match) -> frozenset[str]:
        admins = match.rule.admins
        if admins is None:
            return frozenset()
        if admins.owners:
            if match.group.owners is None:
                self.warnings.append(f"owners of {match.group.display_name!r} were not read")
            return self.directory.owner_users(match.group.id)
        name = match.render(admins.group or "")
        groups = self.by_name.get(name, [])
        if len(groups) != 1:
            problem = "no group" if not groups else f"{len(groups)} groups"
            self.warnings.append(
                f"admin group {name!r} for {match.group.display_name!r}: {problem}"
            )
            return frozenset()
        return self.directory.user_members(groups[0].id, self.policy.membership).users

    def _membership(self, user_key: str, role: str, group: Group) -> Membership | None:
        identity = self.policy.identity
        user = self.directory.users.get(user_key)
        if user is None:
            self._exclude("unknown user (not in the directory)", user_key)
            return None
        if user.account_enabled is False and not identity.include_disabled:
            self._exclude("disabled account", user_key)
            return None
        if user.is_guest and not identity.include_guests:
            self._exclude("guest", user_key)
            return None
        user_id = _attribute(user, identity.user_id)
        email = _email(user, identity.user_email)
        if not user_id or not email:
            missing = identity.user_id if not user_id else "an email"
            self.warnings.append(
                f"user {user.display_name or user.id} in {group.display_name!r} has no {missing} "
                "(limited information: check the User.Read.All permission); left out"
            )
            self._exclude("no usable user id or email", user_key)
            return None
        return Membership(user_key, user_id, email, role)

    def _exclude(self, reason: str, user_key: str) -> None:
        self.excluded.setdefault(reason, set()).add(user_key)


def _select(rule: Rule, group: Group) -> dict[str, str] | None:
    selector = rule.selector
    name = group.display_name
    values = {"displayName": name, "id": group.id, "mail": group.mail or ""}
    if selector.names:
        return values if name in selector.names else None
    if selector.ids:
        return values if group.id in selector.ids else None
    if selector.prefix is not None:
        return values if name.startswith(selector.prefix) else None
    pattern = rule.pattern
    found = pattern.fullmatch(name) if pattern else None
    if found is None:
        return None
    return values | {k: v for k, v in found.groupdict().items() if v is not None}


def _attribute(user: User, name: str) -> str | None:
    value: str | None = getattr(user, GRAPH_ATTRIBUTES[name])
    return value


def _email(user: User, preferred: str) -> str | None:
    # LiteLLM's SSO falls back from userPrincipalName to mail; mirror it in both directions.
    fallback = "mail" if preferred == "userPrincipalName" else "userPrincipalName"
    return _attribute(user, preferred) or _attribute(user, fallback)
