"""The reader's view of Graph: page requests and a way to get them. No SDK imports here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from generator.sources.graph.failures import Context, FailureKind, GraphFailure


@dataclass(frozen=True)
class Request:
    """One GET of a Graph page and what it is reading, for messages."""

    url: str  # relative to the base URL ("/groups?..."), or an absolute next link
    subject: str
    context: Context
    headers: tuple[tuple[str, str], ...] = ()

    def follow(self, link: str) -> Request:
        """The same read, continued at `@odata.nextLink`."""
        return replace(self, url=link)

    def failed(
        self, kind: FailureKind, status: int | None, code: str, message: str
    ) -> GraphFailure:
        """This read's failure, for the message people get."""
        return GraphFailure(kind, self.subject, self.context, status, code, message)

    def malformed(self, message: str) -> GraphFailure:
        """This read's failure on an answer that is not what Graph documents."""
        return self.failed("malformed", None, "", message)


class FirstPages(Protocol):
    """Builds the request for the first page of each list a read needs."""

    def groups(self, odata_filter: str | None, select: list[str], subject: str) -> Request:
        """The first page of groups matching an OData filter (all groups when None)."""
        ...

    def members(self, group_id: str, select: list[str], subject: str) -> Request:
        """The first page of a group's direct members."""
        ...

    def owners(self, group_id: str, select: list[str], subject: str) -> Request:
        """The first page of a group's owners."""
        ...

    def assignments(self, service_principal_id: str, subject: str) -> Request:
        """The first page of principals assigned to an enterprise application."""
        ...


class Pages(Protocol):
    """Returns page JSON; raises GraphFailure when a read fails."""

    async def get(self, request: Request) -> dict[str, Any]:
        """The JSON object of one page."""
        ...
