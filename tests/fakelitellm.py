"""A fake LiteLLM proxy over real HTTP on 127.0.0.1: its read routes and the writes with rules.

Response shapes follow LiteLLM's proxy source (BerriAI/litellm, v1.108-era
`litellm/proxy/management_endpoints/team_endpoints.py` and `organization_endpoints.py`):

- GET /v2/team/list?page&page_size&sort_by&sort_order → {teams, total, page, page_size,
  total_pages}; page_size is 1..100 (422 otherwise); default order is newest first.
- GET /team/list → a plain list of every team (no paging), each with team_memberships and keys.
- GET /team/info?team_id → {team_id, team_info: <team row with members_with_roles>, keys,
  team_memberships}; an unknown team is a 404 ProxyException.
- GET /organization/list → a plain list of organizations with members and teams.
- GET /organization/info?organization_id → the organization with litellm_budget_table (where
  its budgets and limits live), members (user_role, user_email) and teams; unknown → 404.
- POST /team/member_add {team_id, member: {user_id, user_email, role} | [...]} → the team;
  role must be admin or user (422 otherwise); the user must not be in the team yet (400).
- POST /team/update {team_id, organization_id, ...}: a move into an organization is checked
  against the team's *current* models, max_budget, tpm_limit and rpm_limit (403 when they do
  not fit); with the proxy admin key, team members missing from the organization are added
  to it as internal_user instead of refused (LiteLLM 1.108.7, observed).
- Without an Enterprise licence (`licensed=False`) every /organization/* route answers 403,
  reads too, and a team member with role admin is refused with 400.
- GET /user/list?page&page_size&sort_by&sort_order → {users, total, page, page_size,
  total_pages}; page_size is 1..100 (422 otherwise); default order is newest first.
- POST /user/new {user_id, user_email, user_role, auto_create_key}: an existing user id, or an
  email another user has (case-insensitive), is 409; role must be one LiteLLM knows (422).
- /team/member_add for an unknown user creates it (role internal_user, no email), as 1.108.7 does.
- Each /user/list row carries `key_count`: the user's keys, personal and team ones, without the
  UI's session keys (team `litellm-dashboard`), and `sso_user_id`, which only an SSO sign-in
  sets (`internal_user_endpoints.py`, `ui_sso.py`).
- GET /key/list?page&size&user_id&team_id&key_alias&return_full_object&sort_by&sort_order →
  {keys, total_count, current_page, total_pages}; size is 1..100 (default 10, 422 otherwise);
  keys are hashes unless return_full_object=true; sort_by is one of spend, max_budget,
  created_at, updated_at, token, key_alias (400 otherwise), default newest first; the UI's
  session keys are never listed. A key row has token (the hash), key_name (`sk-...` and the
  secret's last four characters), key_alias, user_id, team_id, expires, blocked, created_at
  and last_active (set when LiteLLM records spend on the key).
- POST /key/generate {user_id, team_id, key_alias} → the new key with its secret, once.
- POST /user/delete {user_ids} deletes the users, all their keys and their place in every team
  and organization.
- Errors: ProxyException → {"error": {"message", "type", "param", "code"}}; plain
  HTTPException → {"detail": ...}; a bad key → 401. Two keys work: the master key (a proxy
  admin) and VIEWER_KEY, a proxy_admin_viewer's, which reads everything and is refused every
  write (403). INTERNAL_KEY, an internal_user's, is valid but may read no admin list: 401 there,
  as LiteLLM 1.108.7 answers, with the role in the message, and 403 on every other route.

Every request is recorded, so tests can prove entraform only reads. `latency` delays every
answer as a network would; `fault` makes the next requests answer 429/503 with Retry-After (or any
status, or a redirect) before the proxy recovers; `answers` and `most_in_flight` show how a
client paced itself; `churn` changes a list between two of its pages.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from generator.state import DesiredState, Settings

API_KEY = "sk-test-not-a-real-key"
VIEWER_KEY = "sk-test-viewer-not-a-real-key"
INTERNAL_KEY = "sk-test-internal-user-not-a-real-key"
UI_SESSION_TEAM = "litellm-dashboard"  # LiteLLM's team for the UI's session keys
KEY_SORTS = ("spend", "max_budget", "created_at", "updated_at", "token", "key_alias")
NOT_PREMIUM = (
    "You must be a LiteLLM Enterprise user to use this feature. If you have a license please "
    "set `LITELLM_LICENSE` in your env."
)
TEAM_ADMIN_NOT_PREMIUM = f"Assigning team admins is a premium feature. {NOT_PREMIUM}"
TEAM_ROLES = ("admin", "user")
USER_ROLES = ("proxy_admin", "proxy_admin_viewer", "internal_user", "internal_user_viewer")
CREATED = "2026-01-01T00:00:00Z"

Member = tuple[str, str, str | None]  # user_id, role, user_email


@dataclass
class Fault:
    """Answers given instead of the route's: `statuses` in turn, `count` times (None: always)."""

    statuses: tuple[int, ...]
    count: int | None
    after: int  # requests answered normally first
    retry_after: str | None
    location: str | None
    message: str | None = None  # the detail answered; by default the status's phrase


