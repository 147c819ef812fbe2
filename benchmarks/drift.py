"""Benchmark: the drift comparison against the fake LiteLLM, concurrent client beside a serial one.

    python benchmarks/drift.py --teams 5000 --members-per-team 50 --users 50000 \\
        --latency-ms 20 --runs 3

The fake LiteLLM (tests/fakelitellm.py) runs in its own process, holding the desired state of a
synthetic tenant (teams only, every team `--members-per-team` direct members) with some drift
made by hand, and answers every request after `--latency-ms`. The comparison (read_live, then
drift.compare and drift.find_unmanaged) runs here with the client at `--concurrency` and at
concurrency 1, one request at a time. Prints medians of `--runs` runs and the ratio of the
serial client's wall time to each, for the whole comparison and for the read alone. The serial
client runs once: with --baseline-scale K on a tenant K times smaller, its times and requests
multiplied by K. A last run throws a burst of 429 and 503 answers (with Retry-After) at the
concurrent client and checks the result is the same.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import multiprocessing
import random
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from timing import medians  # noqa: E402

from generator import mapping  # noqa: E402
from generator.live import drift  # noqa: E402
from generator.live.client import Client  # noqa: E402
from generator.live.reading import read_live  # noqa: E402
from generator.policy.load import parse_policy  # noqa: E402
from generator.sources import snapshot  # noqa: E402
from generator.state import DesiredState  # noqa: E402

POLICY = """\
version: 1
teams:
  - {rule: teams, select: {prefix: "Team-"}}
