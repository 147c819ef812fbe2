"""A fake Microsoft Graph over real HTTP on 127.0.0.1, speaking Graph's JSON.

It serves a tenant given as a Directory (plus app role assignments and non-user objects),
pages collections by `$top` (default 100, max 999) with absolute `@odata.nextLink`s and opaque
`$skiptoken`s, evaluates the `$filter` subset Graph supports on groups, answers `$batch`, returns
Graph error bodies, and injects faults (status codes with Retry-After, non-JSON pages,
connection resets) per path, after N requests, N times. It counts every request.

With a Budget it throttles as Graph does: a token bucket of resource units (RU) per app and
tenant (here: per bearer token), every request and every `$batch` sub-request charged its
documented cost, throttled ones too, 429 with Retry-After once the bucket runs dry, and the
`x-ms-resource-unit` / `x-ms-throttle-limit-percentage` headers. Its cost table is written
from Microsoft's documentation on its own, not taken from the client it tests.
"""

from __future__ import annotations

import base64
import json
import math
import re
import socket
import struct
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

from generator.directory import GROUP, USER, Directory, Group, Member, User

VERSION = "/v1.0"
DEFAULT_PAGE, MAX_PAGE, MAX_BATCH = 100, 999, 20
USER_FIELDS = ("displayName", "userPrincipalName", "mail", "accountEnabled", "userType")
GROUP_FIELDS = ("displayName", "description", "mail", "securityEnabled")
ERROR_CODES = {
    400: "Request_BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Authorization_RequestDenied",
    404: "Request_ResourceNotFound",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
ERROR_MESSAGES = {
    401: "Access token validation failure. Invalid audience.",
    403: "Insufficient privileges to complete the operation.",
    429: "Too many requests, retry after some time.",
}
RESET = object()  # a dispatch outcome: drop the connection with a TCP reset
S_LIMIT, M_LIMIT, L_LIMIT = 3500, 5000, 8000  # RU per 10 s by tenant size
MAX_USAGE = 1.8  # Graph reports usage up to 180 % of the limit; charges beyond are dropped

Reply = tuple[int, dict[str, str], Any]  # status, headers, JSON-able body (or bytes, or RESET)


@dataclass
class Fault:
    """A failure injected into requests whose path and query contain `match`."""

    match: str
    status: int = 503
    kind: Literal["status", "notjson", "malformed", "reset"] = "status"
    retry_after: str | None = None
    times: int | None = 1  # how many times it fires; None = every time
    after: int = 0  # matching requests let through before it starts firing
    code: str | None = None
    seen: int = 0
    fired: int = 0

    def fires(self, target: str) -> bool:
        """Count a matching request and say whether this one fails."""
        if self.match not in target:
            return False
        self.seen += 1
        if self.seen <= self.after or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True


@dataclass
class Budget:
    """Graph's resource-unit limit for one app in one tenant."""

    limit: float = S_LIMIT  # RU per window
    window: float = 10.0  # seconds
    fractional: bool = True  # Retry-After like "2.128"; False rounds up to whole seconds


@dataclass
class Bucket:
    """Tokens left for one app and tenant; negative once throttled requests overdraw it."""

    budget: Budget
    tokens: float
    updated: float

    def charge(self, cost: int, now: float) -> tuple[float | None, float]:
        """Charge `cost` RU; return (seconds to wait when throttled, else None) and usage."""
        limit = self.budget.limit
        rate = limit / self.budget.window
        self.tokens = min(limit, self.tokens + (now - self.updated) * rate)
        self.updated = now
        throttled = self.tokens < cost
        # Throttled requests are charged too: retrying into the limit digs deeper.
        self.tokens = max(self.tokens - cost, limit * (1 - MAX_USAGE))
        usage = (limit - self.tokens) / limit
        return ((cost - self.tokens) / rate if throttled else None), usage


def reported_usage(usage: float) -> float | None:
    """The share of the limit Graph reports: only above 80 %, and at most 180 %."""
    return min(usage, MAX_USAGE) if usage > 0.8 else None


@dataclass
class Tenant:
    """What the fake serves: a directory, other directory objects, app role assignments."""

    directory: Directory
    # Service principals, devices, org contacts: id -> display name (kind comes from edges).
    others: dict[str, str] = field(default_factory=dict)
    # Service principal id -> appRoleAssignment rows (principalType, principalId, ...).
    assignments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    token: str | None = "fake-token-for-tests"  # None accepts any bearer token


class FakeGraph:
    """The server: start(), base_url, faults, counters, stop()."""

    def __init__(
        self,
        tenant: Tenant,
        *,
        latency: float = 0.0,
        port: int = 0,
        budget: Budget | None = None,
    ) -> None:
        self.tenant = tenant
        self.latency = latency
        self.budget = budget
        self.faults: list[Fault] = []
        self.requests: list[str] = []  # Graph requests, sub-requests of a $batch included
        self.http_requests = 0
        self.charged = 0  # RU charged, throttled requests included
        self.throttled = 0  # requests answered 429 by the budget
        self.throttled_charged = 0  # RU charged for those
        self._buckets: dict[str, Bucket] = {}
        self.auth_headers: set[str] = set()
        self.lock = threading.Lock()
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:PORT`."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """The Graph base URL to give the client."""
        return self.origin + VERSION

    def start(self) -> FakeGraph:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def fault(self, match: str, status: int = 503, **options: Any) -> Fault:
        """Inject a fault; see Fault."""
        fault = Fault(match, status, **options)
        self.faults.append(fault)
        return fault

    def reset_counts(self) -> None:
        """Forget the requests seen so far and refill every budget."""
        with self.lock:
            self.requests.clear()
            self.http_requests = self.charged = self.throttled = self.throttled_charged = 0
            self._buckets.clear()

    def stats(self) -> dict[str, int]:
        """The counters, as /_fake/stats serves them."""
        with self.lock:
            return {
                "requests": len(self.requests),
                "http_requests": self.http_requests,
                "charged": self.charged,
                "throttled": self.throttled,
                "throttled_charged": self.throttled_charged,
            }

    def count(self, fragment: str) -> int:
        """Graph requests whose path and query contain `fragment`."""
        with self.lock:
            return sum(fragment in r for r in self.requests)

    # Dispatch, shared by plain requests and $batch sub-requests.

    def dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes, app: str = ""
    ) -> Reply:
        """Answer one Graph request (path relative to the version, with query) for an app."""
        path, _, query = target.partition("?")
        path = re.sub("/{2,}", "/", path)  # the SDK's default base URL yields `/v1.0//groups`
        target = path + ("?" + query if query else "")
        if path == "/$batch" and method == "POST":
            return self._batch(body, app)
        params = _query(query)
        with self.lock:
            self.requests.append(unquote(target))
            fault = next((f for f in self.faults if f.fires(unquote(target))), None)
            metered = None if fault else self._meter(app, resource_units(method, path, params))
        if fault is not None:
            return _faulted(fault)
        meter_headers, wait = metered or ({}, None)
        if wait is not None:
            return _throttled(meter_headers, wait, self.budget)
        if method != "GET":
            message = f"{method} is not supported here"
            status, headers_out, reply = _error(405, "Request_BadRequest", message)
        else:
            try:
                status, headers_out, reply = self._route(path, params, headers)
            except _GraphError as exc:
                status, headers_out, reply = _error(exc.status, exc.code, exc.message)
        return status, headers_out | meter_headers, reply

    def _meter(self, app: str, cost: int) -> tuple[dict[str, str], float | None] | None:
        """Charge the app's bucket (lock held); None when no budget is modelled."""
        if self.budget is None:
            return None
        now = time.monotonic()
        bucket = self._buckets.setdefault(app, Bucket(self.budget, self.budget.limit, now))
        wait, usage = bucket.charge(cost, now)
        self.charged += cost
        headers = {"x-ms-resource-unit": str(cost)}
        reported = reported_usage(usage)
        if reported is not None:
            headers["x-ms-throttle-limit-percentage"] = f"{reported:.2f}"
        if wait is not None:
            self.throttled += 1
            self.throttled_charged += cost
        return headers, wait

    def _route(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        groups = self.tenant.directory.groups
        if parts == ["groups"]:
            found = [
                _group_json(g, _select(params))
                for g in groups.values()
                if _matches(g, params, headers)
            ]
            return self._page(path, params, found)
        if len(parts) == 3 and parts[0] == "groups" and parts[2] in ("members", "owners"):
            group = groups.get(parts[1])
            if group is None:
                raise _GraphError(404, "Request_ResourceNotFound", _missing(parts[1]))
            edges = group.members if parts[2] == "members" else group.owners or ()
            rows = [self._object_json(m, _select(params)) for m in edges]
            return self._page(path, params, rows)
        if len(parts) == 3 and parts[0] == "servicePrincipals" and parts[2] == "appRoleAssignedTo":
            if parts[1] not in self.tenant.assignments:
                raise _GraphError(404, "Request_ResourceNotFound", _missing(parts[1]))
            return self._page(path, params, list(self.tenant.assignments[parts[1]]))
        raise _GraphError(
            400, "Request_BadRequest", f"Resource not found for the segment '{path}'."
        )

    def _page(self, path: str, params: dict[str, str], rows: list[dict[str, Any]]) -> Reply:
        top = params.get("$top", str(DEFAULT_PAGE))
        if not top.isdigit() or not 1 <= int(top) <= MAX_PAGE:
            raise _GraphError(
                400, "Request_BadRequest", f"Invalid page size specified: '{top}'. Must be 1-999."
            )
        offset = _offset(params.get("$skiptoken"))
        end = offset + int(top)
        body: dict[str, Any] = {"@odata.context": f"{self.base_url}/$metadata#directoryObjects"}
        if "$count" in params:
            body["@odata.count"] = len(rows)
        body["value"] = rows[offset:end]
        if end < len(rows):
            kept = {k: v for k, v in params.items() if k != "$skiptoken"}
            kept["$skiptoken"] = _token(end)
            query = "&".join(f"{k}={quote(v, safe=_SAFE)}" for k, v in kept.items())
            body["@odata.nextLink"] = f"{self.base_url}{path}?{query}"
        return 200, {}, body

    def _object_json(self, member: Member, select: tuple[str, ...] | None) -> dict[str, Any]:
        directory = self.tenant.directory
        if member.kind == USER and member.id in directory.users:
            return _user_json(directory.users[member.id], select)
        if member.kind == GROUP and member.id in directory.groups:
            return _group_json(directory.groups[member.id], select)
        data: dict[str, Any] = {"@odata.type": member.odata_type, "id": member.id}
        if member.kind == USER:  # an object we may not read: Graph nulls every field
            return data | {f: None for f in select or USER_FIELDS if f in USER_FIELDS}
        if select is None or "displayName" in select:
            data["displayName"] = self.tenant.others.get(member.id)
        return data

    def _batch(self, body: bytes, app: str) -> Reply:
        with self.lock:
            fault = next((f for f in self.faults if f.fires("/$batch")), None)
        if fault is not None:
            return _faulted(fault)
        try:
            requests = json.loads(body)["requests"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "BadRequest", "Invalid batch payload format.")
        if len(requests) > MAX_BATCH:
            return _error(
                400, "BadRequest", "Number of batch request steps exceeds the maximum of 20."
            )
        responses = []
        for item in requests:
            url = str(item.get("url", ""))
            if url.startswith("http"):
                parts = urlsplit(url)
                url = parts.path.removeprefix(VERSION) + ("?" + parts.query if parts.query else "")
            status, headers, sub_body = self.dispatch(
                item.get("method", "GET"), url, dict(item.get("headers") or {}), b"", app
            )
            if sub_body is RESET:
                return 200, {}, RESET
            if isinstance(sub_body, bytes):  # Graph base64-encodes bodies that are not JSON
                headers = headers | {"Content-Type": "text/html"}
                sub_body = base64.b64encode(sub_body).decode()
            responses.append(
                {"id": item.get("id"), "status": status, "headers": headers, "body": sub_body}
            )
        responses.reverse()  # Graph does not keep request order; clients must match by id
        return 200, {}, {"responses": responses}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a run that failed fast) is not the server's error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Graph
    # Headers and body go out in two writes; with Nagle's algorithm the body waits for the
    # client's delayed ACK of the headers, about 40 ms a response that Graph does not add.
    disable_nagle_algorithm = True
    timeout = 30  # a stuck client cannot hold a server thread for ever

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self, method: str) -> None:
        fake: FakeGraph = self.server.fake  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with fake.lock:
            fake.http_requests += 1
        if fake.latency:
            time.sleep(fake.latency)
        path = self.path
        if path.startswith("/_fake/stats"):
            self._send(200, {}, fake.stats())
            return
        if path.startswith("/_fake/reset"):
            fake.reset_counts()
            self._send(200, {}, {})
            return
        authorization = self.headers.get("Authorization") or ""
        with fake.lock:
            fake.auth_headers.add(authorization)
        expected = fake.tenant.token
        if not path.startswith(VERSION + "/"):
            self._send(*_error(404, "Request_BadRequest", "Unknown API version."))
            return
        if (expected is not None and authorization != f"Bearer {expected}") or not authorization:
            self._send(*_error(401, "InvalidAuthenticationToken", ERROR_MESSAGES[401]))
            return
        headers = dict(self.headers.items())
        self._send(*fake.dispatch(method, path[len(VERSION) :], headers, body, authorization))

    def _send(self, status: int, headers: dict[str, str], body: Any) -> None:
        if body is RESET:  # SO_LINGER 0: close() sends RST, the client sees a connection reset
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if isinstance(body, bytes):
            data, content_type = body, headers.get("Content-Type", "text/html")
        else:
            data, content_type = (
                json.dumps(body).encode(),
                "application/json;odata.metadata=minimal",
            )
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-type":
                self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)


