"""A second core for rendering: the later jobs done in a forked copy of this process.

A large tenant's first run spends most of its time rendering organization files, and each file
is independent of the others. Where forking is cheap and safe (Linux, a process with one
thread, a second CPU to run on, memory left for a second copy of this process) and there is
enough to render, a child renders the later jobs and hands its files back through a pipe while
this process renders the earlier ones. The child only saves time: when it fails in any way,
this process renders its jobs too, so the files and every error raised are exactly those of
rendering alone.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, NoReturn, TypeVar

Job = TypeVar("Job")
Files = dict[str, str]
Render = Callable[[Sequence[Job]], Files]
# The member lines each side must render for a fork to pay: 20,000 lines in all render in 50 to
# 80 ms with a child or without; 100,000 in 0.8 x the time.
ENOUGH = 25_000
# The process that loaded this module, the one that may fork.
_ORIGIN = os.getpid()


def spread(render: Render[Job], jobs: Sequence[Job], weights: Sequence[int]) -> Files:
    """`render` over every job, the later ones in a child when that pays; files in job order."""
    cut = _balanced(weights)
    if min(sum(weights[:cut]), sum(weights[cut:])) < ENOUGH or not _forks():
        return render(jobs)
    return _with_child(render, jobs[:cut], jobs[cut:])


def _forks() -> bool:
    # A fork copies only this thread: a lock another thread held stays held in the child. On
    # macOS, system libraries may not survive a fork without an exec. A child forks no further.
    return (
        sys.platform == "linux"
        and os.getpid() == _ORIGIN
        and threading.active_count() == 1
        and len(os.sched_getaffinity(0)) > 1
        and _room()
    )


def _room() -> bool:
    """Whether the memory left would hold a second copy of this process, all a child can own."""
    # A child shares this process's pages until it writes to them; the objects it only reads
    # are written to as well, by their reference counts, so it may come to copy them all.
    try:
        own = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        return own < min(_left())
    except (OSError, ValueError, TypeError):
        return False


def _left(root: Path = Path("/")) -> list[int]:
    """Bytes of memory left to this process: the machine's, and its control group's if capped."""
    meminfo = (root / "proc/meminfo").read_text()
    found = re.search(r"^MemAvailable:\s+([0-9]+) kB$", meminfo, re.M)
    left = [int(found[1]) * 1024] if found else []
    with contextlib.suppress(OSError, ValueError):  # cgroup v2 only, and only with a limit
        group = (root / "proc/self/cgroup").read_text().splitlines()[-1].removeprefix("0::/")
        limits = root / "sys/fs/cgroup" / group
        limit = (limits / "memory.max").read_text().strip()
        if limit != "max":
            left.append(int(limit) - int((limits / "memory.current").read_text()))
    return left


def _balanced(weights: Sequence[int]) -> int:
    """The cut that splits the jobs, in order, into two parts of the nearest weights."""
    total, before = sum(weights), 0
    for cut, weight in enumerate(weights):
        if 2 * (before + weight) > total:
            # The job that crosses half goes to the side it leaves lighter.
            return cut + 1 if before + weight - total / 2 < total / 2 - before else cut
        before += weight
    return len(weights)


def _with_child(render: Render[Job], first: Sequence[Job], later: Sequence[Job]) -> Files:
    read, write = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no process to spare: render here
        os.close(read)
        os.close(write)
        return {**render(first), **render(later)}
    if pid == 0:
        _child(render, later, read, write)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        try:
            done = render(first)
            # Read before waiting: a child that fills the pipe waits for this read to finish.
            sent = _received(pipe)
        except BaseException:
            os.kill(pid, signal.SIGKILL)
            raise
        finally:
            os.waitpid(pid, 0)
    return {**done, **(render(later) if sent is None else sent)}


def _received(pipe: BinaryIO) -> Files | None:
    """The child's files; None when it left without sending them whole."""
    try:
        found: Files = pickle.load(pipe)  # our own child's, through a pipe only we hold
    except (EOFError, pickle.UnpicklingError):
        return None
    return found


def _child(render: Render[Job], jobs: Sequence[Job], read: int, write: int) -> NoReturn:
    """Render the jobs, send the files and leave, without the parent's exit handlers or buffers."""
    code = 1
    try:
        os.close(read)
        files = render(jobs)
        with os.fdopen(write, "wb") as pipe:
            # Written as it is encoded: a whole copy of half the files would be memory held twice.
            pickle.dump(files, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        code = 0
    finally:
        os._exit(code)  # whatever went wrong, the parent renders these jobs again and says why
