"""What Graph charges for a request in resource units (RU), and the budgets it grants."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

WINDOW = 10.0  # seconds; Microsoft states every identity budget per 10 s
# RU per window by tenant size: S under 50 users, M 50 to 500, L over 500.
SIZE_CLASSES = {"S": 3500, "M": 5000, "L": 8000}
_BASE = {"members": 3, "transitiveMembers": 5, "getByIds": 3}
_VERSIONS = ("v1.0", "beta")


def cost(url: str) -> int:
    """The documented RU cost of one request (relative or absolute URL)."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if segments and segments[0] in _VERSIONS:
        segments = segments[1:]
    base = 2 if segments == ["users"] else _BASE.get(segments[-1] if segments else "", 1)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    top = params.get("$top", "")
    modifier = -("$select" in params) + ("$expand" in params) - (top.isdigit() and int(top) < 20)
    return max(1, base + modifier)


def budget(value: str) -> int:
    """RU per 10 s from a size class (S, M, L) or a positive whole number."""
    text = value.strip().upper()
    if text in SIZE_CLASSES:
        return SIZE_CLASSES[text]
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise ValueError(f"{value!r} is not S, M, L or a positive number of RU per 10 s")
