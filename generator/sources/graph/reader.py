"""What the policy needs read from Graph, read concurrently, and the Directory built from it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import replace
from typing import Any

from generator.directory import GROUP, USER, Directory, Group, Member, User
from generator.sources import Needs
from generator.sources.graph.failures import READ_PERMISSIONS
from generator.sources.graph.odata import (
    GROUP_FIELDS,
    IN_LIMIT,
    and_clause,
    chunks,
    group_of,
    groups_subject,
    in_clause,
    may_match,
    member_of,
    name,
    selector_queries,
)
from generator.sources.graph.pages import FirstPages, Pages, Request
from generator.sources.graph.progress import Progress

# Graph field name -> User attribute.
USER_ATTRIBUTES = {
    "displayName": "display_name",
    "userPrincipalName": "user_principal_name",
    "mail": "mail",
    "accountEnabled": "account_enabled",
    "userType": "user_type",
}


class Reader:
    """Reads selected groups, their members (nested ones too), owners and users.

    Every read starts as soon as what it needs has arrived: a selected group's members with
    the page of the group list that holds it, a nested group's with its parent's member page.
    """

    def __init__(self, first: FirstPages, pages: Pages, progress: Progress) -> None:
        self.first = first
        self.pages = pages
        self.progress = progress
        self._tasks: set[asyncio.Task[None]] = set()
        self._groups: dict[str, Group] = {}
        self._selected: set[str] = set()
        self._reading: set[str] = set()  # groups whose members are being read
        self._met: set[str] = set()  # groups met as members
        self._unchecked: dict[str, Group] = {}  # of those, not yet held to source.filter
        self._left_out: set[str] = set()  # nested groups source.filter leaves out
        self._members: dict[str, tuple[Member, ...]] = {}
        self._owners: dict[str, tuple[Member, ...]] = {}
        self._users: dict[str, User] = {}
        self._limited: set[str] = set()
        self._needs = Needs(selectors=())

    async def read(self, needs: Needs) -> Directory:
        """Read everything `needs` asks for; raises GraphFailure on the first final failure."""
        self._needs = needs
        assigned = await self._assigned(needs.service_principal_id)
        self._spawn(self._select_groups(needs, assigned))
        await self._drain()
        self._report()
        # Owners are read for selected groups only; nested-only groups keep None. Under direct
        # membership a nested-only group's members are not read, and the group says so. A
        # nested group source.filter leaves out is no member at all, as if it were not there.
        groups = [
            replace(
                g,
                members=tuple(
                    m
                    for m in self._members.get(g.id, ())
                    if m.kind != GROUP or m.id not in self._left_out
                ),
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

    async def _select_groups(self, needs: Needs, assigned: frozenset[str] | None) -> None:
        queries = selector_queries(needs.selectors)
        # Assigned groups are fetched by id when that is no more requests than the selectors'
        # queries (or when the selectors need every group); otherwise selected, then intersected.
        by_ids = assigned is not None and (
            not queries or None in queries or len(chunks(sorted(assigned))) <= len(queries)
        )
        if assigned is not None and by_ids:
            queries = [in_clause("id", chunk) for chunk in chunks(sorted(assigned))]
        queries = list(dict.fromkeys(and_clause(q, needs.group_filter) for q in queries))

        def kept(group: Group) -> bool:
            if assigned is None:
                return True
            return group.id in assigned and (not by_ids or may_match(group, needs.selectors))

        requests = [self.first.groups(q, list(GROUP_FIELDS), groups_subject(q)) for q in queries]
        await _all([self._list_groups(r, kept) for r in requests])
        self.progress.info(f"graph: {len(self._selected)} groups selected")

    async def _list_groups(self, request: Request, kept: Callable[[Group], bool]) -> None:
        """Select the groups of one list, each as soon as its page arrives."""
        async for rows in self._pages(request):
            for row in rows:
                group = group_of(row, request)
                if kept(group) and group.id not in self._selected:
                    self._selected.add(group.id)
                    self._left_out.discard(group.id)  # it passed the filter in this query
                    self._groups.setdefault(group.id, group)
                    self.progress.add(groups=1)
                    self._read_members_once(group)
                    if self._needs.owners:
                        self._spawn(self._read_owners(group))

    def _read_members_once(self, group: Group) -> None:
        if group.id not in self._reading:
            self._reading.add(group.id)
            self._spawn(self._read_members(group))

    async def _read_members(self, group: Group) -> None:
        self.progress.add(member_lists_expected=1)
        select = sorted(set(self._needs.user_fields) | set(GROUP_FIELDS))
        request = self.first.members(group.id, select, f"the members of group {name(group)}")
        rows = await self._collect(request)
        members = []
        for row in rows:
            member = member_of(row, request)
            members.append(member)
            if member.kind == USER:
                self._see_user(row, member.id)
            elif member.kind == GROUP:
                self._reach(group_of(row, request))
        self._members[group.id] = tuple(sorted(set(members)))
        self.progress.add(member_lists=1, memberships=len(rows))

    def _reach(self, nested: Group) -> None:
        """A group met as a member: held to source.filter, then kept (and followed)."""
        if nested.id in self._met or nested.id in self._groups:
            return
        self._met.add(nested.id)
        if self._needs.group_filter is None:
            self._keep(nested)
            return
        self._unchecked[nested.id] = nested
        if len(self._unchecked) >= IN_LIMIT:
            self._check_filter()

    def _keep(self, nested: Group) -> None:
        # Its row came with its parent's page, so keeping it costs no request: every member
        # reference then resolves. Direct membership never follows a nested group's members,
        # and reading them would pull in its nested groups too, down to the whole closure at
        # transitive cost; so they are read only when transitive (nesting resolved locally;
        # the seen sets make cycles harmless).
        self._groups.setdefault(nested.id, nested)
        if self._needs.transitive:
            self._read_members_once(nested)

    def _check_filter(self) -> None:
        """Start asking Graph which of up to IN_LIMIT unchecked groups pass source.filter."""
        taken = dict(list(self._unchecked.items())[:IN_LIMIT])
        for group_id in taken:
            del self._unchecked[group_id]
        self._spawn(self._filtered(taken))

    async def _filtered(self, taken: dict[str, Group]) -> None:
        query = and_clause(in_clause("id", sorted(taken)), self._needs.group_filter)
        request = self.first.groups(query, ["id"], "the nested groups source.filter keeps")
        passed = {str(row.get("id")) for row in await self._collect(request)}
        for group_id, nested in taken.items():
            if group_id in passed or group_id in self._selected:
                self._keep(nested)
            else:
                self._left_out.add(group_id)

    async def _read_owners(self, group: Group) -> None:
        select = sorted(set(self._needs.user_fields) | {"id"})
        request = self.first.owners(group.id, select, f"the owners of group {name(group)}")
        owners = []
        for row in await self._collect(request):
            owner = member_of(row, request)
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

    async def _pages(self, request: Request) -> AsyncIterator[list[dict[str, Any]]]:
        """The rows of each page of a collection, following `@odata.nextLink` to its end."""
        while True:
            page = await self.pages.get(request)
            value = page.get("value")
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise request.malformed("a page without a `value` list")
            yield value
            link = page.get("@odata.nextLink")
            if link is None:
                return
            if not isinstance(link, str) or not link:
                raise request.malformed("an `@odata.nextLink` that is not a URL")
            request = request.follow(link)

    async def _collect(self, request: Request) -> list[dict[str, Any]]:
        """Every row of a collection."""
        return [row async for rows in self._pages(request) for row in rows]

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._tasks.add(asyncio.create_task(coro))

    async def _drain(self) -> None:
        """Wait for every task, including those spawned meanwhile; cancel all on a failure."""
        try:
            while self._tasks or self._unchecked:
                if not self._tasks:  # the last nested groups met, fewer than a full check
                    self._check_filter()
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
        if self._left_out:
            self.progress.info(
                f"graph: {len(self._left_out)} nested groups left out by source.filter "
                "(their members are not members of the groups they are nested in)"
            )
        if self._limited:
            examples = ", ".join(sorted(self._limited)[:3])
            self.progress.warn(
                f"{len(self._limited)} users came back with limited information "
                f"(no userPrincipalName and no mail), e.g. {examples}; {READ_PERMISSIONS}"
            )


async def _all(coros: list[Coroutine[Any, Any, None]]) -> None:
    """Run concurrently; on the first failure cancel the rest and raise it."""
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
