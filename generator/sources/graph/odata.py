"""The OData the reader sends and reads back: $filter clauses, and rows as groups and members."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from generator.directory import Group, Member
from generator.sources import GroupSelector
from generator.sources.graph.pages import Request

GROUP_FIELDS = ("id", "displayName", "description", "mail", "securityEnabled")
IN_LIMIT = 15  # values per `in (...)` clause Graph accepts


def selector_queries(selectors: Sequence[GroupSelector]) -> list[str | None]:
    """OData filters covering the selectors; [None] means all groups (a regex needs them all)."""
    if any(s.regex is not None for s in selectors):
        return [None]
    queries: list[str | None] = []
    for s in selectors:
        queries += [in_clause("displayName", chunk) for chunk in chunks(s.names)]
        queries += [in_clause("id", chunk) for chunk in chunks(s.ids)]
        if s.prefix is not None:
            queries.append(f"startswith(displayName,{quote(s.prefix)})")
    return queries


def may_match(group: Group, selectors: Sequence[GroupSelector]) -> bool:
    """A superset of the policy's matching (Graph compares names case-insensitively)."""
    if not selectors:
        return True  # no selector beside the app assignment: every assigned group
    name = group.display_name.casefold()
    for s in selectors:
        if s.regex is not None or group.id.lower() in {i.lower() for i in s.ids}:
            return True
        if name in {n.casefold() for n in s.names}:
            return True
        if s.prefix is not None and name.startswith(s.prefix.casefold()):
            return True
    return False


def chunks(values: Sequence[str]) -> list[Sequence[str]]:
    """The values in runs short enough for one `in (...)` clause."""
    return [values[i : i + IN_LIMIT] for i in range(0, len(values), IN_LIMIT)]


def quote(value: str) -> str:
    """An OData string literal."""
    return "'" + value.replace("'", "''") + "'"


def in_clause(field: str, values: Iterable[str]) -> str:
    """`field in ('a','b')`."""
    return f"{field} in ({','.join(quote(v) for v in values)})"


def and_clause(query: str | None, extra: str | None) -> str | None:
    """Both filters (the extra one in parentheses); either alone when the other is None."""
    if query is None or extra is None:
        return query if extra is None else extra
    return f"{query} and ({extra})"


def groups_subject(query: str | None) -> str:
    """What a group list is, for messages."""
    return "the group list" + (f" (filter {query})" if query else "")


def name(group: Group) -> str:
    """A group as messages name it."""
    return f"'{group.display_name}' ({group.id})" if group.display_name else group.id


def group_of(row: dict[str, Any], request: Request) -> Group:
    """A group row as a Group without members; malformed when it has no id."""
    group_id = row.get("id")
    if not isinstance(group_id, str) or not group_id:
        raise request.malformed("a group without an id")
    return Group(
        id=group_id,
        display_name=str(row.get("displayName") or ""),
        description=row.get("description"),
        mail=row.get("mail"),
        security_enabled=row.get("securityEnabled"),
    )


def member_of(row: dict[str, Any], request: Request) -> Member:
    """A directory object row as a Member; malformed without `@odata.type` or `id`."""
    odata_type, object_id = row.get("@odata.type"), row.get("id")
    if not isinstance(odata_type, str) or not isinstance(object_id, str) or not object_id:
        raise request.malformed("a directory object without `@odata.type` or `id`")
    return Member.from_odata(odata_type, object_id)
