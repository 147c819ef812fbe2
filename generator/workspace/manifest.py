"""The manifest: a digest of every file entraform wrote, so a hand edit is caught exactly."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

NAME = "entraform-manifest.json"
VERSION = 1
DEFAULT_IDS = "group_id"


def digest(text: str) -> str:
    """The SHA-256 of a file's text as written (UTF-8)."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def dumps(digests: Mapping[str, str], ids: str = DEFAULT_IDS) -> str:
    """The manifest for the digests of a set of written files: sorted, one file per line.

    `ids` is the id scheme the files were written with, recorded only when it is not the
    default, so that a later run can refuse to switch it silently.
    """
    data: dict[str, object] = {
        "generated_by": "entraform: do not edit; it records what the last run wrote",
        "version": VERSION,
    }
    if ids != DEFAULT_IDS:
        data["ids"] = ids
    data["files"] = {name: digests[name] for name in sorted(digests) if name != NAME}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def ids_of(text: str) -> str:
    """The id scheme a manifest records (the default when it records none)."""
    try:
        found = json.loads(text).get("ids", DEFAULT_IDS)
    except (ValueError, AttributeError):
        return DEFAULT_IDS
    return found if isinstance(found, str) else DEFAULT_IDS


def loads(text: str) -> dict[str, str] | None:
    """File name → digest from a manifest's text; None when it is not a manifest of ours."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    found = data.get("files")
    if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
        return None
    return {str(k): v for k, v in found.items()}
