"""Small tenants built in code: snapshot dicts in Graph's vocabulary, and their directories."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from generator.directory import Directory
from generator.sources import snapshot

NAMESPACE = uuid.UUID("00000000-0000-4000-8000-00000000e17a")


def oid(name: str) -> str:
    """A stable, realistic object id for a name."""
    return str(uuid.uuid5(NAMESPACE, name))


def user(nick: str, **fields: Any) -> dict[str, Any]:
    """A Graph user object; fields override the defaults."""
    data: dict[str, Any] = {
        "id": oid("user/" + nick),
        "displayName": nick.title(),
        "userPrincipalName": f"{nick}@contoso.test",
        "mail": f"{nick}@contoso.test",
        "accountEnabled": True,
        "userType": "Member",
    }
    return data | fields


def ref(kind: str, name: str) -> dict[str, str]:
    """A member reference, as /members returns it."""
    prefix = "user/" if kind == "user" else "group/" if kind == "group" else f"{kind}/"
    return {"@odata.type": f"#microsoft.graph.{kind}", "id": oid(prefix + name)}


def group(
    name: str, users: tuple[str, ...] = (), groups: tuple[str, ...] = (), **fields: Any
) -> dict[str, Any]:
    """A Graph group with user and nested-group members."""
    members = [ref("user", u) for u in users] + [ref("group", g) for g in groups]
    data: dict[str, Any] = {
        "id": oid("group/" + name),
        "displayName": name,
        "description": None,
        "mail": None,
        "securityEnabled": True,
        "members": members,
    }
    return data | fields


def tenant(
    groups: list[dict[str, Any]], users: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    """A snapshot document."""
    return {"version": 1, "groups": groups, "users": users, **extra}


def directory(data: dict[str, Any]) -> Directory:
    """Parse a snapshot document into a Directory."""
    return snapshot.loads(json.dumps(data))


def write(path: Path, data: dict[str, Any]) -> Path:
    """Write a snapshot document and return its path."""
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path
