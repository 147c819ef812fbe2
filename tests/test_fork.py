"""A second core for rendering: the same files, the same errors, no child left behind."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from generator import run
from generator.policy.load import parse_policy
from generator.render import fork
from tests.tenants import directory, group, tenant, user

JOBS = [f"file{n}" for n in range(6)]
WEIGHTS = [fork.ENOUGH] * 6


def _by_pid(jobs: Sequence[str]) -> dict[str, str]:
    """Each job's file says which process rendered it."""
    return {job: str(os.getpid()) for job in jobs}


@pytest.fixture
def forking(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Fork wherever the work is enough; the statuses of the children this process waited for."""
    statuses: list[int] = []
    wait = os.waitpid

    def waited(pid: int, options: int) -> tuple[int, int]:
        found = wait(pid, options)
        statuses.append(found[1])
        return found

    # As in a run's process on Linux with two CPUs, whatever else runs in this one.
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(fork, "_room", lambda: True)
    monkeypatch.setattr(os, "waitpid", waited)
    yield statuses
    with pytest.raises(ChildProcessError):  # every child was waited for: none left behind
        wait(-1, os.WNOHANG)


def test_a_child_renders_the_later_jobs_and_the_files_keep_their_order(
    forking: list[int],
) -> None:
    files = fork.spread(_by_pid, JOBS, WEIGHTS)
    assert list(files) == JOBS
    here = str(os.getpid())
    assert [files[j] == here for j in JOBS] == [True] * 3 + [False] * 3
    assert forking == [0]


def test_a_failing_child_leaves_its_jobs_to_this_process(forking: list[int]) -> None:
    parent = os.getpid()

    def render(jobs: Sequence[str]) -> dict[str, str]:
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return _by_pid(jobs)

    assert fork.spread(render, JOBS, WEIGHTS) == _by_pid(JOBS)
    assert forking != [0]


def test_an_error_here_is_raised_and_the_child_is_stopped(forking: list[int]) -> None:
    parent = os.getpid()

    def render(jobs: Sequence[str]) -> dict[str, str]:
        if os.getpid() == parent:
            raise ValueError("this process fails")
        threading.Event().wait(5)  # a child that would outlive the error unless stopped
        return _by_pid(jobs)

    with pytest.raises(ValueError, match="this process fails"):
        fork.spread(render, JOBS, WEIGHTS)
    [status] = forking
    assert os.WIFSIGNALED(status)
    assert os.WTERMSIG(status) == signal.SIGKILL


@pytest.mark.parametrize(
    "weights",
    [
        [fork.ENOUGH // 3 - 1] * 6,  # too little on either side
        [0, 0, 0, 0, 0, fork.ENOUGH * 10],  # all of it in one file: nothing to share
        [1, 1, 1, 1, 1, fork.ENOUGH * 10],
    ],
)
def test_work_that_one_side_would_do_alone_is_rendered_here(
    forking: list[int], weights: list[int]
) -> None:
    files = fork.spread(_by_pid, JOBS, weights)
    assert set(files.values()) == {str(os.getpid())}
    assert forking == []


@pytest.mark.parametrize(
    ("weights", "cut"),
    [
        ([0, 5, 5], 2),
        ([0, 5, 5, 5, 5], 3),
        ([1, 1, 10], 2),
        ([10, 1, 1], 1),
        ([1, 2, 3, 4], 3),
        ([7], 0),
        ([0, 0], 2),
    ],
)
def test_the_jobs_are_cut_where_both_parts_weigh_nearest_alike(
    weights: list[int], cut: int
) -> None:
    assert fork._balanced(weights) == cut


def test_forking_waits_for_one_thread_and_room_for_a_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(fork, "_room", lambda: True)
    assert fork._forks()
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert not fork._forks()
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(fork, "_room", lambda: False)
    assert not fork._forks()
    monkeypatch.setattr(fork, "_room", lambda: True)
    monkeypatch.setattr(fork, "_ORIGIN", os.getpid() + 1)  # this a child of the run's process
    assert not fork._forks()


def test_forking_needs_linux_and_a_second_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    monkeypatch.setattr(fork, "_room", lambda: True)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert not fork._forks()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert not fork._forks()


@pytest.mark.parametrize("layout", ["single", "per-organization"])
def test_terraform_files_rendered_on_two_cores_are_those_rendered_on_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forking: list[int], layout: str
) -> None:
    policy = parse_policy(
        "version: 1\n"
        "litellm: {enterprise: true}\n"
        "organizations:\n  - {rule: o, select: {prefix: Org-}}\n"
        "teams:\n"
        "  - {rule: t, select: {prefix: Team-}, organization: nested}\n"
        "  - {rule: alone, select: {prefix: Alone-}}\n"
        + ("users: {manage: true}\n" if layout == "single" else ""),  # a single root's alone
        "p.yaml",
    )
    nicks = [f"u{n:03d}" for n in range(90)]
    groups = []
    for o in range(4):
        teams = [f"Team-{o}-{t}" for t in range(3)]
        groups.append(group(f"Org-{o}", tuple(nicks[o::5]), tuple(teams)))
        groups += [group(name, tuple(nicks[t::7])) for t, name in enumerate(teams)]
    groups.append(group("Alone-team", tuple(nicks[::3])))
    source = directory(tenant(groups, [user(n) for n in nicks]))
    options = run.Options(tmp_path, layout=layout)
    alone = run.generate(policy, source, options).files
    monkeypatch.setattr(fork, "ENOUGH", 1)
    spread = run.generate(policy, source, options).files
    assert forking == [0]  # one child, of roots in their own folders or of one root's files
    assert list(spread) == list(alone)
    assert spread == alone


def test_forking_needs_room_for_a_second_copy_of_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    monkeypatch.setattr(fork, "_left", lambda: [own * 4, own * 2])
    assert fork._room()
    monkeypatch.setattr(fork, "_left", lambda: [own * 4, own // 2])
    assert not fork._room()


def _machine(root: Path, available_kib: int, group: str, limit: str, used: int) -> Path:
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/meminfo").write_text(
        f"MemTotal:       16000000 kB\nMemAvailable:   {available_kib} kB\n", encoding="utf-8"
    )
    (root / "proc/self/cgroup").write_text(f"0::/{group}\n", encoding="utf-8")
    limits = root / "sys/fs/cgroup" / group
    limits.mkdir(parents=True)
    (limits / "memory.max").write_text(f"{limit}\n", encoding="utf-8")
    (limits / "memory.current").write_text(f"{used}\n", encoding="utf-8")
    return root


def test_memory_left_is_the_machines_and_the_control_groups_below_its_limit(
    tmp_path: Path,
) -> None:
    capped = _machine(tmp_path / "capped", 8_000_000, "ci/job", "1073741824", 73741824)
    assert fork._left(capped) == [8_000_000 * 1024, 1_000_000_000]
    free = _machine(tmp_path / "free", 8_000_000, "ci/job", "max", 73741824)
    assert fork._left(free) == [8_000_000 * 1024]
