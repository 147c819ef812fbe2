"""A second core for rendering: the same files, the same errors, no child left behind."""

from __future__ import annotations

import io
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pytest

from generator import run
from generator.directory import Directory
from generator.policy import Policy
from generator.policy.load import parse_policy
from generator.render import fork
from generator.workspace import writes
from tests.standin import planned, stand_in_tree
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
    monkeypatch.setattr(fork, "_threads", lambda: 1)
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


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt, SystemExit, MemoryError])
def test_a_failing_child_leaves_its_jobs_to_this_process(
    forking: list[int], error: type[BaseException]
) -> None:
    parent = os.getpid()

    def render(jobs: Sequence[str]) -> dict[str, str]:
        if os.getpid() != parent:
            raise error
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


@pytest.mark.parametrize(
    ("weights", "here", "cut"),
    [
        ([5, 5, 5], 5, 1),
        ([5, 5, 5, 5], 10, 1),
        ([1, 1], 10, 0),
        ([0, 4, 4], 0, 2),
    ],
)
def test_work_done_here_besides_weighs_on_the_first_part(
    weights: list[int], here: int, cut: int
) -> None:
    assert fork._balanced(weights, here) == cut


def test_work_offered_meanwhile_is_done_here_while_the_child_renders_more(
    forking: list[int],
) -> None:
    with fork.meanwhile(os.getpid, 2 * fork.ENOUGH) as later:
        files = fork.spread(_by_pid, JOBS, WEIGHTS)
        assert later.done == (os.getpid(),)  # done during the split, not when asked for
    here = str(os.getpid())
    assert [files[j] == here for j in JOBS] == [True] * 2 + [False] * 4
    assert later.value() == os.getpid()
    assert forking == [0]


def test_work_offered_where_nothing_forks_is_done_once_when_asked_for() -> None:
    done: list[int] = []

    def work() -> int:
        done.append(os.getpid())
        return len(done)

    with fork.meanwhile(work, fork.ENOUGH) as later:
        assert fork.spread(_by_pid, JOBS, [1] * 6) == _by_pid(JOBS)
    assert done == []
    assert (later.value(), later.value()) == (1, 1)
    assert done == [os.getpid()]


def test_a_single_root_is_not_sent_away_whole_for_the_work_beside_it(forking: list[int]) -> None:
    with fork.meanwhile(os.getpid, fork.ENOUGH * 10) as later:
        files = fork.spread(_by_pid, ["root"], [fork.ENOUGH * 10])
        assert later.done is None  # left to a split of the root's files, or to whoever asks
    assert files == {"root": str(os.getpid())}
    assert forking == []


def test_work_offered_never_costs_a_fork(forking: list[int]) -> None:
    # Weighed on this side, the work would leave it only the empty first job to render.
    jobs, weights = ["a", "b", "c"], [0, 10 * fork.ENOUGH, 2 * fork.ENOUGH]
    with fork.meanwhile(os.getpid, 10 * fork.ENOUGH) as later:
        files = fork.spread(_by_pid, jobs, weights)
        assert later.done == (os.getpid(),)
    here = str(os.getpid())
    assert [files[j] == here for j in jobs] == [True, True, False]
    assert forking == [0]


def test_work_offered_is_done_by_one_split_only(forking: list[int]) -> None:
    done: list[int] = []
    with fork.meanwhile(lambda: done.append(1), 2 * fork.ENOUGH):
        fork.spread(_by_pid, JOBS, WEIGHTS)
        fork.spread(_by_pid, JOBS, WEIGHTS)
    assert done == [1]
    assert forking == [0, 0]
    assert fork._MEANWHILE == []