class _GraphError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def resource_units(method: str, path: str, params: dict[str, str]) -> int:
    """What Graph's identity limits charge for a request, per Microsoft's cost table."""
    parts = [p for p in path.split("/") if p]
    if method == "POST" and parts[-1:] == ["getByIds"]:
        base = 3
    elif parts == ["users"]:
        base = 2
    elif parts[-1:] == ["members"] or parts[-2:-1] == ["members"]:  # casts: members/graph.user
        base = 3
    elif parts[-1:] == ["transitiveMembers"] or parts[-2:-1] == ["transitiveMembers"]:
        base = 5
    else:
        base = 1
    top = params.get("$top")
    small_page = top is not None and top.isdigit() and int(top) < 20
    return max(1, base - ("$select" in params) + ("$expand" in params) - small_page)


def _throttled(headers: dict[str, str], wait: float, budget: Budget | None) -> Reply:
    fractional = budget is None or budget.fractional
    retry_after = f"{wait:.3f}" if fractional else str(max(1, math.ceil(wait)))
    headers = headers | {
        "Retry-After": retry_after,
        "x-ms-throttle-scope": "Tenant_Application/ReadWrite/fake-tenant/fake-app",
        "x-ms-throttle-information": "ResourceUnitLimitExceeded",
    }
    return 429, headers, _error(429, ERROR_CODES[429], ERROR_MESSAGES[429])[2]


