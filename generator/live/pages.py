"""LiteLLM's paged lists (users, teams, keys), read whole or not at all.

Each list pages at most 100 rows and answers its rows, a total and `total_pages`. The pages are
asked sorted by a unique column, so that they follow one fixed order (LiteLLM's default, newest
first, has ties). A row made or deleted while reading still shifts the rows after it by one: a
row is read twice or missed, the rows found fall short of the total, and the read stops rather
than return a list with someone left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.live.client import MAX_PAGES, PAGE_SIZE, Client, LiteLLMError


@dataclass(frozen=True)
class Listing:
    """One paged list: its route, the fields of its rows, total and id, and how it is asked."""

    path: str
    rows: str
    total: str
    key: str
    size: str = "page_size"
    extra: Mapping[str, str] = field(default_factory=dict)

    def page(self, client: Client, number: int) -> Mapping[str, Any]:
        """One page of the list, sorted by its unique column."""
        params: dict[str, str | int] = {
            "page": number,
            self.size: PAGE_SIZE,
            **self.extra,
            "sort_by": self.key,
            "sort_order": "asc",
        }
        data = client.get(self.path, params)
        if not isinstance(data, dict) or not isinstance(data.get(self.rows), list):
            raise LiteLLMError(f"GET {self.path} did not answer {{{self.rows}: [...]}}")
        if not all(isinstance(row, dict) for row in data[self.rows]):
            raise LiteLLMError(f"GET {self.path} answered {self.rows} that are not objects")
        return data


def read_all(client: Client, listing: Listing) -> list[Mapping[str, Any]]:
    """Every row of a list, each once, in the list's order."""
    first = listing.page(client, 1)
    rows = first[listing.rows]
    if len(rows) >= PAGE_SIZE and not first.get("total_pages"):
        raise LiteLLMError(f"GET {listing.path} answered a full page without total_pages")
    pages = min(int(first.get("total_pages") or 0), MAX_PAGES) if rows else 0
    later = client.each(lambda number: listing.page(client, number), range(2, pages + 1))
    answers = [first, *later]
    found = {str(row[listing.key]): row for data in answers for row in data[listing.rows]}
    totals = [data[listing.total] for data in answers if isinstance(data.get(listing.total), int)]
    if totals and len(found) < max(totals):
        what = listing.rows
        raise LiteLLMError(
            f"the {what} list ended early ({len(found)} of {max(totals)} {what}); {what} "
            "changed while reading, run again"
        )
    return list(found.values())
