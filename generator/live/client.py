"""A read-only HTTP client for a live LiteLLM proxy.

Threads sharing one httpx.Client, not asyncio: the reads only wait on the network, and adopt and
drift stay plain synchronous code. At most `concurrency` requests are out at once; a 429 or 503
holds every worker for its Retry-After, under one total wait budget (generator.backoff, as the
Graph reader does); any other error status is final.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import httpx

from generator.backoff import WaitBudget, WaitExhausted, retry_after
from generator.errors import ConfigError, SourceError

PAGE_SIZE = 100  # the most /v2/team/list accepts (page_size le=100)
MAX_PAGES = 10_000  # a server that never says it is done must not loop forever
TIMEOUT = 30.0
CONCURRENCY = 16  # requests out at once: enough to hide latency, few enough to spare the proxy
MAX_TOTAL_WAIT = 300.0  # seconds a run may be held back by Retry-After in all
RETRYABLE = frozenset({429, 502, 503, 504})  # the proxy, or what stands before it, is busy
ORGANIZATIONS_UNAVAILABLE = (
    "LiteLLM refused /organization/list (403): organizations need a LiteLLM Enterprise "
    "licence (or the key lacks permission). Organizations and their members were not read; "
    "set LITELLM_LICENSE on the proxy (a proxy_admin_viewer key is enough), or render teams only"
)
# Every command here only reads: the least role that reads all it needs.
ENOUGH = "a key of a proxy_admin_viewer user is enough (terraform apply needs proxy_admin)"
_ROLE = re.compile(r"role\s*=\s*(\w+)")

T = TypeVar("T")
R = TypeVar("R")


class LiteLLMError(SourceError):
    """Reading LiteLLM failed; the message says what to check."""


class StatusError(LiteLLMError):
    """LiteLLM answered with an HTTP error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Gate:
    """One pause for every worker: a Retry-After holds all requests, not only the one answered."""

    def __init__(self, budget: WaitBudget) -> None:
        self._budget = budget
        self._lock = threading.Lock()
        self._not_before = 0.0

    def wait(self) -> None:
        """Return once no pause is in force."""
        while True:
            with self._lock:
                delay = self._not_before - time.monotonic()
            if delay <= 0:
                return
            time.sleep(delay)

    def pause(self, delay: float) -> None:
        """Hold everyone for `delay` s; raise WaitExhausted when the budget does not allow it."""
        with self._lock:
            now = time.monotonic()
            until = now + delay
            if until > self._not_before:  # concurrent answers for the same pause count once
                self._budget.hold(now, until)
                self._not_before = until


class Client:
    """GET-only JSON access to one LiteLLM proxy; the key is never part of a message."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = TIMEOUT,
        concurrency: int = CONCURRENCY,
        max_total_wait: float = MAX_TOTAL_WAIT,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"--litellm-url {base_url!r} is not an http(s) URL")
        if concurrency < 1:
            raise ConfigError(f"--litellm-concurrency must be at least 1, not {concurrency}")
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self._key = api_key
        self._gate = _Gate(WaitBudget(max_total_wait))
        import httpx  # only commands that talk to LiteLLM load it

        # No redirects: following one would send the key to wherever it points.
        self._http = httpx.Client(
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET one route and return its JSON body, waiting as long as LiteLLM asks to."""
        attempt = 0
        while True:
            self._gate.wait()
            response = self._send(path, params)
            if response.status_code not in RETRYABLE:
                break
            # No attempt count: while LiteLLM says when to come back, only the wait budget ends it.
            attempt += 1
            try:
                self._gate.pause(retry_after(response.headers, attempt))
            except WaitExhausted as exc:
                raise LiteLLMError(
                    f"LiteLLM kept answering GET {path} with {response.status_code}: {exc}; "
                    "try again when the proxy is less busy, or lower --litellm-concurrency"
                ) from None
        if not response.is_success:
            raise StatusError(response.status_code, self._status_message(response, path))
        try:
            return response.json()
        except ValueError:
            raise LiteLLMError(
                f"GET {path} did not answer JSON; is {self.base_url} a LiteLLM proxy?"
            ) from None

    def each(self, read: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`read` of every item, at most `concurrency` at a time, in the items' order."""
        todo = list(items)
        if self.concurrency == 1 or len(todo) <= 1:
            return [read(item) for item in todo]
        workers = min(self.concurrency, len(todo))
        with ThreadPoolExecutor(workers, thread_name_prefix="litellm") as pool:
            futures = [pool.submit(read, item) for item in todo]
            try:
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
                failed = next((f.exception() for f in done if f.exception() is not None), None)
                if failed is not None:
                    raise failed
                return [f.result() for f in futures]
            finally:
                # A failure (or Ctrl-C) ends the read: reads not started yet never go out.
                for future in futures:
                    future.cancel()

    def _send(self, path: str, params: Mapping[str, str | int] | None) -> httpx.Response:
        import httpx

        try:
            return self._http.get(self.base_url + path, params=params)
        except httpx.HTTPError as exc:
            raise LiteLLMError(
                f"cannot reach LiteLLM at {self.base_url} ({exc}); check --litellm-url "
                "(LITELLM_API_BASE) and that the proxy is running"
            ) from None

    def _status_message(self, response: httpx.Response, path: str) -> str:
        code = response.status_code
        # Redacted whole, then cut: a cut first could leave a prefix of the key to read.
        detail = self._redact(_server_message(response.content))[:300]
        said = f": {detail}" if detail else ""
        if 300 <= code < 400:
            return (
                f"LiteLLM answered GET {path} with a redirect ({code}) to "
                f"{response.headers.get('Location', '?')}; give the final URL as --litellm-url"
            )
        if code == 401 and (role := _ROLE.search(detail)):
            # LiteLLM answers 401 to a valid key whose role lacks the rights, naming the role.
            return (
                f"the key is valid but its role ({role.group(1)}) may not read GET {path} (401); "
                f"{ENOUGH}{said}"
            )
        if code == 401:
            return f"LiteLLM rejected the key (401) on GET {path}; check LITELLM_API_KEY{said}"
        if code == 403:
            return f"the key may not read GET {path} (403); {ENOUGH}{said}"
        if code == 404:
            return f"GET {path} not found (404){said}"
        return f"LiteLLM failed on GET {path} ({code}){said}"

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text


def _server_message(body: bytes) -> str:
    # LiteLLM answers {"error": {"message": ...}} (ProxyException) or {"detail": ...}.
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        inner = data.get("error", data.get("detail"))
        if isinstance(inner, dict):
            inner = inner.get("message", inner.get("error", inner))
        if inner is not None:
            return str(inner)
    return str(data)