def test_an_error_of_work_done_meanwhile_is_raised_where_its_value_is_asked_for(
    forking: list[int],
) -> None:
    def work() -> str:
        raise ValueError("the work fails")

    with fork.meanwhile(work, 2 * fork.ENOUGH) as later:
        files = fork.spread(_by_pid, JOBS, WEIGHTS)
    assert isinstance(later.done, ValueError)  # kept, not done again when asked for
    assert list(files) == JOBS
    for _ in range(2):
        with pytest.raises(ValueError, match="the work fails"):
            later.value()


def test_ctrl_c_in_work_done_meanwhile_stops_the_child_too(forking: list[int]) -> None:
    def work() -> None:
        raise KeyboardInterrupt

    def render(jobs: Sequence[str]) -> dict[str, str]:
        if jobs == JOBS[2:]:
            threading.Event().wait(5)  # a child that would outlive the error unless stopped
        return _by_pid(jobs)

    with pytest.raises(KeyboardInterrupt), fork.meanwhile(work, 2 * fork.ENOUGH):
        fork.spread(render, JOBS, WEIGHTS)
    [status] = forking
    assert os.WTERMSIG(status) == signal.SIGKILL


@pytest.fixture
def fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything a fork asks for, each test taking one thing away."""
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(fork, "_threads", lambda: 1)
    monkeypatch.setattr(fork, "_room", lambda: True)
    monkeypatch.setattr(fork, "_SPLIT", [])


@pytest.mark.usefixtures("fit")
@pytest.mark.parametrize(
    ("target", "name", "value"),
    [
        (sys, "platform", "darwin"),
        (os, "sched_getaffinity", lambda pid: {0}),
        (fork, "_threads", lambda: 2),
        (fork, "_room", lambda: False),
        (fork, "_SPLIT", [12345]),  # a child alive, or this process one
    ],
)
def test_a_fork_needs_linux_a_second_cpu_one_thread_room_and_no_split_under_way(
    monkeypatch: pytest.MonkeyPatch, target: object, name: str, value: object
) -> None:
    assert fork._forks()
    monkeypatch.setattr(target, name, value)
    assert not fork._forks()


@pytest.mark.usefixtures("fit")
def test_no_fork_where_children_are_reaped_unasked() -> None:
    was = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        assert not fork._forks()
    finally:
        signal.signal(signal.SIGCHLD, was)


def test_threads_started_count() -> None:
    before = fork._threads()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert fork._threads() == before + 1
    finally:
        stop.set()
        thread.join()


def test_a_child_splits_no_further(forking: list[int]) -> None:
    def render(jobs: Sequence[str]) -> dict[str, str]:
        found = _by_pid(jobs)
        if jobs == JOBS[3:]:  # the child's: asked to split again, it renders them itself
            found = {
                job: f"{pid}:{os.getpid()}"
                for job, pid in fork.spread(_by_pid, jobs, WEIGHTS[3:]).items()
            }
        return found

    files = fork.spread(render, JOBS, WEIGHTS)
    assert len({files[j] for j in JOBS[3:]}) == 1
    pid, inner = files[JOBS[3]].split(":")
    assert pid == inner != str(os.getpid())
    assert forking == [0]


def test_no_process_to_spare_renders_here(
    forking: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fork() -> int:
        raise BlockingIOError("no process to spare")

    monkeypatch.setattr(os, "fork", no_fork)
    open_before = set(Path("/proc/self/fd").iterdir())
    assert fork.spread(_by_pid, JOBS, WEIGHTS) == _by_pid(JOBS)
    assert set(Path("/proc/self/fd").iterdir()) == open_before
    assert forking == []


def test_files_sent_in_part_are_not_taken() -> None:
    files = _by_pid(JOBS)
    sent = pickle.dumps(files, protocol=pickle.HIGHEST_PROTOCOL)
    assert fork._received(io.BytesIO(sent)) == files
    for cut in range(len(sent)):
        assert fork._received(io.BytesIO(sent[:cut])) is None


def _organizations(users: bool, people: int = 90) -> tuple[Policy, Directory]:
    """Four organizations of three teams each, and a team of none."""
    policy = parse_policy(
        "version: 1\n"
        "litellm: {enterprise: true}\n"
        "organizations:\n  - {rule: o, select: {prefix: Org-}}\n"
        "teams:\n"
        "  - {rule: t, select: {prefix: Team-}, organization: nested}\n"
        "  - {rule: alone, select: {prefix: Alone-}}\n"
        + ("users: {manage: true}\n" if users else ""),
        "p.yaml",
    )
    nicks = [f"u{n:03d}" for n in range(people)]
    groups = []
    for o in range(4):
        teams = [f"Team-{o}-{t}" for t in range(3)]
        groups.append(group(f"Org-{o}", tuple(nicks[o::5]), tuple(teams)))
        groups += [group(name, tuple(nicks[t::7])) for t, name in enumerate(teams)]
    groups.append(group("Alone-team", tuple(nicks[::3])))
    return policy, directory(tenant(groups, [user(n) for n in nicks]))


@pytest.mark.parametrize("layout", ["single", "per-organization"])
def test_terraform_files_rendered_on_two_cores_are_those_rendered_on_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forking: list[int], layout: str
) -> None:
    policy, source = _organizations(users=layout == "single")  # a single root's alone
    options = run.Options(tmp_path, layout=layout)
    alone = run.generate(policy, source, options).files
    monkeypatch.setattr(fork, "ENOUGH", 1)
    spread = run.generate(policy, source, options).files
    assert forking == [0]  # one child, of roots in their own folders or of one root's files
    assert list(spread) == list(alone)
    assert spread == alone


@pytest.mark.integration
@pytest.mark.parametrize("layout", ["single", "per-organization"])
def test_files_rendered_on_two_cores_are_read_by_terraform_as_the_state_says(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    forking: list[int],
    terraform: str,
    layout: str,
) -> None:
    policy, source = _organizations(users=layout == "single")
    monkeypatch.setattr(fork, "ENOUGH", 1)
    out = tmp_path / "out"
    report = run.generate(policy, source, run.Options(out, layout=layout))
    writes.write(out, report.file_changes)
    assert forking == [0]
    found: set[tuple[str, ...]] = set()
    for root in stand_in_tree(out, tmp_path / "stand"):
        for change in planned(terraform, root):
            given = change["change"]["after"]["input"]
            if "user_id" not in given:
                continue  # an organization or team itself
            scope = given.get("organization_id") or given.get("team_id") or "user"
            role = given.get("role") or given.get("user_role")
            found.add((scope, given["user_id"], given["user_email"], role))
    state = report.outcome.state
    wanted = {("user", u.user_id, u.user_email, u.role) for u in state.users}
    for scopes in (state.organizations, state.teams):
        wanted |= {(s.id, m.user_id, m.user_email, m.role) for s in scopes for m in s.members}
    assert found == wanted


def test_the_manifest_is_written_beside_a_split_unless_the_last_run_recorded_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forking: list[int]
) -> None:
    offered: list[fork.Later[list[str]]] = []
    # When a child's files came: how many offers there were, and whether the last was done.
    done_by_then: list[tuple[int, bool]] = []
    meanwhile, received = fork.meanwhile, fork._received

    @contextmanager
    def offer(work: Callable[[], list[str]], weight: int) -> Iterator[fork.Later[list[str]]]:
        with meanwhile(work, weight) as later:
            offered.append(later)
            yield later

    def receive(pipe: BinaryIO) -> dict[str, str] | None:
        done_by_then.append((len(offered), offered[-1].done is not None))
        return received(pipe)

    monkeypatch.setattr(fork, "meanwhile", offer)
    monkeypatch.setattr(fork, "_received", receive)
    monkeypatch.setattr(fork, "ENOUGH", 1)
    options = run.Options(tmp_path)
    for people in (90, 90, 91, 91):
        policy, source = _organizations(users=True, people=people)
        report = run.generate(policy, source, options)
        writes.write(tmp_path, report.file_changes)
    # The first and third runs change the state; the second and fourth find it recorded.
    assert len(offered) == 2
    assert all(later.weight > 0 for later in offered)
    assert done_by_then == [(1, True), (1, True), (2, True), (2, True)]
    assert forking == [0] * 4


def test_forking_needs_room_for_two_more_copies_of_this_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    monkeypatch.setattr(fork, "_left", lambda: [own * 4, own * 3])
    assert fork._room()
    monkeypatch.setattr(fork, "_left", lambda: [own * 4, own * 3 // 2])
    assert not fork._room()
    monkeypatch.setattr(fork, "_left", list)  # nothing known about memory: no fork
    assert not fork._room()


def _machine(root: Path, cgroup: str, limits: dict[str, tuple[str, str]]) -> Path:
    """A /proc and /sys/fs/cgroup with 8 GB available and each group's limit and usage."""
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/meminfo").write_text(
        "MemTotal:       16000000 kB\nMemAvailable:    8000000 kB\n", encoding="utf-8"
    )
    (root / "proc/self/cgroup").write_text(cgroup, encoding="utf-8")
    for folder, (limit, usage) in limits.items():
        v1 = folder.split("/")[0] == "memory"
        names = ("memory.limit_in_bytes", "memory.usage_in_bytes") if v1 else _V2
        (root / "sys/fs/cgroup" / folder).mkdir(parents=True, exist_ok=True)
        (root / "sys/fs/cgroup" / folder / names[0]).write_text(f"{limit}\n", encoding="utf-8")
        (root / "sys/fs/cgroup" / folder / names[1]).write_text(f"{usage}\n", encoding="utf-8")
    return root


