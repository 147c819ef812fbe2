"""Writing the output folder: atomic per file, all-or-nothing per run."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from generator import manifest
from generator.errors import OutputError
from generator.plan import FileChange


def write(out: Path, changes: Iterable[FileChange]) -> None:
    """Apply the file changes: stage every new file first, then swap them in and delete.

    The manifest goes in last: it vouches for the other files, so it must never describe
    files that a failure left unwritten.
    """
    changes = list(changes)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out}: {exc.strerror}") from exc
    staged: list[tuple[str, Path]] = []
    try:
        for change in changes:
            if change.new is not None:
                staged.append((change.name, _stage(out, change.new)))
    except OSError as exc:
        _discard(staged)
        raise OutputError(f"cannot write to {out}: {exc.strerror}; nothing was changed") from exc
    last = [s for s in staged if s[0] == manifest.NAME]
    try:
        for name, temp in [s for s in staged if s[0] != manifest.NAME]:
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            temp.replace(out / name)
        for change in changes:
            if change.new is None:
                (out / change.name).unlink(missing_ok=True)
                _remove_if_empty(out, (out / change.name).parent)
        for name, temp in last:
            temp.replace(out / name)
    except OSError as exc:
        raise OutputError(
            f"writing {out} failed part-way: {exc}; restore the folder from version control"
        ) from exc
    finally:
        _discard(staged)


def _remove_if_empty(out: Path, folder: Path) -> None:
    # A root module folder whose last file went; one with anything else in it stays.
    if folder != out and not any(folder.iterdir()):
        folder.rmdir()


def _discard(staged: list[tuple[str, Path]]) -> None:
    # Staged files already renamed into place are gone; only leftovers are removed.
    for _, temp in staged:
        temp.unlink(missing_ok=True)


def write_one(path: Path, text: str) -> None:
    """Replace one file atomically (snapshots, summaries, reports)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _stage(path.parent, text).replace(path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc


def _stage(folder: Path, text: str) -> Path:
    # Same folder as the target, so os.replace is a rename on one file system.
    fd, name = tempfile.mkstemp(dir=folder, prefix=".entraform-", suffix=".tmp")
    temp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        temp.chmod(0o644)
    except OSError:
        temp.unlink(missing_ok=True)
        raise
    return temp