"""
IGNORED = ("default_user_id",)


@dataclass(frozen=True)
class Shape:
    """The synthetic tenant's parameters."""

    teams: int
    members: int
    users: int

    def scaled(self, k: int) -> Shape:
        """The same tenant, k times smaller (members per team kept)."""
        return Shape(max(self.teams // k, 1), self.members, max(self.users // k, self.members))


@dataclass(frozen=True)
class Burst:
    """429 and 503 answers the fake gives after some normal ones."""

    count: int
    after: int
    retry_after: str


def main() -> None:
    """Parse arguments, run both clients and the burst, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teams", type=int, default=500)
    parser.add_argument("--members-per-team", type=int, default=50)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--baseline-scale",
        type=int,
        default=1,
        help="run the serial client on a K times smaller tenant",
    )
    parser.add_argument("--burst", type=int, default=64, help="429/503 answers in the burst run")
    parser.add_argument("--retry-after", default="1", help="the burst's Retry-After (seconds)")
    args = parser.parse_args()
    gc.disable()  # as entraform's console script runs
    shape = Shape(args.teams, args.members_per_team, args.users)
    latency = args.latency_ms / 1000
    k = max(args.baseline_scale, 1)

    rows: list[dict[str, Any]] = []
    with _Server(shape, latency) as server:
        runs = [_run(server, args.concurrency) for _ in range(args.runs)]
        rows.append(_median(f"concurrent ({args.concurrency} at a time)", runs))
        if k == 1:
            rows.append(_median("serial (1 at a time), 1 run", [_run(server, 1)]))
    if k > 1:
        with _Server(shape.scaled(k), latency) as small:
            measured = _run(small, 1)
        scaled = {
            **measured,
            **{key: measured[key] * k for key in ("wall", "read", "cpu", "fake_cpu", "requests")},
        }
        rows.append(_median(f"serial (1 at a time), 1 run at 1/{k} size x {k}", [scaled]))
    burst = Burst(args.burst, after=shape.teams // 5, retry_after=args.retry_after)
    with _Server(shape, latency, burst) as throttled:
        rows.append(
            _median(
                f"concurrent, {burst.count} x 429/503 burst", [_run(throttled, args.concurrency)]
            )
        )
    _print(shape, args, rows)


def _median(label: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    digests = {r["digest"] for r in runs}
    return {
        "label": label,
        **medians(runs, ("wall", "read", "requests", "throttled", "cpu", "fake_cpu")),
        "differences": runs[0]["differences"],
        "digest": runs[0]["digest"] if len(digests) == 1 else "differs between runs!",
    }


def _print(shape: Shape, args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    serial = next(r for r in rows if r["label"].startswith("serial"))
    print(
        f"drift: {shape.teams:,} teams, {shape.teams * shape.members:,} team members, "
        f"{args.latency_ms:g} ms per request; concurrent rows are medians of {args.runs} runs"
    )
    print("wall s: read_live + drift.compare + drift.find_unmanaged; read s: read_live alone")
    header = (
        f"{'client':<48} {'wall s':>7} {'ratio':>6} {'read s':>7} {'ratio':>6} {'cpu s':>6} "
        f"{'fake cpu s':>10} {'requests':>8} {'429/503':>7} {'diffs':>5} {'result':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['label']:<48} {r['wall']:>7.2f} {serial['wall'] / r['wall']:>5.1f}x "
            f"{r['read']:>7.2f} {serial['read'] / r['read']:>5.1f}x {r['cpu']:>6.1f} "
            f"{r['fake_cpu']:>10.1f} {r['requests']:>8.0f} {r['throttled']:>7.0f} "
            f"{r['differences']:>5} {r['digest']:>12}"
        )
    if len({r["digest"] for r in rows if "1/" not in r["label"]}) != 1:
        print("different results between clients!")


def _run(server: _Server, concurrency: int) -> dict[str, Any]:
    """One drift comparison against the server; wall time and what the fake saw."""
    server.reset()
    wall, cpu = time.perf_counter(), time.process_time()
    with Client(server.url, server.key, concurrency=concurrency) as client:
        live = read_live(client, (t.id for t in server.state.teams), ())
    read = time.perf_counter() - wall
    differences = drift.compare(server.state, live, IGNORED)
    unmanaged = drift.find_unmanaged(server.state, live, IGNORED)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = json.dumps([drift.as_dicts(differences), drift.unmanaged_dicts(unmanaged)])
    return {
        **server.stats(),
        "wall": wall,
        "read": read,
        "cpu": cpu,
        "differences": len(differences),
        "digest": hashlib.sha256(result.encode()).hexdigest()[:12],
    }


def desired(shape: Shape) -> DesiredState:
    """Teams of `shape.members` random users each, through a snapshot and the policy."""
    rng = random.Random(1)
    people = [f"{n:08x}-0001-4000-8000-000000000000" for n in range(shape.users)]
    groups = [
        {
            "id": f"{n:08x}-0003-4000-8000-000000000000",
            "displayName": f"Team-{n}",
            "description": None,
            "mail": None,
            "securityEnabled": True,
            "members": [
                {"@odata.type": "#microsoft.graph.user", "id": u}
                for u in rng.sample(people, shape.members)
            ],
        }
        for n in range(shape.teams)
    ]
    users = [
        {
            "id": u,
            "displayName": f"User {n}",
            "userPrincipalName": f"user{n}@contoso.test",
            "mail": f"user{n}@contoso.test",
            "accountEnabled": True,
            "userType": "Member",
        }
        for n, u in enumerate(people)
    ]
    text = json.dumps({"version": 1, "groups": groups, "users": users})
    policy = parse_policy(POLICY, "<benchmark policy>")
    return mapping.apply(policy, snapshot.loads(text)).state


class _Server:
    """The fake LiteLLM in a child process, holding `shape` with some drift."""

    def __init__(self, shape: Shape, latency: float, burst: Burst | None = None) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(shape, latency, burst, child), daemon=True
        )
        self.state = desired(shape)

    def __enter__(self) -> _Server:
        self._process.start()
        self.url, self.key = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._process.join(timeout=10)

    def reset(self) -> None:
        """Forget the requests seen so far."""
        self._conn.send("reset")
        self._conn.recv()

    def stats(self) -> dict[str, int]:
        """Requests and 429/503 answers since the last reset."""
        self._conn.send("stats")
        stats: dict[str, int] = self._conn.recv()
        return stats


def _serve(shape: Shape, latency: float, burst: Burst | None, conn: Connection) -> None:
    from tests.fakelitellm import API_KEY, FakeLiteLLM

    fake = FakeLiteLLM(latency=latency)
    fake.mirror(desired(shape))
    teams = list(fake.teams.values())
    for team in teams[::97]:  # a member removed outside Terraform
        team["members_with_roles"].pop(0)
    for team in teams[::211]:  # a member added at an SSO login
        team["members_with_roles"].append(
            {"user_id": "sso-user", "user_email": None, "role": "user"}
        )
    fake.add_team("sso-team", "Created at login", members=[("sso-user", "user", None)])
    gc.freeze()  # the fake's large setup is not rescanned on every request
    if burst:
        fake.fault(429, 503, count=burst.count, after=burst.after, retry_after=burst.retry_after)
    cpu = time.process_time()
    with fake.serving():
        conn.send((fake.url, API_KEY))
        while (message := conn.recv()) != "stop":
            if message == "reset":
                fake.requests.clear()
                fake.answers.clear()
                cpu = time.process_time()
                conn.send(None)
            else:
                conn.send(
                    {
                        "requests": len(fake.requests),
                        "throttled": len(fake.throttled()),
                        "fake_cpu": time.process_time() - cpu,
                    }
                )


if __name__ == "__main__":
    main()
