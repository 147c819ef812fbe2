"""Reading a live LiteLLM proxy with read-only calls: its teams, organizations and members.

Follows the proxy management API as in LiteLLM's `team_endpoints.py` and
`organization_endpoints.py` (v1.108-era shapes): `/v2/team/list` pages at most 100 teams,
`/team/list` (older proxies) returns every team at once, `/team/info` and `/organization/info`
carry the members, and every `/organization/*` route answers 403 without an Enterprise licence.

Threads sharing one httpx.Client, not asyncio: the reads only wait on the network, and adopt and
drift stay plain synchronous code. At most `concurrency` requests are out at once; a 429 or 503
holds every worker for its Retry-After, under one total wait budget (generator.backoff, as the
Graph reader does); any other error status is final.
"""

from __future__ import annotations

import json
import threading
import time
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cached_property
from types import TracebackType
from typing import Any, TypeVar

import httpx

from generator.backoff import WaitBudget, WaitExhausted, retry_after
from generator.errors import ConfigError, SourceError
from generator.state import Settings

PAGE_SIZE = 100  # the most /v2/team/list accepts (page_size le=100)
MAX_PAGES = 10_000  # a server that never says it is done must not loop forever
TIMEOUT = 30.0
CONCURRENCY = 16  # requests out at once: enough to hide latency, few enough to spare the proxy
MAX_TOTAL_WAIT = 300.0  # seconds a run may be held back by Retry-After in all
RETRYABLE = frozenset({429, 502, 503, 504})  # the proxy, or what stands before it, is busy
ORGANIZATIONS_UNAVAILABLE = (
    "LiteLLM refused /organization/list (403): organizations need a LiteLLM Enterprise "
    "licence (or the key lacks permission). Organizations and their members were not read; "
    "set LITELLM_LICENSE on the proxy and use a proxy admin key, or render teams only"
)

T = TypeVar("T")
R = TypeVar("R")


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


@dataclass(frozen=True, order=True)
class LiveUser:
    """A user LiteLLM has (from /user/list)."""

    user_id: str
    user_email: str | None
    role: str


@dataclass(frozen=True)
class LiveState:
    """What LiteLLM holds; organizations is None when unreadable, users when not read."""

    teams: tuple[LiveTeam, ...] = ()
    organizations: tuple[LiveOrganization, ...] | None = ()
    organizations_note: str | None = None
    users: tuple[LiveUser, ...] | None = None

    @cached_property
    def users_by_id(self) -> Mapping[str, LiveUser]:
        """Users keyed by user id in NFC, as Terraform sends ids (empty when not read)."""
        return {unicodedata.normalize("NFC", u.user_id): u for u in self.users or ()}

    @cached_property
    def teams_by_id(self) -> Mapping[str, LiveTeam]:
        """Teams keyed by id."""
        return {t.id: t for t in self.teams}

    @cached_property
    def organizations_by_id(self) -> Mapping[str, LiveOrganization]:
        """Organizations keyed by id (empty when unavailable)."""
        return {o.id: o for o in self.organizations or ()}


class _Gate:
    """One pause for every worker: a Retry-After holds all requests, not only the one answered."""

    def __init__(self, budget: WaitBudget) -> None:
        self._budget = budget
        self._lock = threading.Lock()
        self._not_before = 0.0

    def wait(self) -> None:
        """Return once no pause is in force."""
        while True:
            with self._lock:
                delay = self._not_before - time.monotonic()
            if delay <= 0:
                return
            time.sleep(delay)

    def pause(self, delay: float) -> None:
        """Hold everyone for `delay` s; raise WaitExhausted when the budget does not allow it."""
        with self._lock:
            now = time.monotonic()
            until = now + delay
            if until > self._not_before:  # concurrent answers for the same pause count once
                self._budget.hold(now, until)
                self._not_before = until


