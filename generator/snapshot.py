"""The snapshot file: a tenant's groups and users in Graph's own vocabulary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.directory import Directory, Group, Member, User
from generator.errors import ConfigError, SourceError
from generator.source import Needs

FORMAT_VERSION = 1


class SnapshotSource:
    """Reads a snapshot file; the offline twin of the Graph source."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, needs: Needs) -> Directory:
        """Load the whole snapshot; the policy selects from it."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SourceError(f"cannot read snapshot {self.path}: {exc.strerror}") from exc
        return loads(text, str(self.path))


def loads(text: str, origin: str = "<snapshot>") -> Directory:
    """Parse snapshot JSON into a Directory; unknown fields are ignored."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{origin}:{exc.lineno}: not valid JSON: {exc.msg}") from exc
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        raise ConfigError(f'{origin}: not an entraform snapshot (expected "version": 1)')
    try:
        groups = [_group(g) for g in data.get("groups", [])]
        users = [_user(u) for u in data.get("users", [])]
        assigned = data.get("appRoleAssignedTo")
        app_assigned = None if assigned is None else _assigned_groups(assigned)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{origin}: malformed snapshot entry: {exc!r}") from exc
    _reject_duplicates(origin, "group", [g.id for g in groups])
    _reject_duplicates(origin, "user", [u.id for u in users])
    return Directory.of(groups, users, app_assigned)


def dumps(directory: Directory) -> str:
    """Serialise a Directory as snapshot JSON: sorted, stable, one final newline."""
    data = {
        "version": FORMAT_VERSION,
        "groups": [_group_json(g) for g in directory.groups.values()],
        "users": [_user_json(u) for u in directory.users.values()],
    }
    if directory.app_assigned is not None:
        data["appRoleAssignedTo"] = [
            {"principalType": "Group", "principalId": i} for i in sorted(directory.app_assigned)
        ]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _members(items: Any) -> tuple[Member, ...]:
    return tuple(sorted({Member.from_odata(m["@odata.type"], str(m["id"])) for m in items}))


def _group(item: dict[str, Any]) -> Group:
    owners = item.get("owners")
    return Group(
        id=str(item["id"]),
        display_name=str(item.get("displayName") or ""),
        description=item.get("description"),
        mail=item.get("mail"),
        security_enabled=item.get("securityEnabled"),
        members=_members(item.get("members") or []),
        owners=None if owners is None else _members(owners),
    )


def _user(item: dict[str, Any]) -> User:
    return User(
        id=str(item["id"]),
        display_name=item.get("displayName"),
        user_principal_name=item.get("userPrincipalName"),
        mail=item.get("mail"),
        account_enabled=item.get("accountEnabled"),
        user_type=item.get("userType"),
    )


def _assigned_groups(items: Any) -> list[str]:
    # Users and service principals can be assigned too; only groups select anything here.
    return [str(a["principalId"]) for a in items if a.get("principalType", "Group") == "Group"]


def _member_json(member: Member) -> dict[str, str]:
    return {"@odata.type": member.odata_type, "id": member.id}


def _group_json(group: Group) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": group.id,
        "displayName": group.display_name,
        "description": group.description,
        "mail": group.mail,
        "securityEnabled": group.security_enabled,
        "members": [_member_json(m) for m in group.members],
    }
    if group.owners is not None:
        data["owners"] = [_member_json(m) for m in group.owners]
    return data


def _user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "displayName": user.display_name,
        "userPrincipalName": user.user_principal_name,
        "mail": user.mail,
        "accountEnabled": user.account_enabled,
        "userType": user.user_type,
    }


def _reject_duplicates(origin: str, kind: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for object_id in ids:
        if object_id in seen:
            raise ConfigError(f"{origin}: {kind} {object_id} appears twice")
        seen.add(object_id)
