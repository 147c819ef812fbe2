"""How to reach Graph: endpoint, credentials and limits. No SDK imports here."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from generator.sources.graph.costs import SIZE_CLASSES, WINDOW

GLOBAL_BASE_URL = "https://graph.microsoft.com/v1.0"


@dataclass(frozen=True)
class GraphSettings:
    """Endpoint, credentials and limits of a Graph read."""

    base_url: str = GLOBAL_BASE_URL
    token: str | None = field(default=None, repr=False)  # pre-acquired bearer token
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)  # from AZURE_CLIENT_SECRET only
    certificate_path: str | None = None
    concurrency: int = 8
    budget: float = SIZE_CLASSES["L"]  # RU per window Graph grants the app in this tenant
    window: float = WINDOW  # seconds the budget is stated for; shorter only in tests
    max_total_wait: float = 1200.0  # seconds the run may be held back by pacing and Retry-After
    batch_size: int = 20  # sub-requests per $batch (Graph allows 20); 1 disables batching
    page_size: int = 999  # $top; Graph's maximum, fewer only to exercise paging in tests
    max_attempts: int = 6  # sends of one request before a connection failure becomes final
    authority: str | None = (
        None  # Entra authority host for national clouds, e.g. login.microsoftonline.us
    )
    timeout: float = 100.0  # seconds per HTTP request

    @property
    def root(self) -> str:
        """The base URL without trailing slashes, so paths never arrive as `/v1.0//groups`."""
        return self.base_url.rstrip("/")

    @property
    def host(self) -> str:
        """The host name of the base URL."""
        return urlsplit(self.root).hostname or ""

    @property
    def scope(self) -> str:
        """The app-only scope for this cloud: `https://<graph host>/.default`."""
        parts = urlsplit(self.root)
        if parts.scheme == "https" and parts.hostname:
            return f"https://{parts.hostname}/.default"
        return "https://graph.microsoft.com/.default"  # loopback test servers take any token

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in messages."""
        return tuple(s for s in (self.token, self.client_secret) if s)
