"""A parsed snapshot checked once: types, ids and references, every problem in words."""

from __future__ import annotations

import json
import re
from typing import Any

from generator.directory import GROUP, ODATA_PREFIX, USER, Directory, Group, Member, User
from generator.sources import plain

FORMAT_VERSION = 1
MAX_PROBLEMS = 20
TEXT = "a string or null"
FLAG = "true, false or null"
# Optional fields and what they hold, as in snapshot.schema.json (a test keeps the two agreed).
GROUP_FIELDS = {"displayName": TEXT, "description": TEXT, "mail": TEXT, "securityEnabled": FLAG}
USER_FIELDS = {
    "displayName": TEXT,
    "userPrincipalName": TEXT,
    "mail": TEXT,
    "accountEnabled": FLAG,
    "userType": TEXT,
}
ODATA_TYPE = re.compile(re.escape(ODATA_PREFIX) + "[A-Za-z]+")
USER_TYPE = ODATA_PREFIX + USER
SECTION_OF = {USER: "users", GROUP: "groups"}
SECTIONS = ("version", "groups", "users", "appRoleAssignedTo")
_ALLOWED: dict[str, tuple[type, ...]] = {TEXT: (str, type(None)), FLAG: (bool, type(None))}
_TYPES = {USER: {name: _ALLOWED[kind] for name, kind in USER_FIELDS.items()}}
REDO = (
    "take the snapshot again with `entraform snapshot`, or correct the file (see docs/snapshot.md)"
)

JsonPath = tuple[str | int, ...]


def show(path: JsonPath) -> str:
    """A JSON path as people write it: `groups[3].members[2].id`."""
    shown = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return shown or "(top level)"


