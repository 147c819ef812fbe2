"""What the policy needs read from Graph, read concurrently, and the Directory built from it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import replace
from typing import Any

from generator.directory import GROUP, USER, Directory, Group, Member, User
from generator.sources import GroupSelector, Needs
from generator.sources.graph.failures import READ_PERMISSIONS
from generator.sources.graph.pages import FirstPages, Pages, Request
from generator.sources.graph.progress import Progress

GROUP_FIELDS = ("id", "displayName", "description", "mail", "securityEnabled")
# Graph field name -> User attribute.
USER_ATTRIBUTES = {
    "displayName": "display_name",
    "userPrincipalName": "user_principal_name",
    "mail": "mail",
    "accountEnabled": "account_enabled",
    "userType": "user_type",
}
IN_LIMIT = 15  # values per `in (...)` clause Graph accepts


class Reader:
    """Reads selected groups, their members (nested ones too), owners and users."""

    def __init__(self, first: FirstPages, pages: Pages, progress: Progress) -> None:
        self.first = first
        self.pages = pages
        self.progress = progress
        self._tasks: set[asyncio.Task[None]] = set()
        self._groups: dict[str, Group] = {}
        self._members: dict[str, tuple[Member, ...]] = {}
        self._owners: dict[str, tuple[Member, ...]] = {}
        self._users: dict[str, User] = {}
        self._limited: set[str] = set()
        self._needs = Needs(selectors=())

    async def read(self, needs: Needs) -> Directory:
        """Read everything `needs` asks for; raises GraphFailure on the first final failure."""
        self._needs = needs
        assigned = await self._assigned(needs.service_principal_id)
        selected = await self._selected_groups(needs, assigned)
        self.progress.add(groups=len(selected))
        self.progress.info(f"graph: {len(selected)} groups selected")
        self._groups.update((g.id, g) for g in selected)
        for group in selected:
            self._spawn(self._read_members(group))
            if needs.owners:
                self._spawn(self._read_owners(group))
        await self._drain()
        self._report()
        # Owners are read for selected groups only; nested-only groups keep None. Under direct
        # membership a nested-only group's members are not read, and the group says so.
        groups = [
            replace(
                g,
                members=self._members.get(g.id, ()),
                owners=self._owners.get(g.id),
                members_read=g.id in self._members,
            )
            for g in self._groups.values()
        ]
        # Only assignments of groups in the directory: the policy uses them to narrow its
        # groups, and a snapshot must not refer to groups it does not hold.
        kept = None if assigned is None else assigned & self._groups.keys()
        return Directory.of(groups, self._users.values(), kept)

    async def _assigned(self, service_principal_id: str | None) -> frozenset[str] | None:
        if service_principal_id is None:
            return None
        subject = f"the app role assignments of service principal {service_principal_id}"
        rows = await self._collect(self.first.assignments(service_principal_id, subject))
        assigned = frozenset(
            str(r["principalId"])
            for r in rows
            if r.get("principalType") == "Group" and r.get("principalId")
        )
        self.progress.info(f"graph: {len(assigned)} groups assigned to the enterprise application")
        return assigned

    async def _selected_groups(self, needs: Needs, assigned: frozenset[str] | None) -> list[Group]:
        queries = _selector_queries(needs.selectors)
        # Assigned groups are fetched by id when that is no more requests than the selectors'
        # queries (or when the selectors need every group); otherwise selected, then intersected.
        by_ids = assigned is not None and (
            not queries or None in queries or len(_chunks(sorted(assigned))) <= len(queries)
        )
        if assigned is not None and by_ids:
            queries = [_in("id", chunk) for chunk in _chunks(sorted(assigned))]
        queries = list(dict.fromkeys(_and(q, needs.group_filter) for q in queries))
        requests = [self.first.groups(q, list(GROUP_FIELDS), _groups_subject(q)) for q in queries]
        results = await _all([self._collect(r) for r in requests])
        groups: dict[str, Group] = {}
        for request, rows in zip(requests, results, strict=True):
            for row in rows:
                group = _group(row, request)
                groups.setdefault(group.id, group)
        selected = [
            g
            for g in groups.values()
            if assigned is None
            or (g.id in assigned and (not by_ids or _may_match(g, needs.selectors)))
        ]
        return sorted(selected, key=lambda g: g.id)

    async def _read_members(self, group: Group) -> None:
        self.progress.add(member_lists_expected=1)
        select = sorted(set(self._needs.user_fields) | set(GROUP_FIELDS))
        subject = f"the members of group {_name(group)}"
        request = self.first.members(group.id, select, subject)
        rows = await self._collect(request)
        members = []
        for row in rows:
            member = _member(row, request)
            members.append(member)
            if member.kind == USER:
                self._see_user(row, member.id)
            elif member.kind == GROUP and member.id not in self._groups:
                # Its row came with this page, so keeping it costs no request: every member
                # reference then resolves. Direct membership never follows a nested group's
                # members, and reading them would pull in its nested groups too, down to the
                # whole closure at transitive cost; so they are read only when transitive
                # (nesting resolved locally; the seen set makes cycles harmless).
                nested = _group(row, request)
                self._groups[nested.id] = nested
                if self._needs.transitive:
                    self._spawn(self._read_members(nested))
        self._members[group.id] = tuple(sorted(set(members)))
        self.progress.add(member_lists=1, memberships=len(rows))

    async def _read_owners(self, group: Group) -> None:
        select = sorted(set(self._needs.user_fields) | {"id"})
        subject = f"the owners of group {_name(group)}"
        request = self.first.owners(group.id, select, subject)
        owners = []
        for row in await self._collect(request):
            owner = _member(row, request)
            owners.append(owner)
            if owner.kind == USER:
                self._see_user(row, owner.id)
        self._owners[group.id] = tuple(sorted(set(owners)))

    def _see_user(self, row: dict[str, Any], user_id: str) -> None:
        if user_id in self._users:
            return  # a user in many groups is built once
        fields = self._needs.user_fields
        values = {USER_ATTRIBUTES[f]: row.get(f) for f in fields if f in USER_ATTRIBUTES}
        self._users[user_id] = User(id=user_id, **values)
        self.progress.add(users=1)
        asks_identity = "userPrincipalName" in fields or "mail" in fields
        if asks_identity and row.get("userPrincipalName") is None and row.get("mail") is None:
            self._limited.add(user_id)

    async def _collect(self, request: Request) -> list[dict[str, Any]]:
        """Every row of a collection, following `@odata.nextLink` until it is absent."""
        rows: list[dict[str, Any]] = []
        while True:
            page = await self.pages.get(request)
            value = page.get("value")
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise request.malformed("a page without a `value` list")
            rows.extend(value)
            link = page.get("@odata.nextLink")
            if link is None:
                return rows
            if not isinstance(link, str) or not link:
                raise request.malformed("an `@odata.nextLink` that is not a URL")
            request = request.follow(link)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._tasks.add(asyncio.create_task(coro))

    async def _drain(self) -> None:
        """Wait for every task, including those spawned meanwhile; cancel all on a failure."""
        try:
            while self._tasks:
                done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
                self._tasks -= done
                # Look at every finished task so no failure goes unretrieved, then raise the first.
                failures = [e for t in done if (e := t.exception()) is not None]
                if failures:
                    raise failures[0]
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _report(self) -> None:
        c = self.progress.counts
        self.progress.info(
            f"graph: read {c.member_lists} member lists ({c.memberships} memberships, "
            f"{len(self._users)} users) in {c.requests} requests, {c.resource_units} RU at "
            f"{self.progress.pace()}" + (f", {c.retries} retries" if c.retries else "")
        )
        if self._limited:
            examples = ", ".join(sorted(self._limited)[:3])
            self.progress.warn(
                f"{len(self._limited)} users came back with limited information "
                f"(no userPrincipalName and no mail), e.g. {examples}; {READ_PERMISSIONS}"
            )


def _selector_queries(selectors: Sequence[GroupSelector]) -> list[str | None]:
    """OData filters covering the selectors; [None] means all groups (a regex needs them all)."""
    if any(s.regex is not None for s in selectors):
        return [None]
    queries: list[str | None] = []
    for s in selectors:
        queries += [_in("displayName", chunk) for chunk in _chunks(s.names)]
        queries += [_in("id", chunk) for chunk in _chunks(s.ids)]
        if s.prefix is not None:
            queries.append(f"startswith(displayName,{_quote(s.prefix)})")
    return queries


def _may_match(group: Group, selectors: Sequence[GroupSelector]) -> bool:
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


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[i : i + IN_LIMIT] for i in range(0, len(values), IN_LIMIT)]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in(field: str, values: Iterable[str]) -> str:
    return f"{field} in ({','.join(_quote(v) for v in values)})"


def _and(query: str | None, extra: str | None) -> str | None:
    if query is None or extra is None:
        return query if extra is None else extra
    return f"{query} and ({extra})"


def _groups_subject(query: str | None) -> str:
    return "the group list" + (f" (filter {query})" if query else "")


def _name(group: Group) -> str:
    return f"'{group.display_name}' ({group.id})" if group.display_name else group.id


def _group(row: dict[str, Any], request: Request) -> Group:
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


def _member(row: dict[str, Any], request: Request) -> Member:
    odata_type, object_id = row.get("@odata.type"), row.get("id")
    if not isinstance(odata_type, str) or not isinstance(object_id, str) or not object_id:
        raise request.malformed("a directory object without `@odata.type` or `id`")
    return Member.from_odata(odata_type, object_id)


async def _all(
    coros: list[Coroutine[Any, Any, list[dict[str, Any]]]],
) -> list[list[dict[str, Any]]]:
    """Run concurrently; on the first failure cancel the rest and raise it."""
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
