"""The Graph source: reads what the policy needs from Microsoft Graph.

msgraph, kiota and azure-identity are imported only when a read starts, so commands that
never talk to Graph (`--help`, snapshot-based runs) do not pay for them.
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING

from generator.directory import Directory
from generator.errors import ConfigError, SourceError
from generator.sources import Needs
from generator.sources.graph.failures import GraphFailure, describe, redact
from generator.sources.graph.progress import Progress
from generator.sources.graph.settings import GraphSettings
from generator.sources.graph.throttle import Clock

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

__all__ = ["GraphSettings", "GraphSource", "Progress"]


class GraphSource:
    """Reads groups, members, owners and users from Graph; satisfies generator.sources.Source."""

    def __init__(
        self,
        settings: GraphSettings,
        progress: Progress | None = None,
        *,
        clock: Clock | None = None,
        credential: AsyncTokenCredential | None = None,
    ) -> None:
        self.settings = settings
        self.progress = progress
        self._clock = clock  # tests inject a clock that does not really sleep
        self._credential = credential  # tests inject a failing one; otherwise from settings

    def read(self, needs: Needs) -> Directory:
        """Read everything `needs` asks for, or raise SourceError and return nothing."""
        progress = self.progress or Progress(io.StringIO(), verbosity=0)
        try:
            return asyncio.run(self._read(needs, progress))
        except GraphFailure as failure:
            raise SourceError(describe(failure, self.settings.secrets())) from None
        finally:
            progress.close()

    async def _read(self, needs: Needs, progress: Progress) -> Directory:
        from generator.sources.graph.auth import build_credential
        from generator.sources.graph.client import GraphSession
        from generator.sources.graph.reader import Reader

        try:
            credential = self._credential or build_credential(self.settings)
        except ConfigError:
            raise
        except Exception as exc:  # e.g. an unreadable certificate
            message = redact(f"{type(exc).__name__}: {exc}", self.settings.secrets())
            raise GraphFailure("token", "the tenant", "groups", message=message) from None
        progress.debug(f"graph: reading from {self.settings.root}")
        async with GraphSession(self.settings, credential, progress, self._clock) as session:
            return await Reader(session.urls, session, progress).read(needs)