class SnapshotReader:
    """Walks a parsed snapshot once: checks types, ids and references, and builds the objects."""

    def __init__(self) -> None:
        self.problems: list[tuple[JsonPath, str]] = []
        # None when that list or one of its ids is broken: references to it are checked once
        # it is repaired, rather than reported one by one as missing.
        self.user_ids: set[str] | None = None
        self.group_ids: set[str] | None = None
        self.kinds: dict[str, str] = {}
        # Every reference found valid, by @odata.type and id: one Member shared by every group.
        self.members: dict[str, dict[str, Member]] = {}

    def directory(self, data: Any) -> Directory | None:
        """The Directory, or None when there are problems."""
        if not isinstance(data, dict):
            self.problem((), f'expected an object with "version": 1, got {_describe(data)}')
            return None
        version = data.get("version")
        if isinstance(version, bool) or version != FORMAT_VERSION:  # True == 1 in Python
            self.problem(("version",), f"expected {FORMAT_VERSION}, got {_value(data, 'version')}")
            return None  # another version's other problems would only be noise
        raw_users = self.listed(data, "users", True)
        raw_groups = self.listed(data, "groups", True)
        self.group_ids = self.ids(raw_groups, "groups")
        users = self.users(raw_users)
        groups = self.groups(raw_groups)
        assigned = self.assigned(data)
        self.overlap(raw_users)
        if self.problems:
            return None
        return Directory.of(groups, users, assigned)

    def problem(self, path: JsonPath, text: str) -> None:
        self.problems.append((path, text))

    def report(self, origin: str) -> str:
        """Every problem in document order, capped, and what to do about them."""
        ordered = sorted(self.problems, key=_order)
        count = len(ordered)
        lines = [f"  {show(path)}: {text}" for path, text in ordered[:MAX_PROBLEMS]]
        if count > MAX_PROBLEMS:
            lines.append(f"  and {count - MAX_PROBLEMS} more")
        noun = "problem" if count == 1 else "problems"
        return "\n".join(
            [f"{origin}: not a valid entraform snapshot ({count} {noun}):", *lines, REDO]
        )

    def listed(
        self, data: dict[str, Any], key: str, required: bool, parent: JsonPath = ()
    ) -> list[Any] | None:
        """The list under `key`, or None (reported) when it is missing or not a list."""
        value = data.get(key)
        if isinstance(value, list):
            return value
        if key not in data:
            if required:
                text = "missing; expected a list (write [] when there are none)"
                self.problem((*parent, key), text)
        elif value is not None or required:
            self.problem((*parent, key), f"expected a list, got {_describe(value)}")
        return None

    def ids(self, items: list[Any] | None, section: str) -> set[str] | None:
        """The ids of a list's objects (None if one has no id); duplicates name both paths."""
        if items is None:
            return None
        first: dict[str, int] = {}
        broken = False
        for i, item in enumerate(items):
            object_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(object_id, str) or not object_id:
                broken = True  # reported where the entry is checked; a reference may be to it
                continue
            if object_id in first:
                self.problem(
                    (section, i, "id"),
                    f"{object_id} appears twice, also at {show((section, first[object_id], 'id'))}",
                )
            else:
                first[object_id] = i
        return None if broken else set(first)

    def users(self, items: list[Any] | None) -> list[User]:
        self.user_ids = self.ids(items, "users")
        # Known ids mean every entry is an object with one: only the fields are left to check.
        checked = self.user_ids is not None and plain.typed(items or [], _TYPES[USER])
        users = []
        for i, item in enumerate(items or ()):
            if checked or self.entry(item, ("users", i), USER_FIELDS):
                users.append(
                    User(
                        id=item["id"],
                        display_name=item.get("displayName"),
                        user_principal_name=item.get("userPrincipalName"),
                        mail=item.get("mail"),
                        account_enabled=item.get("accountEnabled"),
                        user_type=item.get("userType"),
                    )
                )
        return users

    def groups(self, items: list[Any] | None) -> list[Group]:
        groups = []
        for i, item in enumerate(items or ()):
            path: JsonPath = ("groups", i)
            if not self.entry(item, path, GROUP_FIELDS):
                continue
            if "displayName" not in item:
                self.problem((*path, "displayName"), f"missing; expected {TEXT}")
            # null, not [], says the members were not read (a nested group under direct mode).
            members_read = item.get("members", ()) is not None
            members = self.references(item, path, "members") if members_read else ()
            owners = self.references(item, path, "owners")
            if members is not None:
                groups.append(
                    Group(
                        id=item["id"],
                        display_name=item.get("displayName") or "",
                        description=item.get("description"),
                        mail=item.get("mail"),
                        security_enabled=item.get("securityEnabled"),
                        members=members,
                        owners=owners,
                        members_read=members_read,
                    )
                )
        return groups

    def entry(self, item: Any, path: JsonPath, fields: dict[str, str]) -> bool:
        """Check an object with an id and optional typed fields; True when it can be built."""
        if not isinstance(item, dict):
            self.problem(path, f"expected an object, got {_describe(item)}")
            return False
        valid = self.identifier(item, "id", path)
        for name, expected in fields.items():
            if not isinstance(item.get(name), _ALLOWED[expected]):
                self.problem((*path, name), f"expected {expected}, got {_value(item, name)}")
                valid = False
        return valid

    def identifier(self, item: dict[str, Any], key: str, path: JsonPath) -> bool:
        value = item.get(key)
        if isinstance(value, str) and value:
            return True
        got = "nothing" if key not in item else _describe(value)
        self.problem((*path, key), f"expected a non-empty string (an object id), got {got}")
        return False

    def references(
        self, group: dict[str, Any], path: JsonPath, key: str
    ) -> tuple[Member, ...] | None:
        """A group's members or owners: typed, resolvable, deduplicated and sorted."""
        items = self.listed(group, key, key == "members", path)
        if items is None:
            return None
        known = {USER: self.user_ids, GROUP: self.group_ids}
        valid = plain.references(items, self.kinds, self.members, known)
        if valid is not None:
            return plain.members(valid, self.kinds, self.members)
        found: dict[str, set[str]] = {}
        for j, ref in enumerate(items):
            if not isinstance(ref, dict):
                expected = 'expected an object with "@odata.type" and "id"'
                self.problem((*path, key, j), f"{expected}, got {_describe(ref)}")
                continue
            odata_type, object_id = ref.get("@odata.type"), ref.get("id")
            kind = self.kinds.get(odata_type) if isinstance(odata_type, str) else None
            if kind is None:
                kind = self.kind(ref, (*path, key, j))
            if not isinstance(object_id, str) or not object_id:
                self.identifier(ref, "id", (*path, key, j))
                continue
            if kind is None:
                continue
            ids = known.get(kind)
            if ids is not None and object_id not in ids:
                self.dangling((*path, key, j, "id"), kind, object_id, SECTION_OF[kind])
                continue  # the snapshot is refused: no Member for it
            found.setdefault(ODATA_PREFIX + kind, set()).add(object_id)
        return plain.members(found, self.kinds, self.members)

    def kind(self, ref: dict[str, Any], path: JsonPath) -> str | None:
        """The member kind of a reference's `@odata.type`, remembered once seen valid."""
        odata_type = ref.get("@odata.type")
        if not isinstance(odata_type, str) or not ODATA_TYPE.fullmatch(odata_type):
            got = _value(ref, "@odata.type")
            self.problem(
                (*path, "@odata.type"), f'expected a Graph type like "{USER_TYPE}", got {got}'
            )
            return None
        kind = self.kinds[odata_type] = odata_type.removeprefix(ODATA_PREFIX)
        return kind

    def dangling(self, path: JsonPath, kind: str, object_id: str, section: str) -> None:
        self.problem(path, f"{kind} {object_id} is not in {section}; the snapshot is incomplete")

    def assigned(self, data: dict[str, Any]) -> list[str] | None:
        """Ids of the groups assigned to the enterprise app; users and apps select nothing."""
        items = self.listed(data, "appRoleAssignedTo", False)
        if items is None:
            return None
        groups = []
        for i, item in enumerate(items):
            path: JsonPath = ("appRoleAssignedTo", i)
            if not isinstance(item, dict):
                self.problem(path, f"expected an object, got {_describe(item)}")
                continue
            principal_type = item.get("principalType")
            if not isinstance(principal_type, str) or not principal_type:
                got = _value(item, "principalType")
                self.problem(
                    (*path, "principalType"), f'expected a string such as "Group", got {got}'
                )
            if not self.identifier(item, "principalId", path) or principal_type != "Group":
                continue
            principal_id = item["principalId"]
            if self.group_ids is not None and principal_id not in self.group_ids:
                self.dangling((*path, "principalId"), GROUP, principal_id, "groups")
            groups.append(principal_id)
        return groups

    def overlap(self, users: list[Any] | None) -> None:
        """Report ids that are both a group and a user: one object cannot be both."""
        if self.group_ids is None or self.user_ids is None:
            return
        both = self.group_ids & self.user_ids
        for i, item in enumerate(users or ()):
            object_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(object_id, str) and object_id in both:
                self.problem(("users", i, "id"), f"{object_id} is also the id of a group")


def _order(problem: tuple[JsonPath, str]) -> tuple[Any, ...]:
    path = problem[0]
    head = SECTIONS.index(path[0]) if path and path[0] in SECTIONS else -1
    return (head, *path[1:])


def _value(item: dict[str, Any], key: str) -> str:
    return "nothing" if key not in item else _describe(item[key])


def _describe(value: Any) -> str:
    """A short description of a JSON value for an error message."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + '..."'