@dataclass(frozen=True)
class Answer:
    """One request as the fake saw it: when it arrived and answered (monotonic), its status."""

    arrived: float
    answered: float
    status: int


@dataclass
class FakeLiteLLM:
    """The proxy's data and switches; `url` is set while it serves."""

    teams: dict[str, dict[str, Any]] = field(default_factory=dict)
    organizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # by hash, as LiteLLM stores
    licensed: bool = True
    v2_team_list: bool = True
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""
    latency: float = 0.0  # seconds before each answer
    # List route -> a change made once, just before its second page is served: as a sign-in or
    # an admin would, between two pages of a read.
    churn: dict[str, Callable[[FakeLiteLLM], None]] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list)
    most_in_flight: int = 0
    _faults: list[Fault] = field(default_factory=list)
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(
        self,
        *statuses: int,
        count: int | None = 1,
        after: int = 0,
        retry_after: str | None = None,
        location: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next `count` requests (after `after` normal ones) with `statuses` in turn."""
        self._faults.append(Fault(statuses, count, after, retry_after, location, message))

    def throttled(self) -> list[Answer]:
        """The answers that were 429 or 503."""
        return [a for a in self.answers if a.status in (429, 503)]

    def add_team(
        self,
        team_id: str,
        alias: str | None,
        *,
        organization_id: str | None = None,
        members: Iterable[Member] = (),
        settings: Settings | None = None,
    ) -> dict[str, Any]:
        """Add a team row as LiteLLM stores it (SSO-created: no organization, all models)."""
        s = settings or Settings()
        row: dict[str, Any] = {
            "team_id": team_id,
            "team_alias": alias,
            "organization_id": organization_id,
            "admins": [],
            "members": [],
            "members_with_roles": [
                {"user_id": u, "user_email": e, "role": r} for u, r, e in members
            ],
            "metadata": dict(s.metadata or ()),
            "tpm_limit": s.tpm_limit,
            "rpm_limit": s.rpm_limit,
            "max_budget": s.max_budget,
            "budget_duration": s.budget_duration,
            "models": list(s.models or ()),
            "blocked": False,
            "spend": 0.0,
            "max_parallel_requests": None,
            "budget_reset_at": None,
            "model_id": None,
            "litellm_model_table": None,
            "created_at": f"{CREATED}#{len(self.teams):06d}",
            "updated_at": CREATED,
        }
        self.teams[team_id] = row
        return row

    def add_organization(
        self,
        organization_id: str,
        alias: str,
        *,
        members: Iterable[Member] = (),
        settings: Settings | None = None,
    ) -> dict[str, Any]:
        """Add an organization row with its budget row and memberships."""
        s = settings or Settings()
        row: dict[str, Any] = {
            "organization_id": organization_id,
            "organization_alias": alias,
            "budget_id": f"budget-{organization_id}",
            "spend": 0.0,
            "metadata": dict(s.metadata or ()),
            "models": list(s.models or ()),
            "created_by": "default_user_id",
            "updated_by": "default_user_id",
            "created_at": CREATED,
            "updated_at": CREATED,
            "litellm_budget_table": {
                "budget_id": f"budget-{organization_id}",
                "max_budget": s.max_budget,
                "soft_budget": None,
                "max_parallel_requests": None,
                "tpm_limit": s.tpm_limit,
                "rpm_limit": s.rpm_limit,
                "model_max_budget": None,
                "budget_duration": s.budget_duration,
            },
            "members": [
                _organization_member(organization_id, {"user_id": u, "user_email": e}, r)
                for u, r, e in members
            ],
        }
        self.organizations[organization_id] = row
        return row

    def add_user(
        self,
        user_id: str,
        user_email: str | None,
        user_role: str = "internal_user",
        *,
        sso: bool = False,
    ) -> dict[str, Any]:
        """Add a user row as LiteLLM stores it; `sso`: made at an SSO sign-in."""
        row: dict[str, Any] = {
            "user_id": user_id,
            "user_email": user_email,
            "user_alias": None,
            "user_role": user_role,
            "teams": [t for t, row in self.teams.items() if _in_team(row, user_id)],
            "models": [],
            "max_budget": None,
            "spend": 0.0,
            "metadata": {},
            "sso_user_id": user_id if sso else None,
            "created_at": f"{CREATED}#{len(self.users):06d}",
            "updated_at": CREATED,
        }
        self.users[user_id] = row
        return row

    def mirror(self, state: DesiredState, *, admin: str | None = "default_user_id") -> None:
        """Hold exactly the desired state, plus the admin a master-key team create adds."""
        for org in state.organizations:
            people: list[Member] = [(m.user_id, m.role, m.user_email) for m in org.members]
            self.add_organization(org.id, org.alias, members=people, settings=org.settings)
        for team in state.teams:
            people = [(m.user_id, m.role, m.user_email) for m in team.members]
            if admin:
                people.append((admin, "admin", None))
            self.add_team(
                team.id,
                team.alias,
                organization_id=team.organization_id,
                members=people,
                settings=team.settings,
            )
        for user in state.users:
            self.add_user(user.user_id, user.user_email, user.role)

    def add_key(
        self,
        user_id: str | None = None,
        team_id: str | None = None,
        alias: str | None = None,
        *,
        last_active: str | None = None,
        expires: str | None = None,
        blocked: bool = False,
    ) -> str:
        """Add a key row as LiteLLM stores it (the hash, never the secret); the secret."""
        secret = f"sk-{hashlib.sha256(str(next(_SERIAL)).encode()).hexdigest()[:22]}"
        token = hashlib.sha256(secret.encode()).hexdigest()
        self.keys[token] = {
            "token": token,
            "key_name": f"sk-...{secret[-4:]}",
            "key_alias": alias,
            "user_id": user_id,
            "team_id": team_id,
            "organization_id": None,
            "expires": expires,
            "blocked": blocked or None,
            "spend": 0.0,
            "models": [],
            "metadata": {},
            "max_budget": None,
            "created_at": f"{CREATED}#{len(self.keys):06d}",
            "updated_at": CREATED,
            "last_active": last_active,
        }
        return secret

    def sign_in(self, user_id: str, email: str | None, direct_groups: Iterable[str] = ()) -> None:
        """A Microsoft SSO sign-in (LiteLLM 1.108): the user is made if missing (sso_user_id set,
        role internal_user_viewer without default_internal_user_params), a UI session key is
        issued, and the user joins the existing teams that are their direct groups."""
        if user_id not in self.users:
            row = self.add_user(user_id, email, "internal_user_viewer", sso=True)
            row["metadata"] = {"auth_provider": "microsoft"}
        self.add_key(user_id, UI_SESSION_TEAM, expires="2026-01-01T12:00:00Z")
        self.sso_login(user_id, direct_groups)

    def sso_login(self, user_id: str, direct_groups: Iterable[str]) -> list[str]:
        """What a Microsoft SSO login does (LiteLLM 1.108): add the user to every existing team
        whose id is one of their direct groups, role user, no email; the team ids joined."""
        joined = []
        for group_id in direct_groups:
            # Login sends one /team/member_add per group and ignores every failure.
            status, _ = self.post(
                "/team/member_add",
                {"team_id": group_id, "member": {"user_id": user_id, "role": "user"}},
            )
            if status == 200:
                joined.append(group_id)
        return joined

    def member(self, team_id: str, user_id: str) -> dict[str, Any]:
        """The members_with_roles entry of one user in one team."""
        return next(m for m in self.teams[team_id]["members_with_roles"] if m["user_id"] == user_id)

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST as the proxy admin (what Terraform would send); the status and JSON body."""
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def paths(self) -> list[str]:
        """The paths requested, in order, without query strings."""
        return [urlsplit(target).path for _, target in self.requests]

    @contextmanager
    def serving(self) -> Iterator[FakeLiteLLM]:
        """Serve on a free loopback port until the block ends."""
        server = _Server(("127.0.0.1", 0), _handler(self))
        thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a client opening many connections at once is not refused


def _in_team(row: dict[str, Any], user_id: str) -> bool:
    return any(m["user_id"] == user_id for m in row["members_with_roles"])


def _organization_member(org_id: str, user: dict[str, Any], role: str) -> dict[str, Any]:
    """An organization membership row with its user, as /organization/info returns it."""
    return {
        "user_id": user["user_id"],
        "organization_id": org_id,
        "user_role": role,
        "spend": 0.0,
        "budget_id": None,
        "created_at": CREATED,
        "updated_at": CREATED,
        "user": {"user_id": user["user_id"], "user_email": user.get("user_email")},
        "user_email": user.get("user_email"),
        "litellm_budget_table": None,
    }


def _handler(fake: FakeLiteLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a proxy behind a load balancer offers
        timeout = 10  # an idle kept-alive connection ends its thread
        disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def _serve(self) -> None:
            arrived = time.monotonic()
            with fake._lock:
                fake.requests.append((self.command, self.path))
                fake._in_flight += 1
                fake.most_in_flight = max(fake.most_in_flight, fake._in_flight)
                fault = _next_fault(fake)
            self.status = 0
            try:
                if fake.latency:
                    time.sleep(fake.latency)
                if fault is None:
                    self._route()
                else:
                    self._fault(*fault)
            finally:
                with fake._lock:
                    fake._in_flight -= 1
                    fake.answers.append(Answer(arrived, time.monotonic(), self.status))

        def _fault(self, status: int, fault: Fault) -> None:
            headers = {"Retry-After": fault.retry_after, "Location": fault.location}
            phrase = "Too Many Requests" if status == 429 else "Service Unavailable"
            self._send(status, {"detail": fault.message or phrase}, headers)

        def _route(self) -> None:
            role = ROLES.get(self.headers.get("Authorization", "").removeprefix("Bearer "))
            if role is None:
                self._proxy_error(401, "Authentication Error, Invalid proxy server token passed.")
                return
            parts = urlsplit(self.path)
            routes = _ROUTES.get(parts.path)
            if routes is None:
                self._send(404, {"detail": "Not Found"})
                return
            refusal = _refusal(fake, role, self.command, parts.path)
            if refusal is not None:
                self._proxy_error(*refusal)
                return
            route = routes.get(self.command)
            if route is None:
                self._send(405, {"detail": "Method Not Allowed"})
                return
            if self.command == "GET":
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if query.get("page") == "2" and parts.path in fake.churn:
                    fake.churn.pop(parts.path)(fake)
                route(self, fake, query)
                return
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"null")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self._send(422, {"detail": [{"loc": ["body"], "msg": "a JSON object"}]})
                return
            route(self, fake, body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def _proxy_error(self, status: int, message: str) -> None:
            error = {"message": message, "type": "auth_error", "param": "None", "code": str(status)}
            self._send(status, {"error": error})

        def _send(
            self, status: int, body: Any, headers: dict[str, str | None] | None = None
        ) -> None:
            data = json.dumps(body).encode()
            self.status = status
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                if value is not None:
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _refusal(fake: FakeLiteLLM, role: str, command: str, path: str) -> tuple[int, str] | None:
    """The status and message refusing the key this route, or None."""
    if path.startswith("/organization/") and not fake.licensed:
        return 403, NOT_PREMIUM
    if role == "proxy_admin_viewer" and command != "GET":
        return 403, f"user not allowed to access this route, role= {role}. Trying to access: {path}"
    if role == "internal_user" and path in _ADMIN_LISTS:
        # A valid key without the rights: LiteLLM answers 401 all the same.
        return 401, f"Only admin users can query all teams/other teams. Your user role={role}"
    if role == "internal_user":
        return 403, f"user not allowed to access this route, role= {role}. Trying to access: {path}"
    return None


def _next_fault(fake: FakeLiteLLM) -> tuple[int, Fault] | None:
    """The status the next request gets from the first active fault, if any (lock held)."""
    for fault in fake._faults:
        if fault.after > 0:
            fault.after -= 1
            return None
        if fault.count is None or fault.count > 0:
            if fault.count is not None:
                fault.count -= 1
            status = fault.statuses[0]
            fault.statuses = (*fault.statuses[1:], status)
            return status, fault
    return None


Query = dict[str, str]


def _team_list_v2(h: Any, fake: FakeLiteLLM, q: Query) -> None:
    if not fake.v2_team_list:
        h._send(404, {"detail": "Not Found"})
        return
    page, size = int(q.get("page", 1)), int(q.get("page_size", 10))
    if page < 1 or not 1 <= size <= 100:
        h._send(422, {"detail": [{"loc": ["query", "page_size"], "msg": "out of range"}]})
        return
    rows = list(fake.teams.values())
    if q.get("sort_by") in ("team_id", "team_alias", "created_at"):
        key = q["sort_by"]
        rows.sort(key=lambda t: t[key] or "", reverse=q.get("sort_order") == "desc")
    else:
        rows.sort(key=lambda t: t["created_at"], reverse=True)
    chunk = rows[(page - 1) * size : page * size]
    items = [{**t, "members_count": len(t["members_with_roles"])} for t in chunk]
    total_pages = -(-len(rows) // size)
    h._send(
        200,
        {
            "teams": items,
            "total": len(rows),
            "page": page,
            "page_size": size,
            "total_pages": total_pages,
        },
    )


def _team_list(h: Any, fake: FakeLiteLLM, q: Query) -> None:
    rows = sorted(fake.teams.values(), key=lambda t: t["team_alias"] or "")
    h._send(200, [{**t, "team_memberships": [], "keys": []} for t in rows])


def _team_info(h: Any, fake: FakeLiteLLM, q: Query) -> None:
    team_id = q.get("team_id")
    if team_id is None:
        h._proxy_error(422, "Malformed request. No team id passed in.")
        return
    if team_id not in fake.teams:
        h._proxy_error(404, f"Team not found, passed team id: {team_id}.")
        return
    h._send(
        200,
        {"team_id": team_id, "team_info": fake.teams[team_id], "keys": [], "team_memberships": []},
    )


def _organization_row(fake: FakeLiteLLM, row: dict[str, Any]) -> dict[str, Any]:
    teams = [t for t in fake.teams.values() if t["organization_id"] == row["organization_id"]]
    return {**row, "teams": teams}


def _organization_list(h: Any, fake: FakeLiteLLM, q: Query) -> None:
    # The list includes members and teams, not the budget row (only /organization/info does).
    rows = [
        {**_organization_row(fake, o), "litellm_budget_table": None}
        for o in fake.organizations.values()
    ]
    h._send(200, rows)


def _organization_info(h: Any, fake: FakeLiteLLM, q: Query) -> None:
    row = fake.organizations.get(q.get("organization_id", ""))
    if row is None:
        h._send(404, {"detail": {"error": "Organization not found"}})
        return
    h._send(200, _organization_row(fake, row))


def _team_member_add(h: Any, fake: FakeLiteLLM, body: dict[str, Any]) -> None:
    given = body.get("member")
    members: list[Any] = given if isinstance(given, list) else [given]
    if not all(isinstance(m, dict) and m.get("role", "user") in TEAM_ROLES for m in members):
        h._send(422, {"detail": [{"loc": ["body", "member"], "msg": "role: 'admin' or 'user'"}]})
        return
    if any(m["role"] == "admin" for m in members if "role" in m) and not fake.licensed:
        h._send(400, {"detail": {"error": TEAM_ADMIN_NOT_PREMIUM}})
        return
    team = fake.teams.get(str(body.get("team_id")))
    if team is None:
        h._send(404, {"detail": {"error": f"Team not found for team_id={body.get('team_id')}"}})
        return
    have = {m["user_id"] for m in team["members_with_roles"]}
    added = [m for m in members if m.get("user_id") not in have]
    if not added:
        h._send(400, {"detail": {"error": "User already in team."}})
        return
    for m in added:
        entry = {key: m.get(key) for key in ("user_id", "user_email")}
        team["members_with_roles"].append({**entry, "role": m.get("role", "user")})
        if m.get("user_id") and m["user_id"] not in fake.users:
            # LiteLLM creates a missing user here, without the email it was given.
            fake.add_user(m["user_id"], None)
    h._send(200, team)


def _user_list(h: Any, fake: FakeLiteLLM, q: Query) -> None:
    page, size = int(q.get("page", 1)), int(q.get("page_size", 25))
    if page < 1 or not 1 <= size <= 100:
        h._send(422, {"detail": [{"loc": ["query", "page_size"], "msg": "out of range"}]})
        return
    rows = [u for u in fake.users.values() if q.get("role") in (None, u["user_role"])]
    if q.get("sort_by") in ("user_id", "user_email", "created_at"):
        key = q["sort_by"]
        rows.sort(key=lambda u: u[key] or "", reverse=q.get("sort_order") == "desc")
    else:
        rows.sort(key=lambda u: u["created_at"], reverse=True)
    chunk = [
        {**u, "key_count": _key_count(fake, u["user_id"])} for u in rows[(page - 1) * size :][:size]
    ]
    total_pages = -(-len(rows) // size)
    h._send(
        200,
        {
            "users": chunk,
            "total": len(rows),
            "page": page,
            "page_size": size,
            "total_pages": total_pages,
        },
    )


def _user_new(h: Any, fake: FakeLiteLLM, body: dict[str, Any]) -> None:
    role = body.get("user_role") or "internal_user"
    if role not in USER_ROLES:
        h._send(422, {"detail": [{"loc": ["body", "user_role"], "msg": "not a user role"}]})
        return
    user_id, email = body.get("user_id"), body.get("user_email")
    if user_id in fake.users:
        h._send(409, {"detail": {"error": f"User with id {user_id} already exists"}})
        return
    taken = {str(u["user_email"]).casefold() for u in fake.users.values() if u["user_email"]}
    if email and email.casefold() in taken:
        h._send(409, {"detail": {"error": f"User with email {email} already exists"}})
        return
    row = fake.add_user(str(user_id), email, role)
    h._send(200, {**row, "key": None if body.get("auto_create_key") is False else "sk-fake"})


def _team_update(h: Any, fake: FakeLiteLLM, body: dict[str, Any]) -> None:
    team = fake.teams.get(str(body.get("team_id")))
    if team is None:
        h._send(404, {"detail": {"error": f"Team not found, passed team_id={body.get('team_id')}"}})
        return
    org_id = body.get("organization_id")
    if org_id is not None and org_id != team["organization_id"]:
        org = fake.organizations.get(org_id)
        if org is None:
            h._send(404, {"detail": {"error": f"Organization not found, passed {org_id}"}})
            return
        refusal = _move_refusal(team, org)
        if refusal:
            h._send(403, {"detail": {"error": f"Cannot move team to organization. {refusal}"}})
            return
        _add_to_organization(fake, org, team)
    for name, value in body.items():
        if name in team and name not in ("team_id", "members_with_roles"):
            team[name] = value
    h._send(200, {"team_id": team["team_id"], "data": team})


def _move_refusal(team: dict[str, Any], org: dict[str, Any]) -> str | None:
    # Checked against the team as it is now, not the values sent with the move.
    allowed, budget = org["models"], org["litellm_budget_table"]
    if allowed and "all-proxy-models" not in allowed:
        if not team["models"]:
            return "Team has access to all proxy models, but the organization does not."
        outside = [m for m in team["models"] if m not in allowed]
        if outside:
            return f"Team has models {outside} the organization cannot access."
    for name in ("max_budget", "tpm_limit", "rpm_limit"):
        if team[name] and budget[name] and team[name] > budget[name]:
            return f"Team has {name} {team[name]} above the organization's {budget[name]}."
    return None


def _add_to_organization(fake: FakeLiteLLM, org: dict[str, Any], team: dict[str, Any]) -> None:
    # The proxy admin key skips "every member is an org member" and adds the missing ones.
    have = {m["user_id"] for m in org["members"]}
    for m in team["members_with_roles"]:
        if m["user_id"] not in have and m["user_id"] != "default_user_id":
            org["members"].append(_organization_member(org["organization_id"], m, "internal_user"))


def _key_count(fake: FakeLiteLLM, user_id: str) -> int:
    return sum(1 for k in _listed_keys(fake) if k["user_id"] == user_id)


def _listed_keys(fake: FakeLiteLLM) -> list[dict[str, Any]]:
    # LiteLLM leaves the UI's session keys out of every list and count.
    return [k for k in fake.keys.values() if k["team_id"] != UI_SESSION_TEAM]


def _key_list(h: Any, fake: FakeLiteLLM, q: Query) -> None:
    page, size = int(q.get("page", 1)), int(q.get("size", 10))
    if page < 1 or not 1 <= size <= 100:
        h._send(422, {"detail": [{"loc": ["query", "size"], "msg": "out of range"}]})
        return
    sort_by = q.get("sort_by")
    if sort_by is not None and sort_by not in KEY_SORTS:
        valid = ", ".join(KEY_SORTS)
        h._proxy_error(400, f"{{'error': 'Invalid sort column. Must be one of: {valid}'}}")
        return
    rows = [
        k
        for k in _listed_keys(fake)
        if all(q.get(name) in (None, k[name]) for name in ("user_id", "team_id", "key_alias"))
    ]
    if sort_by is None:
        rows.sort(key=lambda k: (k["created_at"], k["token"]), reverse=True)
    else:
        rows.sort(key=lambda k: k[sort_by] or "", reverse=q.get("sort_order", "desc") == "desc")
    chunk = rows[(page - 1) * size :][:size]
    full = q.get("return_full_object", "false").lower() == "true"
    h._send(
        200,
        {
            "keys": [dict(k) if full else k["token"] for k in chunk],
            "total_count": len(rows),
            "current_page": page,
            "total_pages": -(-len(rows) // size),
        },
    )


def _key_generate(h: Any, fake: FakeLiteLLM, body: dict[str, Any]) -> None:
    user_id, team_id = body.get("user_id"), body.get("team_id")
    if team_id is not None and team_id not in fake.teams:
        h._send(400, {"detail": {"error": f"Team not found, passed team_id={team_id}"}})
        return
    secret = fake.add_key(user_id, team_id, body.get("key_alias"))
    row = fake.keys[hashlib.sha256(secret.encode()).hexdigest()]
    h._send(200, {**row, "key": secret})


def _user_delete(h: Any, fake: FakeLiteLLM, body: dict[str, Any]) -> None:
    gone = set(body.get("user_ids") or ())
    if not gone:
        h._send(400, {"detail": {"error": "No user id passed in"}})
        return
    for user_id in gone:
        fake.users.pop(user_id, None)
    fake.keys = {t: k for t, k in fake.keys.items() if k["user_id"] not in gone}
    for team in fake.teams.values():
        team["members_with_roles"] = [
            m for m in team["members_with_roles"] if m["user_id"] not in gone
        ]
    for org in fake.organizations.values():
        org["members"] = [m for m in org["members"] if m["user_id"] not in gone]
    h._send(200, {"deleted_users": sorted(gone)})


_SERIAL = itertools.count(1)
ROLES = {API_KEY: "proxy_admin", VIEWER_KEY: "proxy_admin_viewer", INTERNAL_KEY: "internal_user"}
# The lists only an admin may read whole.
_ADMIN_LISTS = ("/v2/team/list", "/team/list", "/user/list", "/key/list", "/organization/list")

_ROUTES: dict[str, dict[str, Any]] = {
    "/v2/team/list": {"GET": _team_list_v2},
    "/team/list": {"GET": _team_list},
    "/team/info": {"GET": _team_info},
    "/team/member_add": {"POST": _team_member_add},
    "/team/update": {"POST": _team_update},
    "/user/list": {"GET": _user_list},
    "/user/new": {"POST": _user_new},
    "/user/delete": {"POST": _user_delete},
    "/key/list": {"GET": _key_list},
    "/key/generate": {"POST": _key_generate},
    "/organization/list": {"GET": _organization_list},
    "/organization/info": {"GET": _organization_info},
}
