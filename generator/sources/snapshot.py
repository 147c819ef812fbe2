"""The snapshot file: a tenant's groups and users in Graph's own vocabulary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator.directory import Directory, Group, Member, User
from generator.errors import ConfigError, SourceError
from generator.sources import Needs
from generator.sources.snapshot_reader import FORMAT_VERSION, REDO, SnapshotReader


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
    """Parse and strictly validate snapshot JSON into a Directory; unknown fields are ignored."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{origin}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno}); {REDO}"
        ) from exc
    reader = SnapshotReader()
    directory = reader.directory(data)
    if directory is None:
        raise ConfigError(reader.report(origin))
    return directory


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


def _member_json(member: Member) -> dict[str, str]:
    return {"@odata.type": member.odata_type, "id": member.id}


def _group_json(group: Group) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": group.id,
        "displayName": group.display_name,
        "description": group.description,
        "mail": group.mail,
        "securityEnabled": group.security_enabled,
        "members": [_member_json(m) for m in group.members] if group.members_read else None,
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
