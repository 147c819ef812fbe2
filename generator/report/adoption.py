"""What `entraform adopt` tells people (text) and tools (JSON) about one adoption."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.live.adopt import KINDS, Adoption, who


def describe(adoption: Adoption) -> list[str]:
    """The report as lines of text: counts, what apply leaves alone, warnings."""
    lines = [f"adopted (import blocks): {_counts(adoption.adopted) or 'nothing'}"]
    lines.append(f"created by terraform apply: {_counts(adoption.created) or 'nothing'}")
    if adoption.unmanaged or adoption.extra_members:
        lines += [
            "",
            "LiteLLM has what the policy does not render. terraform apply will NOT change or "
            "remove these; remove them in LiteLLM yourself, or select them in the policy:",
        ]
        lines += [f"  {u.describe()}" for u in adoption.unmanaged]
        lines += [
            f"  {e.kind} member {who(e)} ({e.user_id}, role {e.role or '?'}) in "
            f"{e.object_alias!r} ({e.object_id}): not in the group (any more)"
            for e in adoption.extra_members
        ]
    if adoption.admins:
        lines += ["", "Proxy admins left alone (never demoted):"]
        lines += [f"  {a.describe()}" for a in adoption.admins]
    if adoption.warnings:
        lines += ["", "Warnings:"]
        lines += [f"  - {w}" for w in adoption.warnings]
    return lines


def as_dict(adoption: Adoption) -> dict[str, Any]:
    """The report as JSON-ready data."""
    return {
        "imports": [{"kind": i.kind, "address": i.address, "id": i.id} for i in adoption.imports],
        "adopted": dict(sorted(adoption.adopted.items())),
        "created": dict(adoption.created),
        "unmanaged": [vars(u) for u in adoption.unmanaged],
        "extra_members": [vars(e) for e in adoption.extra_members],
        "warnings": list(adoption.warnings),
        "admins_left_alone": [{**vars(a), "message": a.describe()} for a in adoption.admins],
    }


def _counts(counts: Mapping[str, int]) -> str:
    plural = {k: "s" if counts.get(k) != 1 else "" for k in KINDS}
    return ", ".join(f"{counts[k]} {k}{plural[k]}" for k in KINDS if counts.get(k))
