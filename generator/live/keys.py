"""Reading LiteLLM's keys: every key, by owner and use, without keeping a secret or a hash.

`/key/list` (LiteLLM's `key_management_endpoints.py`, v1.108-era) pages at most 100 keys (`size`),
answers `{keys, total_count, current_page, total_pages}`, gives key objects only with
`return_full_object=true`, and leaves out the UI's session keys. A proxy admin viewer key lists
every key; any other role sees only its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.live.client import MAX_PAGES, PAGE_SIZE, Client, LiteLLMError
from generator.live.holdings import LiveKey


def read_keys(client: Client) -> tuple[LiveKey, ...]:
    """Every key LiteLLM has, sorted by owner."""
    first = _page(client, 1)
    pages = min(int(first.get("total_pages") or 0), MAX_PAGES) if first["keys"] else 0
    answers = [first, *client.each(lambda page: _page(client, page), range(2, pages + 1))]
    found: dict[str, LiveKey] = {}
    for number, data in enumerate(answers):
        for index, row in enumerate(data["keys"]):
            if not isinstance(row, dict):
                raise LiteLLMError("GET /key/list answered tokens, not key objects")
            # The hash tells keys apart across pages; it is used here and kept nowhere.
            found[str(row.get("token") or f"#{number}.{index}")] = _key(row)
    totals = [data["total_count"] for data in answers if isinstance(data.get("total_count"), int)]
    if totals and len(found) < max(totals):
        raise LiteLLMError(
            f"the key list ended early ({len(found)} of {max(totals)} keys); keys changed "
            "while reading, run again"
        )
    return tuple(sorted(found.values(), key=lambda k: k.order))


def _page(client: Client, page: int) -> Mapping[str, Any]:
    # Sorted by hash, a unique column: the default (newest first) shifts pages as keys are made.
    params: dict[str, str | int] = {
        "page": page,
        "size": PAGE_SIZE,
        "return_full_object": "true",
        "sort_by": "token",
        "sort_order": "asc",
    }
    data = client.get("/key/list", params)
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise LiteLLMError("GET /key/list did not answer {keys: [...]}")
    return data


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