def _faulted(fault: Fault) -> Reply:
    if fault.kind == "reset":
        return 0, {}, RESET
    if fault.kind == "notjson":
        return 200, {"Content-Type": "text/html"}, b"<html><body>Gateway says hello</body></html>"
    if fault.kind == "malformed":
        return 200, {}, {"@odata.context": "x", "values": []}
    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
    code = fault.code or ERROR_CODES.get(fault.status, "UnknownError")
    message = ERROR_MESSAGES.get(fault.status, f"Injected {fault.status}.")
    return fault.status, headers, _error(fault.status, code, message)[2]


def _error(status: int, code: str, message: str) -> Reply:
    inner = {"date": "2026-01-01T00:00:00", "request-id": str(uuid.uuid4())}
    return status, {}, {"error": {"code": code, "message": message, "innerError": inner}}


def _missing(object_id: str) -> str:
    return (
        f"Resource '{object_id}' does not exist or one of its queried "
        "reference-property objects are not present."
    )


_SAFE = "$,'()=:"


def _query(query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in query.split("&") if query else ():
        name, _, value = part.partition("=")
        params[unquote(name)] = unquote(value)
    return params


def _select(params: dict[str, str]) -> tuple[str, ...] | None:
    select = params.get("$select")
    return tuple(s.strip() for s in select.split(",")) if select else None


def _token(offset: int) -> str:
    raw = json.dumps({"o": offset, "n": uuid.uuid4().hex[:8]}).encode()
    return "RFNwdAIAAQAAA" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = token.removeprefix("RFNwdAIAAQAAA")
        return int(json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))["o"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _GraphError(400, "Request_BadRequest", "Invalid skip token.") from exc


def _user_json(user: User, select: tuple[str, ...] | None) -> dict[str, Any]:
    values = {
        "displayName": user.display_name,
        "userPrincipalName": user.user_principal_name,
        "mail": user.mail,
        "accountEnabled": user.account_enabled,
        "userType": user.user_type,
    }
    # Like Graph, accountEnabled and userType only come back when selected.
    fields = select if select is not None else ("displayName", "userPrincipalName", "mail")
    data: dict[str, Any] = {"@odata.type": "#microsoft.graph.user", "id": user.id}
    data.update((f, values[f]) for f in fields if f in values)
    return data


def _group_json(group: Group, select: tuple[str, ...] | None) -> dict[str, Any]:
    values = {
        "displayName": group.display_name,
        "description": group.description,
        "mail": group.mail,
        "securityEnabled": group.security_enabled,
    }
    data: dict[str, Any] = {"@odata.type": "#microsoft.graph.group", "id": group.id}
    data.update((f, values[f]) for f in (select or GROUP_FIELDS) if f in values)
    return data


# $filter: the subset Graph evaluates on groups.

_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|([(),])|([A-Za-z_][\w.]*|-?\d+))")
_ADVANCED = {"ne", "not", "endswith"}


