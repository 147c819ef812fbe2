"""The fast path of a snapshot's check: lists whose every entry is plainly valid, read in C.

A large snapshot is nearly all valid references met before and users with the usual fields.
These answer only "all plainly valid" (with what was read) or None; on None the reader walks
the list entry by entry and says what is wrong, so a problem is reported exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import itemgetter, methodcaller
from typing import Any

_REFERENCE = itemgetter("@odata.type", "id")


def references(
    items: list[Any],
    kinds: Mapping[str, str],
    checked: Mapping[tuple[str, str], object],
    known: Mapping[str, set[str] | None],
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]] | None:
    """The (@odata.type, id) pairs of a list of references and those not checked before.

    None unless all are valid. `kinds` holds the types found valid, `checked` the pairs,
    `known` the ids of each kind.
    """
    try:
        found = set(map(_REFERENCE, items))
    except (TypeError, KeyError):  # not an object, a field missing, a value unhashable
        return None
    new = found.difference(checked)
    for odata_type, object_id in new:
        kind = kinds.get(odata_type)
        ids = known.get(kind or "")
        if not (kind and isinstance(object_id, str) and object_id):
            return None
        if ids is not None and object_id not in ids:
            return None
    return found, new


def typed(items: list[dict[str, Any]], fields: Mapping[str, tuple[type, ...]]) -> bool:
    """True when each field of every object, where present, has one of its types exactly."""
    # JSON gives exact types; anything else (a subclass) is left to the reader's isinstance.
    return all(
        set(map(type, map(methodcaller("get", name), items))) <= set(kinds)
        for name, kinds in fields.items()
    )
