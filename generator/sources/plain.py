"""The fast path of a snapshot's check: lists whose every entry is plainly valid, read in C.

A large snapshot is nearly all valid references met before and users with the usual fields.
These answer only "all plainly valid" (with what was read) or None; on None the reader walks
the list entry by entry and says what is wrong, so a problem is reported exactly as before.
Either way, `members` builds each Member a list names once, shared by every group.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from operator import itemgetter, methodcaller
from typing import Any

from generator.directory import Member

_TYPE = itemgetter("@odata.type")
_ID = itemgetter("id")


def references(
    items: list[Any],
    kinds: Mapping[str, str],
    checked: Mapping[str, Mapping[str, object]],
    known: Mapping[str, set[str] | None],
) -> dict[str, set[str]] | None:
    """The ids of a list of references by `@odata.type`; None unless all are valid.

    `kinds` holds the types found valid, `checked` the ids met before by type, `known` the ids
    of each kind.
    """
    try:
        types = set(map(_TYPE, items))
        if len(types) == 1:  # nearly every group: users only
            found = {odata_type: set(map(_ID, items)) for odata_type in types}
        else:
            found = {t: {item["id"] for item in items if item["@odata.type"] == t} for t in types}
    except (TypeError, KeyError):  # not an object, a field missing, a value unhashable
        return None
    for odata_type, ids in found.items():
        kind = kinds.get(odata_type)
        new = ids.difference(checked.get(odata_type, ()))
        if kind is None or not all(isinstance(i, str) and i for i in new):
            return None
        ids_of_kind = known.get(kind)
        if ids_of_kind is not None and not new <= ids_of_kind:
            return None
    return found


def typed(items: list[dict[str, Any]], fields: Mapping[str, tuple[type, ...]]) -> bool:
    """True when each field of every object, where present, has one of its types exactly."""
    # JSON gives exact types; anything else (a subclass) is left to the reader's isinstance.
    return all(
        set(map(type, map(methodcaller("get", name), items))) <= set(kinds)
        for name, kinds in fields.items()
    )


def members(
    found: Mapping[str, set[str]], kinds: Mapping[str, str], pools: dict[str, dict[str, Member]]
) -> tuple[Member, ...]:
    """Valid ids by `@odata.type` as Members sorted by kind and id, each built once in `pools`."""
    for odata_type, ids in found.items():
        pool = pools.setdefault(odata_type, {})
        pool.update((i, Member(kinds[odata_type], i)) for i in ids.difference(pool))
    # Every type has one prefix, so types sort by kind; ids sort and are looked up in C.
    by_type = (map(pools[t].__getitem__, sorted(found[t])) for t in sorted(found))
    return tuple(chain.from_iterable(by_type))
