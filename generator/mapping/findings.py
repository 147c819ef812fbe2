"""What mapping found: the desired state, who was left out and why, which rule chose what."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from generator.directory import User
from generator.mapping.selection import Match
from generator.policy import Identity, Rule
from generator.state import DesiredState

GRAPH_ATTRIBUTES = {"id": "id", "userPrincipalName": "user_principal_name", "mail": "mail"}
# Why a user the policy would have rendered was left out (summary headings, security findings).
UNKNOWN = "unknown user (not in the directory)"
DISABLED = "disabled account"
GUEST = "guest"
NO_IDENTITY = "no usable user id or email"
# Why the identity settings leave a person out, said the same in explain and in findings.
WHY = {
    DISABLED: "the account is disabled in Entra, and identity.include_disabled is false",
    GUEST: "a guest account, and identity.include_guests is false",
    NO_IDENTITY: "Entra gives this user no usable user id or email",
}


@dataclass(frozen=True, order=True)
class LeftOut:
    """A user the policy would have rendered but left out, as a reviewer recognises them."""

    name: str
    id: str


@dataclass(frozen=True)
class Findings:
    """What the mapping noticed: warnings for the summary, and what it left out."""

    warnings: tuple[str, ...] = ()
    # Non-user members per kind, each object counted once however many groups reach it.
    skipped_members: Mapping[str, int] = field(default_factory=dict)
    excluded_users: Mapping[str, tuple[LeftOut, ...]] = field(default_factory=dict)
    # Per (kind, LiteLLM id): the users its groups would grant, left out, with the reason.
    left_out: Mapping[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)
    # Users reached only through admin groups: members of no selected group.
    admin_only: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Provenance:
    """Which rule selected each group, and the admin group each rule found for a group."""

    organizations: Mapping[str, Match] = field(default_factory=dict)
    teams: Mapping[str, Match] = field(default_factory=dict)
    # Keyed by rule too: one group can be an organization and a team with different admins.
    admin_groups: Mapping[tuple[Rule, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """The desired state and what was noticed while building it."""

    state: DesiredState
    findings: Findings
    provenance: Provenance = field(default_factory=Provenance)


def excluded_because(user: User, identity: Identity) -> str | None:
    """Why the identity settings leave this user out of every team and organization, or None."""
    if user.account_enabled is False and not identity.include_disabled:
        return DISABLED
    if user.is_guest and not identity.include_guests:
        return GUEST
    if not attribute(user, identity.user_id) or not email(user, identity.user_email):
        return NO_IDENTITY
    return None


def attribute(user: User, name: str) -> str | None:
    """A user's attribute by its Graph name (id, userPrincipalName, mail)."""
    value: str | None = getattr(user, GRAPH_ATTRIBUTES[name])
    return value


def email(user: User, preferred: str) -> str | None:
    """A user's email as LiteLLM's SSO finds it: the preferred attribute, else the other."""
    # LiteLLM's SSO falls back from userPrincipalName to mail; mirror it in both directions.
    fallback = "mail" if preferred == "userPrincipalName" else "userPrincipalName"
    return attribute(user, preferred) or attribute(user, fallback)
