"""Graph's JSON $batch: up to 20 GETs in one POST, and each one's answer taken back out."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from generator.sources.graph.failures import parsed
from generator.sources.graph.pages import Request

# One answer: status, headers and body, or None where the batch lacks that request's answer.
Answer = tuple[int, dict[str, Any], Any]


def body(requests: Sequence[Request]) -> bytes:
    """The POST body that asks for every request, each by its index."""
    return json.dumps(
        {
            "requests": [
                {"id": str(i), "method": "GET", "url": r.url}
                | ({"headers": dict(r.headers)} if r.headers else {})
                for i, r in enumerate(requests)
            ]
        }
    ).encode()


def answers(content: bytes, count: int) -> list[Answer | None] | None:
    """Each request's answer, in the requests' order; None when the batch has no answers."""
    found = parsed(content)
    rows = found.get("responses") if isinstance(found, dict) else None
    if not isinstance(rows, list):
        return None
    by_id = {str(r.get("id")): r for r in rows if isinstance(r, dict)}
    result: list[Answer | None] = []
    for i in range(count):
        row = by_id.get(str(i))
        if row is None or not isinstance(row.get("status"), int):
            result.append(None)
            continue
        headers = row.get("headers")
        result.append(
            (int(row["status"]), headers if isinstance(headers, dict) else {}, row.get("body"))
        )
    return result
