"""Reading a live LiteLLM proxy with read-only calls: its teams, organizations, members.

Follows the proxy management API as in LiteLLM's `team_endpoints.py` and
`organization_endpoints.py` (v1.108-era shapes): `/v2/team/list` pages at most 100 teams,
`/team/list` (older proxies) returns every team at once, `/team/info` and `/organization/info`
carry the members, and every `/organization/*` route answers 403 without an Enterprise licence.
`/user/list` pages at most 100 users, each with LiteLLM's count of their keys (`key_count`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from generator.live.client import ORGANIZATIONS_UNAVAILABLE, Client, LiteLLMError, StatusError
from generator.live.holdings import LiveMember, LiveOrganization, LiveState, LiveTeam, LiveUser
from generator.live.keys import read_keys
from generator.live.pages import Listing, read_all
from generator.state import DesiredState, Settings

TEAMS = Listing("/v2/team/list", "teams", "total", "team_id")
USERS = Listing("/user/list", "users", "total", "user_id")


def read_for(client: Client, state: DesiredState, *, everyone: bool = False) -> LiveState:
    """What LiteLLM holds of a desired state's teams and organizations (its users too).

    With `everyone`, every user and every key as well, whatever the state renders.
    """
    with client:
        return read_live(
            client,
            (t.id for t in state.teams),
            (o.id for o in state.organizations),
            users=everyone or bool(state.users),
            keys=everyone,
        )


def read_live(
    client: Client,
    team_ids: Iterable[str],
    organization_ids: Iterable[str],
    *,
    users: bool = False,
    keys: bool = False,
) -> LiveState:
    """Read every team, the members of the teams and organizations asked for, users and keys."""
    wanted = set(team_ids)
    try:
        listed = _list_teams(client)
        ids = sorted(t.id for t in listed if t.id in wanted)
        detailed = dict(zip(ids, client.each(lambda i: _team_info(client, i), ids), strict=True))
        organizations, note = _organizations(client, set(organization_ids))
        people = _users(client) if users else None
        held = read_keys(client) if keys else None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # One place for every answer of a shape this client does not know.
        raise LiteLLMError(
            f"LiteLLM answered in a shape entraform does not understand ({exc!r}); check that "
            "--litellm-url points at a LiteLLM proxy of version 1.108 or later"
        ) from None
    teams = [detailed.get(t.id, t) for t in listed]
    found = [t for t in teams if t is not None]  # None: deleted between the list and its read
    return LiveState(tuple(sorted(found, key=lambda t: t.id)), organizations, note, people, held)


def _users(client: Client) -> tuple[LiveUser, ...]:
    # Every user, not only the rendered ones: /user/list filters one id by substring.
    return tuple(sorted(_user(row) for row in read_all(client, USERS)))


def _user(row: Mapping[str, Any]) -> LiveUser:
    count = row.get("key_count")
    return LiveUser(
        str(row["user_id"]),
        row.get("user_email"),
        str(row.get("user_role") or ""),
        count if isinstance(count, int) and not isinstance(count, bool) else None,
        bool(row.get("sso_user_id")),
    )


def _list_teams(client: Client) -> list[LiveTeam]:
    try:
        return [_team(t) for t in read_all(client, TEAMS)]
    except StatusError as exc:
        if exc.status != 404:
            raise
    # Proxies older than /v2/team/list return every team from /team/list in one answer.
    data = client.get("/team/list")
    if not isinstance(data, list):
        raise LiteLLMError("GET /team/list did not answer a list of teams")
    return [_team(t) for t in data]


def _team_info(client: Client, team_id: str) -> LiveTeam | None:
    try:
        data = client.get("/team/info", {"team_id": team_id})
    except StatusError as exc:
        if exc.status == 404:  # deleted between the list and this read
            return None
        raise
    info = data.get("team_info") if isinstance(data, dict) else None
    if not isinstance(info, dict):
        raise LiteLLMError(f"GET /team/info for {team_id} did not answer {{team_info: ...}}")
    return _team({"team_id": team_id, **info})


def _organizations(
    client: Client, wanted: set[str]
) -> tuple[tuple[LiveOrganization, ...] | None, str | None]:
    try:
        listed = client.get("/organization/list")
        if not isinstance(listed, list):
            raise LiteLLMError("GET /organization/list did not answer a list of organizations")
        rows = {str(entry["organization_id"]): entry for entry in listed}
        # Only /organization/info carries the budget row on every version.
        ids = sorted(wanted & rows.keys())
        infos = client.each(lambda i: client.get("/organization/info", {"organization_id": i}), ids)
        rows.update(zip(ids, infos, strict=True))
    except StatusError as exc:
        if exc.status == 403:
            return None, ORGANIZATIONS_UNAVAILABLE
        if exc.status == 404:
            return None, "this LiteLLM has no /organization routes; organizations were not read"
        raise
    organizations = [_organization(row) for row in rows.values()]
    return tuple(sorted(organizations, key=lambda o: o.id)), None


def _team(data: Mapping[str, Any]) -> LiveTeam:
    try:
        members = _members(data.get("members_with_roles"), "role")
        return LiveTeam(
            id=str(data["team_id"]),
            alias=data.get("team_alias"),
            organization_id=data.get("organization_id"),
            settings=_settings(data, data),
            members=members,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LiteLLMError(f"a team from LiteLLM is not understood ({exc!r})") from None


def _organization(data: Mapping[str, Any]) -> LiveOrganization:
    try:
        # Budgets and limits live in the organization's budget row, models on the row itself.
        budget = data.get("litellm_budget_table") or data
        members = _members(data.get("members"), "user_role")
        return LiveOrganization(
            id=str(data["organization_id"]),
            alias=data.get("organization_alias"),
            settings=_settings(data, budget),
            members=members,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LiteLLMError(f"an organization from LiteLLM is not understood ({exc!r})") from None


def _members(entries: Any, role_key: str) -> tuple[LiveMember, ...]:
    # A member added by email alone has no user_id yet: nothing to import or compare.
    members = [_member(m, role_key) for m in entries or () if m.get("user_id")]
    # The dataclass order by a key tuple: compared in C, not through LiveMember.__lt__.
    return tuple(sorted(members, key=lambda m: (m.user_id, m.role, m.user_email)))


def _member(data: Mapping[str, Any], role_key: str) -> LiveMember:
    user = data.get("user")
    email = data.get("user_email") or (user.get("user_email") if isinstance(user, dict) else None)
    return LiveMember(str(data["user_id"]), str(data.get(role_key) or ""), email)


def _settings(row: Mapping[str, Any], budget: Mapping[str, Any]) -> Settings:
    # LiteLLM keeps budgets and limits in its budget table, models and metadata on the row.
    models = row.get("models")
    metadata = row.get("metadata")
    return Settings.from_mapping(
        {
            **budget,
            "models": None if models is None else [str(m) for m in models],
            "metadata": None
            if not isinstance(metadata, dict)
            else {str(k): _text(v) for k, v in metadata.items()},
        }
    )


def _text(value: Any) -> str:
    # Metadata LiteLLM adds itself may hold numbers or objects; compare them as JSON text.
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