def _matches(group: Group, params: dict[str, str], headers: dict[str, str]) -> bool:
    text = params.get("$filter")
    if text is None:
        return True
    tokens = _tokens(text)
    words = {t.lower() for t in tokens if not t.startswith("'")}
    eventual = any(k.lower() == "consistencylevel" and v == "eventual" for k, v in headers.items())
    if words & _ADVANCED and not (eventual and params.get("$count") == "true"):
        raise _GraphError(
            400,
            "Request_UnsupportedQuery",
            "Unsupported Query. This query requires ConsistencyLevel: eventual and $count=true.",
        )
    parser = _Filter(tokens, group)
    result = parser.expr()
    if parser.pos != len(tokens):
        raise _GraphError(400, "Request_BadRequest", f"Invalid filter clause: {text}")
    return result


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _GraphError(400, "Request_BadRequest", f"Syntax error in filter: {text}")
        tokens.append(match.group(match.lastindex or 0))
        pos = match.end()
    return tokens


class _Filter:
    """Recursive descent over or / and / not / ( ) / eq ne in / startswith endswith."""

    def __init__(self, tokens: list[str], group: Group) -> None:
        self.tokens, self.pos, self.group = tokens, 0, group

    def expr(self) -> bool:
        value = self.term()
        while self._accept("or"):
            value = self.term() or value
        return value

    def term(self) -> bool:
        value = self.factor()
        while self._accept("and"):
            value = self.factor() and value
        return value

    def factor(self) -> bool:
        if self._accept("not"):
            return not self.factor()
        if self._accept("("):
            value = self.expr()
            self._expect(")")
            return value
        word = self._next()
        if word.lower() in ("startswith", "endswith"):
            return self._affix(word.lower())
        return self._comparison(word)

    def _affix(self, function: str) -> bool:
        self._expect("(")
        actual = self._field(self._next())
        self._expect(",")
        wanted = self._literal(self._next())
        self._expect(")")
        if not isinstance(actual, str) or not isinstance(wanted, str):
            return False
        if function == "startswith":
            return actual.casefold().startswith(wanted.casefold())
        return actual.casefold().endswith(wanted.casefold())

    def _comparison(self, word: str) -> bool:
        actual = self._field(word)
        op = self._next().lower()
        if op == "in":
            self._expect("(")
            values = [self._literal(self._next())]
            while self._accept(","):
                values.append(self._literal(self._next()))
            self._expect(")")
            return any(_equal(actual, v) for v in values)
        if op in ("eq", "ne"):
            equal = _equal(actual, self._literal(self._next()))
            return equal if op == "eq" else not equal
        raise _GraphError(400, "Request_BadRequest", f"Invalid filter operator '{op}'.")

    def _field(self, name: str) -> Any:
        fields = {
            "id": self.group.id,
            "displayName": self.group.display_name,
            "description": self.group.description,
            "mail": self.group.mail,
            "securityEnabled": self.group.security_enabled,
        }
        if name not in fields:
            raise _GraphError(
                400, "Request_BadRequest", f"Could not find a property named '{name}'."
            )
        return fields[name]

    @staticmethod
    def _literal(token: str) -> Any:
        if token.startswith("'"):
            return token[1:-1].replace("''", "'")
        literals = {"true": True, "false": False, "null": None}
        if token in literals:
            return literals[token]
        raise _GraphError(400, "Request_BadRequest", f"Invalid literal {token}.")

    def _next(self) -> str:
        if self.pos >= len(self.tokens):
            raise _GraphError(400, "Request_BadRequest", "Unexpected end of filter.")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def _accept(self, token: str) -> bool:
        if self.pos < len(self.tokens) and self.tokens[self.pos].lower() == token:
            self.pos += 1
            return True
        return False

    def _expect(self, token: str) -> None:
        if not self._accept(token):
            raise _GraphError(400, "Request_BadRequest", f"Expected '{token}' in filter.")


