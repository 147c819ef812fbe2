"""Graph over msgraph-sdk's request adapter: raw JSON pages, $batch, one shared pace.

The SDK builds URLs, authenticates and runs its middleware; responses come back as raw
httpx responses and are parsed with json.loads, because SDK models cost milliseconds per
object. The SDK's own retry handler is left out of the pipeline: every request goes out at the
pace of one resource-unit budget shared by the whole run, and retries happen here, once.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, replace
from typing import Any

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from kiota_abstractions.method import Method
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph.graph_service_client import GraphServiceClient

from generator.sources.graph import batch
from generator.sources.graph.costs import cost
from generator.sources.graph.failures import (
    FailureKind,
    GraphFailure,
    error_of,
    is_credential_error,
    parsed,
)
from generator.sources.graph.pages import Request
from generator.sources.graph.progress import Progress
from generator.sources.graph.sdk import GraphUrls, http_client, send
from generator.sources.graph.settings import GraphSettings
from generator.sources.graph.throttle import (
    Clock,
    Pacer,
    Ticket,
    WaitExhausted,
    number,
    retry_after,
)

RETRYABLE = frozenset({429, 503, 504})


@dataclass(eq=False)
class _Pending:
    request: Request
    future: asyncio.Future[dict[str, Any]]
    attempts: int = 0


_Outcome = tuple[_Pending, int, dict[str, Any], Any]  # request, status, headers, body


class GraphSession:
    """An authenticated Graph client whose `get` returns page JSON, batching and retrying."""

    def __init__(
        self,
        settings: GraphSettings,
        credential: AsyncTokenCredential,
        progress: Progress,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.root = settings.root
        self.progress = progress
        self.pacer = Pacer(settings.budget, settings.window, settings.max_total_wait, clock)
        self._credential = credential
        self._http = http_client(settings)
        auth = AzureIdentityAuthenticationProvider(
            credential, scopes=[settings.scope], allowed_hosts=[settings.host]
        )  # allowed hosts = the base URL's host, or no Authorization header would be sent
        self.adapter = GraphRequestAdapter(auth, client=self._http)
        self.adapter.base_url = self.root
        self.urls = GraphUrls(GraphServiceClient(request_adapter=self.adapter), settings)
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._throttled_by: tuple[int | None, str] = (None, "")  # the last 429/503/504 seen
        self._workers: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> GraphSession:
        self._workers = [
            asyncio.create_task(self._work()) for _ in range(max(self.settings.concurrency, 1))
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        await self._http.aclose()
        with contextlib.suppress(Exception):  # closing must not hide the run's own error
            await self._credential.close()

    # Reading.

    async def get(self, request: Request) -> dict[str, Any]:
        """The JSON object of one page; raises GraphFailure when the read finally fails."""
        # Next links are absolute; a $batch needs them relative to the base URL.
        if request.url.startswith(self.root + "/"):
            request = replace(request, url=request.url[len(self.root) :])
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(request, future))
        return await future

    async def _work(self) -> None:
        size = max(1, min(self.settings.batch_size, 20))
        while True:
            taken = [await self._queue.get()]
            while len(taken) < size and not self._queue.empty():
                taken.append(self._queue.get_nowait())
            taken = [p for p in taken if not p.future.done()]  # callers gone after a failure
            if not taken:
                continue
            try:
                await self._send(taken)
            except Exception as exc:  # a bug here must fail the run, not leave callers waiting
                for pending in taken:
                    failure = pending.request.failed("malformed", None, "", repr(exc))
                    self._fail(pending, failure)

    async def _send(self, taken: list[_Pending]) -> None:
        relative = [p for p in taken if p.request.url.startswith("/")]
        for pending in (p for p in taken if not p.request.url.startswith("/")):
            await self._send_one(pending)  # a next link on another host cannot go in a $batch
        if len(relative) == 1:
            await self._send_one(relative[0])
        elif relative:
            await self._send_batch(relative)

    async def _send_one(self, pending: _Pending) -> None:
        request = pending.request
        url = request.url if not request.url.startswith("/") else self.root + request.url
        ticket = await self._reserve([pending])
        if ticket is None:
            return
        try:
            response = await self._http_send(Method.GET, url, request.headers)
        except Exception as exc:
            self.pacer.observe(ticket, ticket.cost, 0, None)  # charged or not: assume the worse
            self._transport_failed([pending], exc)
            return
        self.progress.add(requests=1)
        outcome = (pending, response.status_code, dict(response.headers), response.content)
        self._settle(ticket, [outcome])

    async def _send_batch(self, pendings: list[_Pending]) -> None:
        content = batch.body([p.request for p in pendings])
        ticket = await self._reserve(pendings)
        if ticket is None:
            return
        try:
            response = await self._http_send(Method.POST, self.root + "/$batch", (), content)
        except Exception as exc:
            self.pacer.observe(ticket, ticket.cost, 0, None)
            self._transport_failed(pendings, exc)
            return
        self.progress.add(requests=len(pendings))
        if response.status_code in RETRYABLE or not response.is_success:
            status, headers = response.status_code, dict(response.headers)
            self._settle(ticket, [(p, status, headers, response.content) for p in pendings])
            return
        found = batch.answers(response.content, len(pendings))
        if found is None:
            self.pacer.observe(ticket, ticket.cost, 0, None)
            for p in pendings:
                self._fail(p, p.request.malformed("the $batch response has no responses"))
            return
        outcomes: list[_Outcome] = []
        for p, answer in zip(pendings, found, strict=True):
            if answer is None:
                self._fail(p, p.request.malformed("the $batch response lacks this request"))
            else:
                outcomes.append((p, *answer))
        self._settle(ticket, outcomes)

    async def _reserve(self, pendings: list[_Pending]) -> Ticket | None:
        """Wait for the requests' RU to fit the shared budget; None when the wait budget ran out."""
        try:
            return await self.pacer.reserve(sum(cost(p.request.url) for p in pendings))
        except WaitExhausted as exc:
            status, code = self._throttled_by
            for pending in pendings:
                self._fail(pending, self._exhausted(pending, status, code, exc))
            return None

    async def _http_send(
        self,
        method: Method,
        url: str,
        headers: tuple[tuple[str, str], ...],
        content: bytes | None = None,
    ) -> httpx.Response:
        self.progress.add(round_trips=1)
        return await send(self.adapter, method, url, headers, content)

    def _settle(self, ticket: Ticket, outcomes: list[_Outcome]) -> None:
        """Resolve each request from its status and body, or schedule it again."""
        usage = self._learn(ticket, outcomes)
        retry: list[tuple[_Pending, float, str]] = []
        for pending, status, headers, body in outcomes:
            if status in RETRYABLE:
                # No attempt count: while Graph answers with Retry-After, only the wait budget
                # bounds a read, so a long throttled read finishes instead of giving up.
                pending.attempts += 1
                code, _ = error_of(body)
                reason = f"{status} {code}".strip()
                self._throttled_by = (status, code)
                retry.append((pending, retry_after(headers, pending.attempts), reason))
            elif 200 <= status < 300:
                page = parsed(body) if isinstance(body, bytes) else body
                if not isinstance(page, dict):
                    self._fail(pending, pending.request.malformed(f"status {status}, not JSON"))
                elif not pending.future.done():
                    pending.future.set_result(page)
            else:
                code, message = error_of(body)
                self._fail(pending, pending.request.failed("http", status, code, message))
        if retry:
            self._retry(retry, explained=usage is not None)

    def _learn(self, ticket: Ticket, outcomes: list[_Outcome]) -> float | None:
        """Tell the pacer what Graph charged and how full its bucket is; return that share."""
        charged, accepted, usage = 0.0, 0.0, None
        for pending, status, headers, _ in outcomes:
            units = number(headers, "x-ms-resource-unit")
            units = units if units is not None else cost(pending.request.url)
            charged += units
            accepted += units if status != 429 else 0
            share = number(headers, "x-ms-throttle-limit-percentage")
            if share is not None:
                usage = share if usage is None else max(usage, share)
        throttled = sum(status == 429 for _, status, _, _ in outcomes)
        self.progress.add(resource_units=round(charged), throttled=throttled)
        self.pacer.observe(ticket, charged, accepted, usage)
        return usage

    def _retry(self, retry: list[tuple[_Pending, float, str]], *, explained: bool) -> None:
        delay = max(d for _, d, _ in retry)
        reason = retry[0][2]
        try:
            paused = self.pacer.pause(delay, explained=explained)
        except WaitExhausted as exc:
            for pending, _, why in retry:
                status = int(why.split()[0]) if why[:1].isdigit() else None
                code = why.partition(" ")[2] if status else ""
                self._fail(pending, self._exhausted(pending, status, code, exc))
            return
        if paused:
            self.progress.pause(delay, reason, len(retry))
        for pending, _, _ in retry:
            self.progress.retry()
            self._queue.put_nowait(pending)

    def _exhausted(
        self, pending: _Pending, status: int | None, code: str, exc: WaitExhausted
    ) -> GraphFailure:
        c = self.progress.counts
        message = (
            f"{exc}; read {c.groups} groups and {c.member_lists} of {c.member_lists_expected} "
            f"member lists ({c.memberships} memberships) before stopping"
        )
        return pending.request.failed("throttled", status, code, message)

    def _transport_failed(self, pendings: list[_Pending], exc: Exception) -> None:
        if isinstance(exc, httpx.TransportError):
            reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
            retry: list[_Pending] = []
            failed: list[_Pending] = []
            for pending in pendings:
                pending.attempts += 1
                (retry if pending.attempts < self.settings.max_attempts else failed).append(pending)
            for pending in failed:
                self._fail(pending, pending.request.failed("network", None, "", reason))
            if retry:
                delays = [(p, retry_after({}, p.attempts), reason) for p in retry]
                self._retry(delays, explained=True)  # the network, not the budget
            return
        kind: FailureKind = "token" if is_credential_error(exc) else "network"
        message = f"{type(exc).__name__}: {exc}"
        for pending in pendings:
            self._fail(pending, pending.request.failed(kind, None, "", message))

    @staticmethod
    def _fail(pending: _Pending, failure: GraphFailure) -> None:
        if not pending.future.done():
            pending.future.set_exception(failure)
