"""A second core for rendering: the later jobs done in a forked copy of this process.

A large tenant's first run spends most of its time rendering organization files, and each file
is independent of the others. Where forking is cheap and safe (Linux, a process with one
thread, a second CPU to run on, memory left for two more copies of this process) and there is
enough to render, a child renders the later jobs and hands its files back through a pipe while
this process renders the earlier ones. The child only saves time: when it fails in any way,
this process renders its jobs too, so the files and every error raised are exactly those of
rendering alone. Other work a run has to do anyway may be done here `meanwhile`, while the child
renders: the child then takes more of the jobs.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Generic, NoReturn, TypeVar

Job = TypeVar("Job")
Value = TypeVar("Value")
Files = dict[str, str]
Render = Callable[[Sequence[Job]], Files]
# Member lines each side must render for a fork to pay for itself: a root of 20,000 lines
# renders in 50 to 80 ms with a child or without, one of 100,000 in 0.8 times the time alone.
ENOUGH = 25_000
# Processes of a split under way, this one's child or this one: a second split would only
# share the same two cores.
_SPLIT: list[int] = []
_STOPS = {signal.SIGINT, signal.SIGTERM}
# A memory cgroup's limit and usage files, in cgroup v2 and in v1.
_V2 = ("memory.max", "memory.current")
_V1 = ("memory.limit_in_bytes", "memory.usage_in_bytes")


class Later(Generic[Value]):
    """Work done while a child renders, if one does; otherwise when its value is first asked for."""

    def __init__(self, work: Callable[[], Value], weight: int) -> None:
        self.work, self.weight = work, weight
        # The result in a tuple of one, or the error raised: done, whatever the work returns.
        self.done: tuple[Value] | Exception | None = None

    def value(self) -> Value:
        """The work's result; an error it raised is raised here, where it would have been."""
        done = self.run() if self.done is None else self.done
        if isinstance(done, BaseException):
            raise done
        return done[0]

    def run(self) -> tuple[Value] | Exception:
        """Do the work now; keep and return its result, or its error."""
        done: tuple[Value] | Exception
        try:
            done = (self.work(),)
        except Exception as exc:  # raised when the value is asked for, as if done then
            done = exc
        self.done = done
        return done


# Work that a split starting now may do in this process, in the order it was offered.
_MEANWHILE: list[Later[Any]] = []


@contextlib.contextmanager
def meanwhile(work: Callable[[], Value], weight: int) -> Iterator[Later[Value]]:
    """Offer `work`, as costly as rendering `weight` member lines, to a split inside."""
    later = Later(work, weight)
    _MEANWHILE.append(later)
    try:
        yield later
    finally:
        _MEANWHILE.remove(later)


def spread(render: Render[Job], jobs: Sequence[Job], weights: Sequence[int]) -> Files:
    """`render` over every job, the later ones in a child when that pays; files in job order.

    With a child, this process also does the work offered `meanwhile` and renders less.
    """
    aside = [later for later in _MEANWHILE if later.done is None]
    # Each side renders enough to pay for the fork, whatever else this one does: a single root
    # is not sent away whole, and its files may be split instead. Nor does an offer cost a
    # fork: where it leaves this side too little, the cut ignores it.
    cuts = (_balanced(weights, sum(later.weight for later in aside)), _balanced(weights))
    cut = next((c for c in cuts if min(sum(weights[:c]), sum(weights[c:])) >= ENOUGH), None)
    if cut is None or not _forks():
        return render(jobs)
    return _with_child(render, jobs[:cut], jobs[cut:], aside)


def _forks() -> bool:
    """Whether a fork is safe here and has a second CPU and the memory to run on."""
    # A fork copies only this thread: a lock another thread held stays held in the child. On
    # macOS, system libraries may not survive a fork without an exec. Where children are
    # ignored, the system reaps them unasked and none can be waited for.
    return (
        sys.platform == "linux"
        and not _SPLIT
        and signal.getsignal(signal.SIGCHLD) is not signal.SIG_IGN
        and _threads() == 1
        and len(os.sched_getaffinity(0)) > 1
        and _room()
    )