def _equal(actual: Any, wanted: Any) -> bool:
    if isinstance(actual, str) and isinstance(wanted, str):
        return actual.casefold() == wanted.casefold()
    return bool(actual == wanted)


# Synthetic tenants for the benchmark and the larger tests.


def synthetic_tenant(
    groups: int, users: int, memberships_per_group: int, nesting_depth: int = 0
) -> Tenant:
    """A deterministic tenant: chains of nested groups `nesting_depth` deep, users spread evenly."""
    user_ids = [_uuid("u", j) for j in range(users)]
    people = []
    for j, uid in enumerate(user_ids):
        guest = j % 20 == 19
        upn = f"user{j}_fabrikam.test#EXT#@contoso.test" if guest else f"user{j}@contoso.test"
        people.append(
            User(
                id=uid,
                display_name=f"User {j}",
                user_principal_name=upn,
                mail=f"user{j}@fabrikam.test" if guest else upn,
                account_enabled=j % 50 != 49,
                user_type="Guest" if guest else "Member",
            )
        )
    group_ids = [_uuid("g", i) for i in range(groups)]
    rows = []
    for i, gid in enumerate(group_ids):
        members = (
            {
                Member(USER, user_ids[(i * memberships_per_group + k) % users])
                for k in range(memberships_per_group)
            }
            if users
            else set()
        )
        if i % (nesting_depth + 1) < nesting_depth and i + 1 < groups:
            members.add(Member(GROUP, group_ids[i + 1]))
        rows.append(
            Group(
                id=gid,
                display_name=f"team-{i:05d}",
                description=f"Team {i}",
                security_enabled=True,
                members=tuple(sorted(members)),
            )
        )
    return Tenant(Directory.of(rows, people), token=None)


def minimum_requests(tenant: Tenant, page: int = MAX_PAGE) -> int:
    """Graph requests needed to list every group and every group's members at `page` per page."""
    groups = tenant.directory.groups.values()
    return _pages(len(groups), page) + sum(_pages(len(g.members), page) for g in groups)


def minimum_resource_units(tenant: Tenant, page: int = MAX_PAGE) -> int:
    """RU those minimum requests cost: group pages 1 each, member pages 2 (3, less $select)."""
    groups = tenant.directory.groups.values()
    member_pages = sum(_pages(len(g.members), page) for g in groups)
    return _pages(len(groups), page) + 2 * member_pages


def _pages(count: int, page: int) -> int:
    return max(1, -(-count // page))


def _uuid(prefix: str, number: int) -> str:
    return str(uuid.UUID(int=(0 if prefix == "u" else 1 << 64) | number, version=4))


def serve(
    tenant: Tenant, latency: float = 0.0, budget: Budget | None = None
) -> Iterator[FakeGraph]:
    """Start a server for the tenant; stop it when the generator is closed (fixture helper)."""
    fake = FakeGraph(tenant, latency=latency, budget=budget).start()
    try:
        yield fake
    finally:
        fake.stop()
