"""Why a Graph read failed, said so that the reader knows what to check next."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

FailureKind = Literal["http", "throttled", "malformed", "network", "token"]
# What a request was reading; decides which permission or setting the hint names.
Context = Literal["groups", "members", "owners", "assignments"]

READ_PERMISSIONS = (
    "grant the GroupMember.Read.All and User.Read.All application permissions to the app and "
    "admin-consent them (Member.Read.Hidden too for groups with hidden membership)"
)
_BEARER = re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+")


@dataclass
class GraphFailure(Exception):
    """A read that finally failed; turned into a SourceError at the source's boundary."""

    kind: FailureKind
    subject: str
    context: Context
    status: int | None = None
    code: str = ""
    message: str = ""

    def __str__(self) -> str:
        return describe(self)


def describe(failure: GraphFailure, secrets: Iterable[str] = ()) -> str:
    """One message: what could not be read, what Graph said, and what to check."""
    said = {
        "http": f"Graph returned {failure.status} {failure.code or '(no error code)'}",
        "throttled": (
            f"Graph kept throttling ({failure.status} {failure.code})".replace(" )", ")")
            if failure.status
            else "the read did not fit Graph's throttling budget within the wait budget"
        ),
        "malformed": "Graph returned a page that is not Graph JSON",
        "network": "the connection to Graph failed",
        "token": "no access token could be acquired",
    }[failure.kind]
    # Redacted whole, then cut: a cut first could leave a prefix of a secret to read.
    detail = f": {_shorten(redact(failure.message, secrets))}" if failure.message else ""
    return redact(f"cannot read {failure.subject}: {said}{detail} — {hint(failure)}", secrets)


def hint(failure: GraphFailure) -> str:
    """What to check for this failure."""
    if failure.kind == "token":
        return (
            "check the credentials: AZURE_TENANT_ID, AZURE_CLIENT_ID and a secret, certificate or "
            "federated token (workload identity, GitHub OIDC), a managed identity, `az login`, "
            "or a token from --graph-token / ENTRAFORM_GRAPH_TOKEN"
        )
    if failure.kind == "throttled":
        return (
            "Graph is throttling this app and tenant (other apps or runs may share its budget); "
            "nothing was written: rerun later, or raise --graph-max-wait "
            "(ENTRAFORM_GRAPH_MAX_WAIT)"
        )
    if failure.kind == "network":
        return "check network access to Graph (proxy, firewall, DNS) and --graph-url"
    if failure.kind == "malformed":
        return "check --graph-url and any proxy between entraform and Graph, then rerun"
    return _http_hint(failure)


def _http_hint(failure: GraphFailure) -> str:
    status, context = failure.status, failure.context
    if status == 401:
        return (
            "the token was rejected: check that it is for Microsoft Graph, unexpired, "
            "and issued by the right tenant"
        )
    if status == 403:
        return _FORBIDDEN.get(context, READ_PERMISSIONS)
    if status == 404:
        return _NOT_FOUND.get(context, _OTHER)
    if status == 400:
        return "check the group filter in the policy; Graph rejected the query"
    return _OTHER


_OTHER = "rerun; if it persists, check Graph service health"
_FORBIDDEN = {
    "assignments": (
        "grant the Application.Read.All application permission and admin-consent it, "
        "to read which groups are assigned to the enterprise application"
    ),
}
_NOT_FOUND = {
    "assignments": (
        "check the service principal id: it is the enterprise application's object id, "
        "not the application (client) id"
    ),
    "members": "the group was deleted or hidden while entraform was reading; rerun",
    "owners": "the group was deleted or hidden while entraform was reading; rerun",
}


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove bearer tokens and known secret values from text meant for people."""
    text = _BEARER.sub("Bearer ***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _shorten(message: str, limit: int = 300) -> str:
    line = " ".join(message.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def parsed(body: Any) -> Any:
    """A JSON body, or None when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, TypeError):
        return None


def error_of(body: Any) -> tuple[str, str]:
    """Graph's error code and message from an error body, if it is one."""
    data = parsed(body) if isinstance(body, (bytes, str)) else body
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code") or ""), str(error.get("message") or "")


def is_credential_error(exc: Exception) -> bool:
    """True for an error of the credential (azure-identity, azure-core), not of the network."""
    return type(exc).__module__.startswith(("azure.", "kiota_authentication"))
