"""Terraform labels: readable, collision-free, and sticky once written."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

MAX_SLUG = 40
SUFFIX = 8


def slug(name: str) -> str:
    """Return a lowercase identifier fragment from a display name (may be empty)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:MAX_SLUG].rstrip("_")


def allocate(
    objects: Iterable[tuple[str, str]], previous: Mapping[str, str], reserved: Iterable[str] = ()
) -> dict[str, str]:
    """Give each (id, name) a label: its previous one if it had one, else slug plus id suffix.

    The suffix comes from the object id, never from position, so adding or removing other
    objects never changes a label; labels already written are kept so a rename changes
    attributes in place instead of the resource address.
    """
    taken = set(previous.values()) | set(reserved)
    labels: dict[str, str] = {}
    for object_id, name in sorted(objects):
        if object_id in previous:
            labels[object_id] = previous[object_id]
            continue
        base = slug(name) or "group"
        if base[0].isdigit():
            base = "g_" + base
        tail = re.sub(r"[^a-z0-9]", "", object_id.lower()) or "x"
        for width in range(min(SUFFIX, len(tail)), len(tail) + 1):
            label = f"{base}_{tail[:width]}"
            if label not in taken:
                break
        else:
            label = _numbered(f"{base}_{tail}", taken)
        taken.add(label)
        labels[object_id] = label
    return labels


def _numbered(label: str, taken: set[str]) -> str:
    # Only reachable when two ids differ in nothing but punctuation.
    n = 2
    while f"{label}_{n}" in taken:
        n += 1
    return f"{label}_{n}"
