"""The snapshot file: a tenant's groups and users in Graph's own vocabulary."""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from pathlib import Path

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
    """Serialise a Directory as snapshot JSON: sorted, stable, one final newline.

    The text is exactly what json.dumps(data, indent=2, ensure_ascii=False) writes; it is put
    together here because the standard library indents in pure Python, seconds on a large tenant.
    """
    fields = [
        ("version", _value(FORMAT_VERSION)),
        ("groups", _array([_group_json(g) for g in directory.groups.values()], 1)),
        ("users", _array([_user_json(u) for u in directory.users.values()], 1)),
    ]
    if directory.app_assigned is not None:
        assigned = [
            _object([("principalType", '"Group"'), ("principalId", _value(i))], 2)
            for i in sorted(directory.app_assigned)
        ]
        fields.append(("appRoleAssignedTo", _array(assigned, 1)))
    return _object(fields, 0) + "\n"


Scalar = str | bool | int | None


def _value(value: Scalar) -> str:
    """One scalar as JSON (bool before int: True is an int too)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return encode_basestring(value)


def _object(fields: list[tuple[str, str]], depth: int) -> str:
    """An object of encoded values at `depth`, each field on its own line, two spaces a level."""
    if not fields:
        return "{}"
    inner = "\n" + "  " * (depth + 1)
    body = ("," + inner).join(f"{encode_basestring(k)}: {v}" for k, v in fields)
    return "{" + inner + body + "\n" + "  " * depth + "}"


def _array(items: list[str], depth: int) -> str:
    """An array of encoded items at `depth`, one item a line."""
    if not items:
        return "[]"
    inner = "\n" + "  " * (depth + 1)
    return "[" + inner + ("," + inner).join(items) + "\n" + "  " * depth + "]"


def _template(keys: tuple[str, ...], depth: int) -> str:
    """A str.format template of an object with these keys at `depth`, for encoded values."""
    return "{" + _object([(k, "{}") for k in keys], depth) + "}"  # its own braces doubled


# Members and users are most of a snapshot: each filled into a template made once.
_MEMBER = _template(("@odata.type", "id"), 4)
_USER = _template(
    ("id", "displayName", "userPrincipalName", "mail", "accountEnabled", "userType"), 2
)


def _members_json(members: tuple[Member, ...]) -> str:
    member = _MEMBER.format
    encoded = encode_basestring
    return _array([member(encoded(m.odata_type), encoded(m.id)) for m in members], 3)


def _group_json(group: Group) -> str:
    fields = [
        ("id", _value(group.id)),
        ("displayName", _value(group.display_name)),
        ("description", _value(group.description)),
        ("mail", _value(group.mail)),
        ("securityEnabled", _value(group.security_enabled)),
        ("members", _members_json(group.members) if group.members_read else "null"),
    ]
    if group.owners is not None:
        fields.append(("owners", _members_json(group.owners)))
    return _object(fields, 2)


def _user_json(user: User) -> str:
    return _USER.format(
        encode_basestring(user.id),
        _value(user.display_name),
        _value(user.user_principal_name),
        _value(user.mail),
        _value(user.account_enabled),
        _value(user.user_type),
    )
