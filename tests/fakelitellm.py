"""A fake LiteLLM proxy over real HTTP on 127.0.0.1, serving the read-only management routes.

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
- Without an Enterprise licence every /organization/* route answers 403 (LiteLLM PR #40613).
- Errors: ProxyException → {"error": {"message", "type", "param", "code"}}; plain
  HTTPException → {"detail": ...}; a bad key → 401.

Only GET is served: anything else is recorded and refused, so tests can prove entraform
never writes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from generator.state import DesiredState, Settings

API_KEY = "sk-test-not-a-real-key"
NOT_PREMIUM = (
    "You must be a LiteLLM Enterprise user to use this feature. If you have a license please "
    "set `LITELLM_LICENSE` in your env."
)
CREATED = "2026-01-01T00:00:00Z"

Member = tuple[str, str, str | None]  # user_id, role, user_email


@dataclass
class FakeLiteLLM:
    """The proxy's data and switches; `url` is set while it serves."""

    teams: dict[str, dict[str, Any]] = field(default_factory=dict)
    organizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    licensed: bool = True
    v2_team_list: bool = True
    requests: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

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
                {
                    "user_id": u,
                    "organization_id": organization_id,
                    "user_role": r,
                    "spend": 0.0,
                    "budget_id": None,
                    "created_at": CREATED,
                    "updated_at": CREATED,
                    "user": {"user_id": u, "user_email": e},
                    "user_email": e,
                    "litellm_budget_table": None,
                }
                for u, r, e in members
            ],
        }
        self.organizations[organization_id] = row
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

    def member(self, team_id: str, user_id: str) -> dict[str, Any]:
        """The members_with_roles entry of one user in one team."""
        return next(m for m in self.teams[team_id]["members_with_roles"] if m["user_id"] == user_id)

    def paths(self) -> list[str]:
        """The paths requested, in order, without query strings."""
        return [urlsplit(target).path for _, target in self.requests]

    @contextmanager
    def serving(self) -> Iterator[FakeLiteLLM]:
        """Serve on a free loopback port until the block ends."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


def _handler(fake: FakeLiteLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def do_GET(self) -> None:
            fake.requests.append(("GET", self.path))
            if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                self._proxy_error(401, "Authentication Error, Invalid proxy server token passed.")
                return
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            route = _ROUTES.get(parts.path)
            if route is None:
                self._send(404, {"detail": "Not Found"})
                return
            if parts.path.startswith("/organization/") and not fake.licensed:
                self._proxy_error(403, NOT_PREMIUM)
                return
            route(self, fake, query)

        def _refuse(self) -> None:
            fake.requests.append((self.command, self.path))
            self._send(405, {"detail": "Method Not Allowed"})

        do_POST = do_PUT = do_PATCH = do_DELETE = _refuse

        def _proxy_error(self, status: int, message: str) -> None:
            error = {"message": message, "type": "auth_error", "param": "None", "code": str(status)}
            self._send(status, {"error": error})

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


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


_ROUTES = {
    "/v2/team/list": _team_list_v2,
    "/team/list": _team_list,
    "/team/info": _team_info,
    "/organization/list": _organization_list,
    "/organization/info": _organization_info,
}
