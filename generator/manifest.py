"""The manifest: a digest of every file entraform wrote, so a hand edit is caught exactly."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

NAME = "entraform-manifest.json"
VERSION = 1


def digest(text: str) -> str:
    """The SHA-256 of a file's text as written (UTF-8)."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def dumps(digests: Mapping[str, str]) -> str:
    """The manifest for the digests of a set of written files: sorted, one file per line."""
    data = {
        "generated_by": "entraform: do not edit; it records what the last run wrote",
        "version": VERSION,
        "files": {name: digests[name] for name in sorted(digests) if name != NAME},
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


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