_V2 = ("memory.max", "memory.current")
_GB = 1_000_000_000


@pytest.mark.parametrize(
    ("cgroup", "limits", "left"),
    [
        ("0::/\n", {"": ("max", "5")}, []),
        ("0::/ci/job\n", {"ci/job": (str(2 * _GB + 7), "7")}, [2 * _GB]),
        # A limit on the group above counts as well: a job under a capped slice.
        ("0::/ci/job\n", {"ci": (str(_GB), "0"), "ci/job": ("max", "0")}, [_GB]),
        # cgroup v1, whose memory controller has a hierarchy of its own.
        (
            "5:cpu,cpuacct:/x\n4:memory:/ci/job\n0::/\n",
            {"memory/ci/job": (str(3 * _GB), str(_GB)), "memory": ("9223372036854771712", "0")},
            [2 * _GB, 9223372036854771712],
        ),
    ],
)
def test_memory_left_is_the_machines_and_under_each_cgroup_limit(
    tmp_path: Path, cgroup: str, limits: dict[str, tuple[str, str]], left: list[int]
) -> None:
    found = fork._left(_machine(tmp_path, cgroup, limits))
    assert found == [8_000_000 * 1024, *left]


_CTRL_C = """
import os, signal, sys, time
from generator.render import fork
from generator.workspace import writes
os.sched_getaffinity = lambda pid: {0, 1}
fork._room = lambda: True
parent, waited = os.getpid(), []
wait = os.waitpid
os.waitpid = lambda pid, options: waited.append(wait(pid, options)[1]) or (pid, waited[-1])

def render(jobs):
    if os.getpid() == parent:
        os.kill(parent, signal.SIGINT)  # Ctrl-C while the child renders
    time.sleep(30)
    return {}

try:
    fork.spread(render, ["a", "b"], [fork.ENOUGH, fork.ENOUGH])
except KeyboardInterrupt:
    print(waited == [signal.SIGKILL])
"""


def test_ctrl_c_here_stops_the_child_too() -> None:
    # In a process of its own: one thread, as in a run, and a Ctrl-C that stops only it.
    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C], capture_output=True, text=True, timeout=25, check=True
    )
    assert done.stdout == "True\n"
