"""LiteLLM's paged lists read whole: every row once, and a page that cannot be trusted refused."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

import pytest

from generator.live.client import PAGE_SIZE, Client, LiteLLMError
from generator.live.pages import Listing, read_all

T = TypeVar("T")
R = TypeVar("R")
USERS = Listing("/user/list", "users", "total", "user_id", extra={"role": "internal_user"})


class Pages:
    """A stand-in client that answers pages of a fixed list, as the proxy would shape them."""

    def __init__(self, ids: list[str], **override: Any) -> None:
        self.ids, self.override = ids, override
        self.asked: list[Mapping[str, str | int]] = []
        self.churn: Callable[[list[str]], None] | None = None  # before page 2 is answered

    def get(self, path: str, params: Mapping[str, str | int]) -> Any:
        assert path == "/user/list"
        self.asked.append(params)
        page, size = int(params["page"]), int(params["page_size"])
        if page == 2 and self.churn is not None:
            self.churn(self.ids)
        rows = [{"user_id": i} for i in self.ids[(page - 1) * size :][:size]]
        pages = -(-len(self.ids) // size)
        return {"users": rows, "total": len(self.ids), "total_pages": pages, **self.override}

    def each(self, read: Callable[[T], R], items: Iterable[T]) -> list[R]:
        return [read(item) for item in items]


def _read(pages: Pages) -> list[str]:
    return [str(row["user_id"]) for row in read_all(cast(Client, pages), USERS)]


def test_every_page_is_asked_sorted_by_the_unique_column_and_each_row_kept_once() -> None:
    ids = [f"u-{n:04d}" for n in range(2 * PAGE_SIZE + 1)]
    pages = Pages(ids)
    assert _read(pages) == ids
    assert [p["page"] for p in pages.asked] == [1, 2, 3]
    assert pages.asked[0] == {
        "page": 1,
        "page_size": PAGE_SIZE,
        "role": "internal_user",
        "sort_by": "user_id",
        "sort_order": "asc",
    }


def test_an_empty_list_asks_one_page() -> None:
    pages = Pages([], total_pages=7)
    assert _read(pages) == []
    assert len(pages.asked) == 1


def test_a_row_read_twice_is_kept_once_and_the_one_pushed_past_it_is_missed_and_refused() -> None:
    pages = Pages([f"u-{n:04d}" for n in range(PAGE_SIZE + 50)])
    pages.churn = lambda ids: ids.insert(0, "a-newcomer")  # signs in while page 1 is read
    with pytest.raises(LiteLLMError, match=r"the users list ended early \(150 of 151 users\)"):
        _read(pages)


def test_a_full_page_without_a_page_count_is_refused_not_taken_for_the_whole_list() -> None:
    with pytest.raises(LiteLLMError, match="full page without total_pages"):
        _read(Pages([f"u-{n}" for n in range(PAGE_SIZE)], total_pages=None))
    assert _read(Pages(["u-1"], total_pages=None)) == ["u-1"]  # one short page is the whole list


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([], r"did not answer \{users: \[\.\.\.\]\}"),
        ({"users": None}, r"did not answer \{users"),
        ({"users": ["u-1"]}, "answered users that are not objects"),
    ],
)
def test_an_answer_of_another_shape_is_refused(answer: Any, message: str) -> None:
    pages = Pages([])
    pages.get = lambda path, params: answer  # type: ignore[method-assign]
    with pytest.raises(LiteLLMError, match=message):
        _read(pages)
