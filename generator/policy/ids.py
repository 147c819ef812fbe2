"""Which LiteLLM ids organizations and teams get: the group object id, or it behind a prefix.

LiteLLM's Microsoft SSO adds a user, at every login, to each existing team whose id is one of
their direct groups. A prefix makes entraform's team ids ones that login can never match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scheme = Literal["group_id", "prefixed"]
DEFAULT_PREFIX = "entraform-"


@dataclass(frozen=True)
class Ids:
    """The id scheme: `group_id` (no prefix) or `prefixed` (prefix + group object id)."""

    scheme: Scheme = "group_id"
    prefix: str = DEFAULT_PREFIX

    def of(self, group_id: str) -> str:
        """The LiteLLM organization or team id for a group."""
        return self.prefix + group_id if self.scheme == "prefixed" else group_id

    def group_of(self, object_id: str) -> str:
        """The group object id an id of this scheme was made from."""
        return object_id.removeprefix(self.prefix) if self.scheme == "prefixed" else object_id

    @property
    def lead(self) -> str:
        """The text every id starts with before the group object id (empty for group_id)."""
        return self.prefix if self.scheme == "prefixed" else ""

    def describe(self) -> str:
        """The scheme as the manifest records it and messages name it."""
        return f"prefixed:{self.prefix}" if self.scheme == "prefixed" else "group_id"

    @classmethod
    def parse(cls, recorded: str) -> Ids:
        """The inverse of `describe`; ValueError for what `describe` never writes."""
        scheme, _, prefix = recorded.partition(":")
        if scheme == "prefixed" and prefix:
            return cls("prefixed", prefix)
        if recorded != "group_id":
            raise ValueError(f"no id scheme {recorded!r}")
        return cls()
