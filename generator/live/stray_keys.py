"""Stray keys: LiteLLM keys whose owner, a user or a team, is not one the policy grants.

A key is shown by its alias and LiteLLM's abbreviation of it (`key_name`, as LiteLLM's UI shows
it), with its owner and its last use where LiteLLM records one (`last_active`); its secret and
its hash are never read into entraform.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from generator.live.drift import nfc
from generator.live.holdings import LiveKey, LiveState
from generator.live.people import People
from generator.live.strays import Grants, StrayUser
from generator.state import DesiredState

TEAM_NOT_MANAGED = "team not managed by the policy"
NOT_IN_TEAM = "not a member of its team"
NO_OWNER = "no owner"
NOT_GRANTED = "user not granted"
KEY_DETAIL = {
    TEAM_NOT_MANAGED: "a key of a team the policy does not render (made at SSO login or by hand)",
    NOT_IN_TEAM: "a team key of a user whom the policy does not make a member of that team",
    NO_OWNER: "a key of neither a user nor a team, made for nobody (by an admin or the API)",
    NOT_GRANTED: "a personal key of a user the policy grants nothing",
}


@dataclass(frozen=True)
class StrayKey:
    """A key whose owner the policy does not grant, shown without its secret."""

    key: LiveKey
    owner: str  # "user", "team" or "none"
    reason: str  # a KEY_DETAIL reason, or the stray user's reason for a personal key
    # The owner as people recognise it: the user's UPN or email, or the team's alias.
    who: str = field(default="")

    @property
    def detail(self) -> str:
        """The reason in a sentence."""
        return KEY_DETAIL.get(self.reason, KEY_DETAIL[NOT_GRANTED] + f" ({self.reason})")

    def describe(self) -> str:
        """One line for people."""
        k = self.key
        name = f"key {k.alias!r}" if k.alias else "key without alias"
        if k.name:
            name += f" ({k.name})"
        if self.owner == "team":
            owner = f"of team {self.who!r} ({k.team_id})" if self.who else f"of team {k.team_id}"
            if k.user_id:
                owner += f", user {k.user_id}"
        elif self.owner == "user":
            owner = f"of {self.who} ({k.user_id})" if self.who else f"of user {k.user_id}"
            if k.team_id:
                owner += f" in team {k.team_id}"
        else:
            owner = "without owner"
        state = ["blocked"] if k.blocked else []
        state += [f"expires {k.expires}"] if k.expires else []
        state += [f"last used {k.last_active}" if k.last_active else "no use recorded"]
        return f"{name} {owner}: {self.reason}; {', '.join(state)}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the sentence people read; nothing that could be used as the key."""
        k = self.key
        return {
            "alias": k.alias,
            "name": k.name,
            "owner": self.owner,
            "user_id": k.user_id,
            "team_id": k.team_id,
            "who": self.who,
            "reason": self.reason,
            "detail": self.detail,
            "last_active": k.last_active,
            "expires": k.expires,
            "blocked": k.blocked,
            "message": self.describe(),
        }


def find_keys(
    state: DesiredState,
    live: LiveState,
    grants: Grants,
    users: tuple[StrayUser, ...],
    people: People,
    ignore_users: Collection[str] = (),
) -> tuple[StrayKey, ...]:
    """Every key whose owner the policy does not grant (the ignored users' apart), by owner."""
    ignored = {nfc(u) for u in ignore_users}
    members = {t.id: {nfc(m.user_id) for m in t.members} for t in state.teams}
    strays = {nfc(u.user_id): u for u in users}
    found = []
    for key in live.keys or ():
        uid = nfc(key.user_id) if key.user_id else None
        if uid in ignored:
            continue
        if key.team_id:
            if key.team_id not in members:
                found.append(StrayKey(key, "team", TEAM_NOT_MANAGED, _alias(live, key.team_id)))
            elif uid and uid not in members[key.team_id]:
                found.append(StrayKey(key, "user", NOT_IN_TEAM, _who(key, live, people)))
        elif uid:
            if uid not in grants.user_ids:
                stray = strays.get(uid)
                reason = stray.reason if stray else NOT_GRANTED
                found.append(StrayKey(key, "user", reason, _who(key, live, people)))
        else:
            found.append(StrayKey(key, "none", NO_OWNER))
    return tuple(found)


def _alias(live: LiveState, team_id: str) -> str:
    team = live.teams_by_id.get(team_id)
    return (team and team.alias) or ""


def _who(key: LiveKey, live: LiveState, people: People) -> str:
    user_id = key.user_id or ""
    there = live.users_by_id.get(nfc(user_id))
    email = there.user_email if there else None
    return people.name(people.key(user_id, email)) or email or ""


def as_dicts(keys: tuple[StrayKey, ...]) -> list[dict[str, Any]]:
    """JSON-ready stray keys."""
    return [k.as_dict() for k in keys]
