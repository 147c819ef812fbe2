"""Security findings: members LiteLLM has in a team or organization whom the policy leaves out.

LiteLLM's SSO login adds people to teams whatever the policy says, and Terraform's member
resources never notice. Each such member is named with the reason the policy leaves them out,
taken from the directory the run read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from generator import mapping
from generator.directory import Directory
from generator.live.drift import Difference
from generator.live.people import People
from generator.policy import Identity

GUEST_EXCLUDED = "guest excluded"
DISABLED = "disabled"
NO_EMAIL = "no usable email"
ADMIN_ONLY = "admin-only group member"
NOT_MEMBER = "not a member"
NOT_SELECTED = "not selected"

# What the mapping called a person it left out, as a finding names it.
EXCLUDED = {
    mapping.GUEST: GUEST_EXCLUDED,
    mapping.DISABLED: DISABLED,
    mapping.NO_IDENTITY: NO_EMAIL,
    mapping.UNKNOWN: NOT_SELECTED,
}
DETAIL = {
    GUEST_EXCLUDED: mapping.WHY[mapping.GUEST],
    DISABLED: mapping.WHY[mapping.DISABLED],
    NO_EMAIL: mapping.WHY[mapping.NO_IDENTITY],
    ADMIN_ONLY: "only in a group the policy uses for admins, which grants no membership",
    NOT_MEMBER: "not a member of this group in Entra (left it, or was added outside Terraform)",
    NOT_SELECTED: "in no group the policy selects",
}
WHAT = "member extra"
ADVICE = (
    "remove them in LiteLLM, and keep login from adding them back: an SSO login adds each user "
    "to every team whose id is one of their direct groups, so use `ids: {scheme: prefixed}` or "
    "change their groups in Entra (see docs/sso.md)"
)


@dataclass(frozen=True, order=True)
class Finding:
    """A member LiteLLM has that the policy leaves out, and why."""

    kind: str
    object_id: str
    subject: str  # the LiteLLM user id
    reason: str
    name: str = field(compare=False)
    # The Entra user's UPN or mail when the directory knows them, else the email LiteLLM holds.
    who: str = field(default="", compare=False)

    @property
    def detail(self) -> str:
        """The reason in a sentence."""
        return DETAIL[self.reason]

    def describe(self) -> str:
        """One line for people."""
        member = self.subject if self.who in ("", self.subject) else f"{self.who} ({self.subject})"
        return (
            f"{self.kind} {self.name!r} ({self.object_id}): {member} is a member in LiteLLM but "
            f"the policy leaves them out: {self.reason} ({self.detail})"
        )


def separate(
    differences: Iterable[Difference],
    outcome: mapping.Outcome,
    directory: Directory,
    identity: Identity,
) -> tuple[tuple[Difference, ...], tuple[Finding, ...]]:
    """Split drift into ordinary differences and security findings (members the policy denies)."""
    ordinary: list[Difference] = []
    extras: list[Difference] = []
    for difference in differences:
        (extras if difference.what == WHAT else ordinary).append(difference)
    if not extras:
        return tuple(ordinary), ()
    reasons = _Reasons(outcome, directory, identity)
    found = [
        Finding(d.kind, d.object_id, d.subject, reasons.of(d), d.name, reasons.who(d))
        for d in extras
    ]
    return tuple(ordinary), tuple(sorted(found))


class _Reasons:
    """Finds the Entra user behind a LiteLLM member and why the policy leaves them out."""

    def __init__(self, outcome: mapping.Outcome, directory: Directory, identity: Identity) -> None:
        self.findings = outcome.findings
        self.people = People(directory, identity)

    def who(self, extra: Difference) -> str:
        return self.people.name(self._key(extra)) or extra.live

    def of(self, extra: Difference) -> str:
        key = self._key(extra)
        if key is None:
            return NOT_SELECTED
        left_out = self.findings.left_out.get((extra.kind, extra.object_id), {})
        if key in left_out:
            return EXCLUDED[left_out[key]]
        return ADMIN_ONLY if key in self.findings.admin_only else NOT_MEMBER

    def _key(self, extra: Difference) -> str | None:
        return self.people.key(extra.subject, extra.live)


def describe(findings: tuple[Finding, ...]) -> list[str]:
    """The findings as a headed section of lines (empty without findings)."""
    if not findings:
        return []
    heading = f"Security: {len(findings)} member(s) in LiteLLM whom the policy leaves out:"
    return [heading, *(f"  {f.describe()}" for f in findings)]


def as_dicts(findings: tuple[Finding, ...]) -> list[dict[str, str]]:
    """JSON-ready findings, with the sentences people read."""
    return [{**vars(f), "detail": f.detail, "message": f.describe()} for f in findings]