class Client:
    """GET-only JSON access to one LiteLLM proxy; the key is never part of a message."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = TIMEOUT,
        concurrency: int = CONCURRENCY,
        max_total_wait: float = MAX_TOTAL_WAIT,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"--litellm-url {base_url!r} is not an http(s) URL")
        if concurrency < 1:
            raise ConfigError(f"--litellm-concurrency must be at least 1, not {concurrency}")
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self._key = api_key
        self._gate = _Gate(WaitBudget(max_total_wait))
        # No redirects: following one would send the key to wherever it points.
        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET one route and return its JSON body, waiting as long as LiteLLM asks to."""
        attempt = 0
        while True:
            self._gate.wait()
            response = self._send(path, params)
            if response.status_code not in RETRYABLE:
                break
            # No attempt count: while LiteLLM says when to come back, only the wait budget ends it.
            attempt += 1
            try:
                self._gate.pause(retry_after(response.headers, attempt))
            except WaitExhausted as exc:
                raise LiteLLMError(
                    f"LiteLLM kept answering GET {path} with {response.status_code}: {exc}; "
                    "try again when the proxy is less busy, or lower --litellm-concurrency"
                ) from None
        if not response.is_success:
            raise _StatusError(response.status_code, self._status_message(response, path))
        try:
            return response.json()
        except ValueError:
            raise LiteLLMError(
                f"GET {path} did not answer JSON; is {self.base_url} a LiteLLM proxy?"
            ) from None

    def each(self, read: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`read` of every item, at most `concurrency` at a time, in the items' order."""
        todo = list(items)
        if self.concurrency == 1 or len(todo) <= 1:
            return [read(item) for item in todo]
        workers = min(self.concurrency, len(todo))
        with ThreadPoolExecutor(workers, thread_name_prefix="litellm") as pool:
            futures = [pool.submit(read, item) for item in todo]
            try:
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                failed = next((f.exception() for f in done if f.exception() is not None), None)
                if failed is not None:
                    raise failed
                return [f.result() for f in futures]
            finally:
                # A failure (or Ctrl-C) ends the read: reads not started yet never go out.
                for future in futures:
                    future.cancel()

    def _send(self, path: str, params: Mapping[str, str | int] | None) -> httpx.Response:
        try:
            return self._http.get(self.base_url + path, params=params)
        except httpx.HTTPError as exc:
            raise LiteLLMError(
                f"cannot reach LiteLLM at {self.base_url} ({exc}); check --litellm-url "
                "(LITELLM_API_BASE) and that the proxy is running"
            ) from None

    def _status_message(self, response: httpx.Response, path: str) -> str:
        code = response.status_code
        detail = self._redact(_server_message(response.content))
        said = f": {detail}" if detail else ""
        if 300 <= code < 400:
            return (
                f"LiteLLM answered GET {path} with a redirect ({code}) to "
                f"{response.headers.get('Location', '?')}; give the final URL as --litellm-url"
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
    client: Client,
    team_ids: Iterable[str],
    organization_ids: Iterable[str],
    *,
    users: bool = False,
) -> LiveState:
    """Read every team, the members of the teams and organizations asked for, and users."""
    wanted = set(team_ids)
    try:
        listed = _list_teams(client)
        ids = sorted(t.id for t in listed if t.id in wanted)
        detailed = dict(zip(ids, client.each(lambda i: _team_info(client, i), ids), strict=True))
        organizations, note = _organizations(client, set(organization_ids))
        people = _users(client) if users else None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # One place for every answer of a shape this client does not know.
        raise LiteLLMError(
            f"LiteLLM answered in a shape entraform does not understand ({exc!r}); check that "
            "--litellm-url points at a LiteLLM proxy of version 1.108 or later"
        ) from None
    teams = [detailed.get(t.id, t) for t in listed]
    found = [t for t in teams if t is not None]  # None: deleted between the list and its read
    return LiveState(tuple(sorted(found, key=lambda t: t.id)), organizations, note, people)


def _users(client: Client) -> tuple[LiveUser, ...]:
    # Every user, not only the rendered ones: /user/list filters one id by substring.
    first = _user_page(client, 1)
    pages = min(int(first.get("total_pages") or 0), MAX_PAGES) if first["users"] else 0
    answers = [first, *client.each(lambda page: _user_page(client, page), range(2, pages + 1))]
    found = {
        str(u["user_id"]): LiveUser(
            str(u["user_id"]), u.get("user_email"), str(u.get("user_role") or "")
        )
        for data in answers
        for u in data["users"]
    }
    totals = [data["total"] for data in answers if isinstance(data.get("total"), int)]
    if totals and len(found) < max(totals):
        raise LiteLLMError(
            f"the user list ended early ({len(found)} of {max(totals)} users); users changed "
            "while reading, run again"
        )
    return tuple(sorted(found.values()))


def _user_page(client: Client, page: int) -> Mapping[str, Any]:
    # Sorted by id: the default (newest first) shifts pages when a login creates a user.
    params: dict[str, str | int] = {
        "page": page,
        "page_size": PAGE_SIZE,
        "sort_by": "user_id",
        "sort_order": "asc",
    }
    data = client.get("/user/list", params)
    if not isinstance(data, dict) or not isinstance(data.get("users"), list):
        raise LiteLLMError("GET /user/list did not answer {users: [...]}")
    return data


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
    first = _team_page(client, 1)
    if len(first["teams"]) >= PAGE_SIZE and not first.get("total_pages"):
        raise LiteLLMError("GET /v2/team/list answered a full page without total_pages")
    pages = min(int(first.get("total_pages") or 0), MAX_PAGES) if first["teams"] else 0
    answers = [first, *client.each(lambda page: _team_page(client, page), range(2, pages + 1))]
    found: dict[str, Mapping[str, Any]] = {}
    for data in answers:
        for team in data["teams"]:
            found[str(team["team_id"])] = team
    totals = [data["total"] for data in answers if isinstance(data.get("total"), int)]
    if totals and len(found) < max(totals):
        raise LiteLLMError(
            f"the team list ended early ({len(found)} of {max(totals)} teams); teams changed "
            "while reading, run again"
        )
    return list(found.values())


def _team_page(client: Client, page: int) -> Mapping[str, Any]:
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
    return data


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
        rows = {str(entry["organization_id"]): entry for entry in listed}
        # Only /organization/info carries the budget row on every version.
        ids = sorted(wanted & rows.keys())
        infos = client.each(lambda i: client.get("/organization/info", {"organization_id": i}), ids)
        rows.update(zip(ids, infos, strict=True))
    except _StatusError as exc:
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
