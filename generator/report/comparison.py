"""The result of `drift`: its sections for people, its JSON, and the exit code it owns."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from generator import mapping
from generator.directory import Directory
from generator.errors import ChangesFound, EntraformError, SecurityFindings
from generator.live import drift, security, stray_keys, strays
from generator.live.holdings import LiveState
from generator.live.people import People, email_attribute_warning
from generator.live.stray_keys import StrayKey
from generator.live.strays import USERS_ADVICE, StrayUser
from generator.policy import Policy
from generator.state import DesiredState


def compare(
    policy: Policy,
    directory: Directory,
    outcome: mapping.Outcome,
    part: DesiredState,
    live: LiveState,
    *,
    ignore_users: Collection[str] = (),
    recorded: Collection[str] = (),
    strict: bool = False,
) -> Comparison:
    """Compare `part` of the outcome with LiteLLM; what no part renders is judged on the whole."""
    # Objects of the other roots are managed too: only what no root renders is unmanaged.
    state = outcome.state
    differences, findings = security.separate(
        drift.compare(part, live, ignore_users), outcome, directory, policy.identity
    )
    people = People(directory, policy.identity)
    grants = strays.Grants.of(state, policy.users.manage)
    users = strays.find_users(
        live,
        grants,
        outcome,
        people,
        policy.identity,
        recorded=recorded,
        ignore_users=ignore_users,
    )
    return Comparison(
        differences,
        findings,
        drift.find_unmanaged(state, live, ignore_users),
        users,
        stray_keys.find_keys(state, live, grants, users, people, ignore_users),
        strict,
        live.organizations_note if state.organizations else None,
        (*drift.licence_warnings(state, live), *_emails(live, people, policy)),
    )


def _emails(live: LiveState, people: People, policy: Policy) -> tuple[str, ...]:
    warning = email_attribute_warning(live, people, policy.identity)
    return () if warning is None else (warning,)


@dataclass(frozen=True)
class Comparison:
    """Everything one comparison with a live LiteLLM found."""

    differences: tuple[drift.Difference, ...]
    findings: tuple[security.Finding, ...]
    unmanaged: tuple[drift.Unmanaged, ...]
    users: tuple[StrayUser, ...]
    keys: tuple[StrayKey, ...]
    strict: bool = False
    organizations_note: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def user_findings(self) -> tuple[StrayUser, ...]:
        """The stray users that are security findings."""
        return tuple(u for u in self.users if u.security)

    @property
    def unmanaged_users(self) -> tuple[StrayUser, ...]:
        """The stray users reported as not managed by the policy."""
        return tuple(u for u in self.users if not u.security)

    @property
    def counted(self) -> int:
        """How many results count as drift (what is not managed only under --strict)."""
        unmanaged = len(self.unmanaged) + len(self.unmanaged_users)
        return len(self.differences) + (unmanaged if self.strict else 0)

    def as_json(self) -> dict[str, Any]:
        """The JSON object `--json` prints; user findings are in `security` with kind user."""
        return {
            "security": [
                *security.as_dicts(self.findings),
                *(u.as_dict() for u in self.user_findings),
            ],
            "differences": drift.as_dicts(self.differences),
            "unmanaged": drift.unmanaged_dicts(self.unmanaged),
            "unmanaged_users": [u.as_dict() for u in self.unmanaged_users],
            "keys": stray_keys.as_dicts(self.keys),
            "organizations_note": self.organizations_note,
            "warnings": list(self.warnings),
        }

    def lines(self) -> list[str]:
        """The result for people: one section after another, a blank line between them."""
        users, unmanaged = self.user_findings, self.unmanaged_users
        sections = [security.describe(self.findings)]
        if users:
            heading = (
                f"Security: {len(users)} user(s) in LiteLLM whom the policy grants nothing; "
                "their keys keep working:"
            )
            sections.append([heading, *(f"  {u.describe()}" for u in users)])
        sections.append(drift.describe(self.differences, self.unmanaged, self.strict))
        if unmanaged:
            counted = (
                "counted as drift (--strict)"
                if self.strict
                else "reported, not drift without --strict"
            )
            heading = f"Users not managed by the policy: {len(unmanaged)} ({counted}):"
            sections.append([heading, *(f"  {u.describe()}" for u in unmanaged)])
        if self.keys:
            heading = (
                f"Keys whose owner the policy does not grant: {len(self.keys)} (listed with "
                "their owner, not counted on their own):"
            )
            sections.append([heading, *(f"  {k.describe()}" for k in self.keys)])
        lines: list[str] = []
        for section in filter(None, sections):
            lines += ["", *section] if lines else section
        return lines

    def status(self) -> str:
        """What was found, in one line for stderr."""
        found = f"{len(self.differences)} difference(s)" if self.differences else "no drift"
        security_count = len(self.findings) + len(self.user_findings)
        if security_count:
            found = f"{security_count} security finding(s); {found}"
        kinds = [drift.count_kinds(self.unmanaged)] if self.unmanaged else []
        if self.unmanaged_users:
            n = len(self.unmanaged_users)
            kinds.append(f"{n} user{'' if n == 1 else 's'}")
        if kinds:
            found += f"; {', '.join(kinds)} not managed by the policy"
        if self.keys:
            found += f"; {len(self.keys)} key(s) whose owner the policy does not grant"
        return found

    def failure(self) -> EntraformError | None:
        """The error that carries the exit code: 5 for security findings, 1 for drift."""
        users = self.user_findings
        unmanaged = len(self.unmanaged)
        advice = drift.advice(self.differences, unmanaged, self.strict, len(self.unmanaged_users))
        if self.findings or users:
            parts = []
            if self.findings:
                parts.append(
                    f"{len(self.findings)} member(s) in LiteLLM whom the policy leaves out: "
                    f"{security.ADVICE}"
                )
            if users:
                parts.append(
                    f"{len(users)} user(s) in LiteLLM whom the policy grants nothing: "
                    f"{USERS_ADVICE}"
                )
            also = f"; also {advice}" if self.counted else ""
            return SecurityFindings("security: " + "; and ".join(parts) + also)
        if self.counted:
            return ChangesFound(f"drift found ({self.counted}): {advice}")
        return None
