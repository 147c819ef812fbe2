"""Stray users: LiteLLM users the policy grants nothing, with their keys and the reason.

A user with a personal key needs no team to call models, so comparing teams alone misses them.
The reason comes from the directory the run read, from LiteLLM's record of how the user was
made (only its SSO login sets `sso_user_id`), and from the output folder's record of the users
entraform rendered. With `users.manage` every stray user is a security finding; without it only
a disabled account or one gone from the tenant is, and the rest are reported as unmanaged.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from generator import mapping
from generator.live import security
from generator.live.drift import nfc
from generator.live.holdings import LiveState, LiveUser
from generator.live.people import People, domain
from generator.live.security import ADMIN_ONLY, DISABLED, EXCLUDED, NOT_SELECTED
from generator.policy import Identity
from generator.state import ADMIN_ROLES, DesiredState, Organization, Team

LEFT = "left the tenant"
OUTSIDE = "created outside entraform"
SIGNED_IN = "made at sign-in"
NOT_APPLIED = "offboarding not applied"
OTHER_ID = "granted under another id"
# A stray user's reasons: a member finding's, told for keys that work without a team.
DETAIL = {
    **security.DETAIL,
    LEFT: "no user of the tenant read has this id or email, yet the account was the tenant's "
    "(LiteLLM's SSO made it, its email is in the tenant's domain, or the output folder records "
    "it): a leaver. Read from Graph, a person in none of the groups the policy reads looks the "
    "same",
    OUTSIDE: "no user of the tenant read has this id or email and nothing ties it to the tenant "
    "(not made at an SSO sign-in, no email in the tenant's domains): made by hand or through "
    "LiteLLM's API",
    DISABLED: "the account is disabled in Entra: they cannot sign in, but their keys work",
    SIGNED_IN: "in the tenant but in no group the policy selects, and LiteLLM's SSO made this "
    "user when they signed in: how a person entraform offboarded comes back (a first sign-in "
    "looks the same; LiteLLM keeps no record of deleted users)",
    NOT_APPLIED: "the output folder still renders this user and the policy no longer does: "
    "generate, review and apply to delete them",
    NOT_SELECTED: "in the tenant but in no group the policy selects",
    OTHER_ID: "the policy grants this person under another LiteLLM user id: a second user for "
    "the same person (LiteLLM's SSO id settings differ from identity in the policy)",
}
USERS_ADVICE = (
    "delete them in LiteLLM (POST /user/delete with a proxy admin key; it deletes their keys "
    "too), and keep LiteLLM's SSO from making them again: require assignment on LiteLLM's "
    "enterprise application in Entra, with only the groups the policy selects assigned (see "
    "docs/sso.md)"
)
# Without users.manage entraform renders no users; these still mean keys nobody should hold.
GONE = frozenset({DISABLED, LEFT})


@dataclass(frozen=True, order=True)
class StrayUser:
    """A LiteLLM user the policy grants nothing, how many keys they hold, and why."""

    user_id: str
    reason: str = field(compare=False)
    role: str = field(compare=False)
    keys: int = field(compare=False)
    # The Entra UPN or mail when the directory knows them, else the email LiteLLM holds.
    who: str = field(default="", compare=False)
    security: bool = field(default=False, compare=False)

    @property
    def detail(self) -> str:
        """The reason in a sentence."""
        return DETAIL[self.reason]

    @property
    def shown(self) -> str:
        """The user as people recognise them."""
        return self.user_id if self.who in ("", self.user_id) else f"{self.who} ({self.user_id})"

    def describe(self) -> str:
        """One line for people."""
        line = (
            f"user {self.shown}, {self.role or 'no role'}, {self.keys} key(s): not granted by "
            f"the policy: {self.reason} ({self.detail})"
        )
        if self.role in ADMIN_ROLES:
            line += (
                f"; a {self.role} whom the policy does not name: entraform renders no user for "
                "them, so no apply demotes or deletes them; name them in users.admins or take "
                "the role away in LiteLLM"
            )
        return line

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, in the shape of a security finding, with the sentences people read."""
        return {
            "kind": "user",
            "object_id": self.user_id,
            "subject": self.user_id,
            "name": self.who or self.user_id,
            "who": self.who,
            "role": self.role,
            "keys": self.keys,
            "reason": self.reason,
            "detail": self.detail,
            "message": self.describe(),
        }


@dataclass(frozen=True)
class Grants:
    """Whom the policy grants a LiteLLM user: by LiteLLM user id (NFC) and by Entra object id."""

    user_ids: frozenset[str]
    keys: frozenset[str]
    manage: bool

    @classmethod
    def of(cls, state: DesiredState, manage: bool) -> Grants:
        """With users.manage the users rendered; without, everyone with a membership."""
        scopes: tuple[Organization | Team, ...] = (*state.organizations, *state.teams)
        if manage:
            pairs = [(u.user_id, u.key) for u in state.users]
        else:
            pairs = [(m.user_id, m.key) for scope in scopes for m in scope.members]
        ids = frozenset(nfc(user_id) for user_id, _ in pairs)
        return cls(ids, frozenset(key for _, key in pairs), manage)


def find_users(
    live: LiveState,
    grants: Grants,
    outcome: mapping.Outcome,
    people: People,
    identity: Identity,
    *,
    recorded: Collection[str] = (),
    ignore_users: Collection[str] = (),
) -> tuple[StrayUser, ...]:
    """Every LiteLLM user the policy grants nothing (the ignored users apart), sorted by id."""
    ignored = {nfc(u) for u in ignore_users}
    kept = {nfc(u) for u in recorded}
    domains = people.domains()
    held: dict[str, int] = {}
    for key in live.keys or ():
        if key.user_id:
            held[nfc(key.user_id)] = held.get(nfc(key.user_id), 0) + 1
    found = []
    for user in live.users or ():
        uid = nfc(user.user_id)
        if uid in grants.user_ids or uid in ignored:
            continue
        person = people.key(user.user_id, user.user_email)
        reason = _reason(user, person, people, grants, outcome, identity, kept, domains)
        count = user.key_count if user.key_count is not None else held.get(uid, 0)
        who = people.name(person) or user.user_email or ""
        security = grants.manage or reason in GONE
        found.append(StrayUser(user.user_id, reason, user.role, count, who, security))
    return tuple(sorted(found))


def _reason(
    user: LiveUser,
    key: str | None,
    people: People,
    grants: Grants,
    outcome: mapping.Outcome,
    identity: Identity,
    recorded: set[str],
    domains: frozenset[str],
) -> str:
    person = people.user(key)
    uid = nfc(user.user_id)
    if person is None:
        tied = uid in recorded or user.made_at_sign_in or domain(user.user_email) in domains
        return LEFT if tied else OUTSIDE
    if person.account_enabled is False:
        return DISABLED  # whatever identity.include_disabled says: they cannot sign in
    excluded = mapping.excluded_because(person, identity)
    if excluded is not None:
        return EXCLUDED[excluded]
    if key in grants.keys:
        return OTHER_ID
    return _unselected(user, key in outcome.findings.admin_only, uid in recorded)


def _unselected(user: LiveUser, admin_only: bool, recorded: bool) -> str:
    # A person of the tenant in no selected group: what made their LiteLLM user tells more.
    if admin_only:
        return ADMIN_ONLY
    if recorded:
        return NOT_APPLIED
    return SIGNED_IN if user.made_at_sign_in else NOT_SELECTED
