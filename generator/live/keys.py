"""Reading LiteLLM's keys: every key, by owner and use, without keeping a secret or a hash.

`/key/list` (LiteLLM's `key_management_endpoints.py`, v1.108-era) pages at most 100 keys (`size`),
answers `{keys, total_count, current_page, total_pages}`, gives key objects only with
`return_full_object=true`, and leaves out the UI's session keys. A proxy admin viewer key lists
every key; any other role sees only its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.live.client import Client
from generator.live.holdings import LiveKey
from generator.live.pages import Listing, read_all

# The hash tells keys apart across pages; it is used while reading and kept nowhere.
KEYS = Listing("/key/list", "keys", "total_count", "token", "size", {"return_full_object": "true"})


def read_keys(client: Client) -> tuple[LiveKey, ...]:
    """Every key LiteLLM has, sorted by owner."""
    found = [_key(row) for row in read_all(client, KEYS)]
    return tuple(sorted(found, key=lambda k: k.order))


def _key(row: Mapping[str, Any]) -> LiveKey:
    def text(name: str) -> str | None:
        value = row.get(name)
        return None if value is None or value == "" else str(value)

    return LiveKey(
        user_id=text("user_id"),
        team_id=text("team_id"),
        alias=text("key_alias"),
        name=text("key_name"),
        last_active=text("last_active"),
        expires=text("expires"),
        blocked=row.get("blocked") is True,
    )