def _threads() -> int:
    """Threads of this process, those that C libraries start too."""
    status = Path("/proc/self/status").read_text()
    found = re.search(r"^Threads:\s+([0-9]+)$", status, re.M)
    return int(found[1]) if found else 0


def _room() -> bool:
    """Whether the memory left would hold two more copies of this process: a child and growth."""
    # A child shares this process's pages until either writes to them; the objects the child
    # only reads are written too, by their reference counts, and its own files come on top.
    try:
        own = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        return 2 * own < min(_left())
    except (OSError, ValueError, IndexError):  # no way to tell: no fork
        return False


def _left(root: Path = Path("/")) -> list[int]:
    """Bytes of memory left: the machine's, and under each limit of this process's cgroups."""
    meminfo = (root / "proc/meminfo").read_text()
    found = re.search(r"^MemAvailable:\s+([0-9]+) kB$", meminfo, re.M)
    left = [int(found[1]) * 1024] if found else []
    for line in (root / "proc/self/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        if number == "0":
            base, (limit, usage) = root / "sys/fs/cgroup", _V2
        elif "memory" in controllers.split(","):
            base, (limit, usage) = root / "sys/fs/cgroup/memory", _V1
        else:
            continue
        parts = Path(path).parts[1:]
        for depth in range(len(parts), -1, -1):  # a group and every group above it
            level = base.joinpath(*parts[:depth])
            with contextlib.suppress(OSError, ValueError):  # no limit there, or none readable
                left.append(int((level / limit).read_text()) - int((level / usage).read_text()))
    return left


def _balanced(weights: Sequence[int], here: int = 0) -> int:
    """The cut that splits the jobs, in order, into two parts of the nearest weights.

    `here` weighs on the first part already: the work this process does beside its jobs.
    """
    total, before = here + sum(weights), here
    for cut, weight in enumerate(weights):
        if 2 * (before + weight) > total:
            # The job that crosses half goes to the side it leaves lighter.
            return cut + 1 if before + weight - total / 2 < total / 2 - before else cut
        before += weight
    return len(weights)


def _with_child(
    render: Render[Job], first: Sequence[Job], later: Sequence[Job], aside: Sequence[Later[Any]]
) -> Files:
    """The first jobs' files rendered here and the later ones' in a child, in job order.

    The work `aside` is done here too, after the first jobs.
    """
    read, write = os.pipe()
    # Ctrl-C waits until each side is ready for it: a child stopped before its `try` would
    # unwind this process's stack, and one forked unseen would be left running.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
    try:
        pid = os.fork()
    except OSError:  # no process to spare: render here
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(read)
        os.close(write)
        return render([*first, *later])
    if pid == 0:
        _child(render, later, read, write, held)
    _SPLIT.append(pid)
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            done = render(first)
            for work in aside:
                work.run()
            # Read before waiting: a child that fills the pipe waits for this read to finish.
            sent = _received(pipe)
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        os.waitpid(pid, 0)
        _SPLIT.remove(pid)
    return {**done, **(render(later) if sent is None else sent)}


def _received(pipe: BinaryIO) -> Files | None:
    """The child's files; None when it left without sending them whole."""
    try:
        found: Files = pickle.load(pipe)  # our own child's, through a pipe only we hold
    except (EOFError, pickle.UnpicklingError):
        return None
    return found


def _child(
    render: Render[Job], jobs: Sequence[Job], read: int, write: int, held: set[int | signal.Signals]
) -> NoReturn:
    """Render the jobs, send the files and leave, without the parent's exit handlers or buffers."""
    code = 1
    try:
        _SPLIT.append(os.getpid())
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(read)
        # Short of memory, the kernel stops this process first: its parent renders its jobs.
        with contextlib.suppress(OSError):
            Path("/proc/self/oom_score_adj").write_text("1000")
        files = render(jobs)
        with os.fdopen(write, "wb") as pipe:
            # Written as it is encoded: a whole copy of half the files would be memory held twice.
            pickle.dump(files, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        code = 0
    finally:
        os._exit(code)  # whatever went wrong, the parent renders these jobs again and says why
