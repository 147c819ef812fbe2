"""The policy's checks: what must hold of the access a run renders, proven before any write."""

from __future__ import annotations

from collections.abc import Iterator

from generator.directory import Directory
from generator.errors import EXIT_CHECKS, Refusal
from generator.policy import Checks, Policy
from generator.state import (
    ORGANIZATION_ADMIN,
    TEAM_ADMIN,
    DesiredState,
    Membership,
    Organization,
    Team,
    named,
)


def refusals(policy: Policy, state: DesiredState, directory: Directory) -> tuple[Refusal, ...]:
    """One refusal per violation: the check and its line, the object, the person at fault."""
    checks = policy.checks
    if not checks.named:
        return ()
    found = []
    scopes: tuple[Organization | Team, ...] = (*state.organizations, *state.teams)
    for scoped in scopes:
        for name, text in _violations(checks, scoped, directory):
            line = f"{policy.path}:{checks.line(name)}: checks.{name}: "
            found.append(Refusal(line + text, exit_code=EXIT_CHECKS))
    return tuple(found)


def _violations(
    checks: Checks, scoped: Organization | Team, directory: Directory
) -> Iterator[tuple[str, str]]:
    admins = [m for m in scoped.members if m.role in (TEAM_ADMIN, ORGANIZATION_ADMIN)]
    if checks.min_admins is not None and len(admins) < checks.min_admins:
        yield (
            "min_admins",
            f"{named(scoped)} has {len(admins)} admin(s), fewer than {checks.min_admins}",
        )
    if checks.no_guest_admins:
        for m in admins:
            user = directory.users.get(m.key)
            if user is not None and user.is_guest:
                yield "no_guest_admins", f"guest {_who(m)} is {m.role} of {named(scoped)}"
    if checks.max_members is not None and len(scoped.members) > checks.max_members:
        yield (
            "max_members",
            f"{named(scoped)} has {len(scoped.members)} members, more than {checks.max_members}",
        )
    domains = ", ".join(checks.member_domains)
    for m in scoped.members if checks.member_domains else ():
        if not _within(m.user_email, checks.member_domains):
            yield "member_domains", f"{_who(m)} in {named(scoped)} is in none of {domains}"


def _who(member: Membership) -> str:
    return f"{member.user_email} ({member.key})"


def _within(address: str, domains: tuple[str, ...]) -> bool:
    """True when the address's domain is one of the domains, or a subdomain of one."""
    domain = address.rpartition("@")[2].casefold()
    return any(domain == d or domain.endswith("." + d) for d in domains)
