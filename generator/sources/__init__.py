"""The source interface: what the policy needs from a tenant, and who can provide it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from generator.directory import Directory

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
