"""Reading a live LiteLLM proxy with read-only calls: its teams, organizations and members.

Follows the proxy management API as in LiteLLM's `team_endpoints.py` and
`organization_endpoints.py` (v1.108-era shapes): `/v2/team/list` pages at most 100 teams,
`/team/list` (older proxies) returns every team at once, `/team/info` and `/organization/info`
carry the members, and every `/organization/*` route answers 403 without an Enterprise licence.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.errors import ConfigError, SourceError
from generator.state import Settings

PAGE_SIZE = 100  # the most /v2/team/list accepts (page_size le=100)
MAX_PAGES = 10_000  # a server that never says it is done must not loop forever
TIMEOUT = 30.0
ORGANIZATIONS_UNAVAILABLE = (
    "LiteLLM refused /organization/list (403): organizations need a LiteLLM Enterprise "
    "licence (or the key lacks permission). Organizations and their members were not read; "
    "set LITELLM_LICENSE on the proxy and use a proxy admin key, or render teams only"
)


class LiteLLMError(SourceError):
    """Reading LiteLLM failed; the message says what to check."""


class _StatusError(LiteLLMError):
    """LiteLLM answered with an HTTP error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, order=True)
class LiveMember:
    """A user in a live team or organization, as LiteLLM reports it."""

    user_id: str
    role: str
    user_email: str | None = None


@dataclass(frozen=True)
class LiveTeam:
    """A team LiteLLM has."""

    id: str
    alias: str | None
    organization_id: str | None = None
    settings: Settings = field(default_factory=Settings)
    members: tuple[LiveMember, ...] = ()


@dataclass(frozen=True)
class LiveOrganization:
    """An organization LiteLLM has."""

    id: str
    alias: str | None
    settings: Settings = field(default_factory=Settings)
    members: tuple[LiveMember, ...] = ()


@dataclass(frozen=True)
class LiveState:
    """What LiteLLM holds; organizations is None when they could not be read."""

    teams: tuple[LiveTeam, ...] = ()
    organizations: tuple[LiveOrganization, ...] | None = ()
    organizations_note: str | None = None

    @property
    def teams_by_id(self) -> Mapping[str, LiveTeam]:
        """Teams keyed by id."""
        return {t.id: t for t in self.teams}

    @property
    def organizations_by_id(self) -> Mapping[str, LiveOrganization]:
        """Organizations keyed by id (empty when unavailable)."""
        return {o.id: o for o in self.organizations or ()}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would resend the Authorization header to wherever a redirect points.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Client:
    """GET-only JSON access to one LiteLLM proxy; the key is never part of a message."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = TIMEOUT) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"--litellm-url {base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET one route and return its JSON body."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(
            self.base_url + path + query,
            headers={"Authorization": f"Bearer {self._key}", "Accept": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            raise _StatusError(exc.code, self._status_message(exc, path)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise LiteLLMError(
                f"cannot reach LiteLLM at {self.base_url} ({reason}); check --litellm-url "
                "(LITELLM_API_BASE) and that the proxy is running"
            ) from None
        try:
            return json.loads(body)
        except ValueError:
            raise LiteLLMError(
                f"GET {path} did not answer JSON; is {self.base_url} a LiteLLM proxy?"
            ) from None

    def _status_message(self, exc: urllib.error.HTTPError, path: str) -> str:
        code = exc.code
        detail = self._redact(_server_message(exc.read()))
        said = f": {detail}" if detail else ""
        if 300 <= code < 400:
            return (
                f"LiteLLM answered GET {path} with a redirect ({code}) to "
                f"{exc.headers.get('Location', '?')}; give the final URL as --litellm-url"
            )
        if code == 401:
            return f"LiteLLM rejected the key (401) on GET {path}; check LITELLM_API_KEY{said}"
        if code == 403:
            return f"the key may not read GET {path} (403); use a proxy admin key{said}"
        if code == 404:
            return f"GET {path} not found (404){said}"
        return f"LiteLLM failed on GET {path} ({code}){said}"

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text


def _server_message(body: bytes) -> str:
    # LiteLLM answers {"error": {"message": ...}} (ProxyException) or {"detail": ...}.
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:300]
    if isinstance(data, dict):
        inner = data.get("error", data.get("detail"))
        if isinstance(inner, dict):
            inner = inner.get("message", inner.get("error", inner))
        if inner is not None:
            return str(inner)[:300]
    return str(data)[:300]


def read_live(
    client: Client, team_ids: Iterable[str], organization_ids: Iterable[str]
) -> LiveState:
    """Read every team, and the members of the teams and organizations asked for."""
    wanted = set(team_ids)
    teams = []
    for listed in _list_teams(client):
        team = _team_info(client, listed.id) if listed.id in wanted else listed
        if team is not None:
            teams.append(team)
    organizations, note = _organizations(client, set(organization_ids))
    return LiveState(tuple(sorted(teams, key=lambda t: t.id)), organizations, note)


def _list_teams(client: Client) -> list[LiveTeam]:
    try:
        return [_team(t) for t in _team_pages(client)]
    except _StatusError as exc:
        if exc.status != 404:
            raise
    # Proxies older than /v2/team/list return every team from /team/list in one answer.
    data = client.get("/team/list")
    if not isinstance(data, list):
        raise LiteLLMError("GET /team/list did not answer a list of teams")
    return [_team(t) for t in data]


def _team_pages(client: Client) -> list[Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    total: int | None = None
    for page in range(1, MAX_PAGES + 1):
        # Sorted by id: the default (newest first) shifts pages when a login creates a team.
        params: dict[str, str | int] = {
            "page": page,
            "page_size": PAGE_SIZE,
            "sort_by": "team_id",
            "sort_order": "asc",
        }
        data = client.get("/v2/team/list", params)
        if not isinstance(data, dict) or not isinstance(data.get("teams"), list):
            raise LiteLLMError("GET /v2/team/list did not answer {teams: [...]}")
        for team in data["teams"]:
            found[str(team["team_id"])] = team
        total = data.get("total") if isinstance(data.get("total"), int) else total
        if not data["teams"] or page >= int(data.get("total_pages") or 0):
            break
    if total is not None and len(found) < total:
        raise LiteLLMError(
            f"the team list ended early ({len(found)} of {total} teams); teams changed while "
            "reading, run again"
        )
    return list(found.values())


def _team_info(client: Client, team_id: str) -> LiveTeam | None:
    try:
        data = client.get("/team/info", {"team_id": team_id})
    except _StatusError as exc:
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
        organizations = []
        for entry in listed:
            org_id = str(entry["organization_id"])
            # Only /organization/info carries the budget row on every version.
            if org_id in wanted:
                organizations.append(
                    _organization(client.get("/organization/info", {"organization_id": org_id}))
                )
            else:
                organizations.append(_organization(entry))
    except _StatusError as exc:
        if exc.status == 403:
            return None, ORGANIZATIONS_UNAVAILABLE
        if exc.status == 404:
            return None, "this LiteLLM has no /organization routes; organizations were not read"
        raise
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
    except (KeyError, TypeError, ValueError) as exc:
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
    except (KeyError, TypeError, ValueError) as exc:
        raise LiteLLMError(f"an organization from LiteLLM is not understood ({exc!r})") from None


def _members(entries: Any, role_key: str) -> tuple[LiveMember, ...]:
    # A member added by email alone has no user_id yet: nothing to import or compare.
    return tuple(sorted(_member(m, role_key) for m in entries or () if m.get("user_id")))


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
