"""The sources of a tenant: what the policy needs from it, and one way to open either source."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from generator.directory import Directory

if TYPE_CHECKING:
    from generator.sources.graph.settings import GraphSettings

# The user fields every identity setting can draw on; Graph only returns what is selected.
USER_FIELDS = ("id", "displayName", "userPrincipalName", "mail", "accountEnabled", "userType")


@dataclass(frozen=True)
class GroupSelector:
    """Which groups a rule selects: exactly one of names, ids, prefix or regex."""

    names: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    prefix: str | None = None
    regex: str | None = None


@dataclass(frozen=True)
class Needs:
    """Everything a source must read so the policy can be applied, and no more."""

    selectors: tuple[GroupSelector, ...]
    transitive: bool = True
    owners: bool = False
    service_principal_id: str | None = None
    group_filter: str | None = None
    user_fields: tuple[str, ...] = USER_FIELDS


class Source(Protocol):
    """Anything that can produce a Directory for the policy's needs."""

    def read(self, needs: Needs) -> Directory:
        """Read the groups, members, owners and users that `needs` asks for."""
        ...


@dataclass(frozen=True)
class SourceOptions:
    """Where a command reads the tenant: a snapshot file when given, else Microsoft Graph."""

    snapshot: Path | None = None
    graph: GraphSettings | None = field(default=None, repr=False)
    # 0: errors only, 1: progress, 2: every pause and retry as well.
    verbosity: int = 1

    @property
    def quiet(self) -> bool:
        """True when only errors are to be printed."""
        return self.verbosity == 0


def open_source(options: SourceOptions) -> Source:
    """The source the options name; Graph's client is imported only when it is the one."""
    if options.snapshot is not None:
        from generator.sources.snapshot import SnapshotSource

        return SnapshotSource(options.snapshot)
    from generator.sources.graph import GraphSource, Progress
    from generator.sources.graph.settings import GraphSettings

    progress = Progress(sys.stderr, verbosity=options.verbosity)
    return GraphSource(options.graph or GraphSettings(), progress)
