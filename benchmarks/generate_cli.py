"""Benchmark `entraform generate` end to end, as CI runs it, on a large synthetic tenant.

Each run is a fresh process. Prints medians of several runs and their ratio to a baseline:
`json.load` + `json.dump` of the same snapshot file. The baseline is timed again before each
pair of runs and each ratio taken against its own, so a change in the machine's load moves
both sides of a ratio alike; the ratio printed is the median of those. The package's bytecode
is written first, as installing it does. The tenant is built, and the baseline timed, in
processes of their own: a run's peak memory is then its own, not this process's.

    python benchmarks/generate_cli.py --organizations 100 --teams-per-organization 49 \\
        --users 50000 --members-per-group 50 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from timing import median_seconds

POLICY = """\
version: 1
litellm: {enterprise: true}
organizations:
  - {rule: orgs, select: {prefix: "Org-"}}
teams:
  - {rule: teams, select: {prefix: "Team-"}, organization: nested}
safety: {max_removed: 100000000, max_removed_percent: 100}
"""


def _id(kind: int, n: int) -> str:
    return f"{n:08x}-{kind:04x}-4000-8000-000000000000"


def snapshot(organizations: int, teams: int, users: int, members: int) -> dict[str, Any]:
    """Organizations with nested teams; every group holds `members` random users."""
    rng = random.Random(1)
    people = [_id(1, i) for i in range(users)]

    def picked() -> list[dict[str, str]]:
        return [
            {"@odata.type": "#microsoft.graph.user", "id": u} for u in rng.sample(people, members)
        ]

    groups: list[dict[str, Any]] = []
    for o in range(organizations):
        team_ids = [_id(3, o * teams + t) for t in range(teams)]
        nested = [{"@odata.type": "#microsoft.graph.group", "id": i} for i in team_ids]
        groups.append(_group(_id(2, o), f"Org-{o}", picked() + nested))
        groups += [_group(i, f"Team-{o}-{t}", picked()) for t, i in enumerate(team_ids)]
    return {
        "version": 1,
        "groups": groups,
        "users": [
            {
                "id": u,
                "displayName": f"User {n}",
                "userPrincipalName": f"user{n}@contoso.test",
                "mail": f"user{n}@contoso.test",
                "accountEnabled": True,
                "userType": "Member",
            }
            for n, u in enumerate(people)
        ],
    }


def _group(group_id: str, name: str, members: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "id": group_id,
        "displayName": name,
        "description": None,
        "mail": None,
        "securityEnabled": True,
        "members": members,
    }


def run_cli(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS in MiB of one entraform process."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "generator", *args])
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"entraform {' '.join(args)} failed")
    return seconds, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def compile_package() -> None:
    """Write the bytecode of the package the runs import, as installing it does.

    Where bytecode is not written (PYTHONDONTWRITEBYTECODE), each run would compile every module
    it imports again, and a comparison of two releases would time the compiler too.
    """
    code = (
        "import compileall, generator, os; "
        "compileall.compile_dir(os.path.dirname(generator.__file__), quiet=1)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def baseline(path: Path) -> float:
    """Seconds of json.load + json.dump of the snapshot, the least a run must do."""
    out = subprocess.run(
        [sys.executable, __file__, "--baseline", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout)


def load_and_dump(path: Path) -> float:
    """Seconds of json.load + json.dump of the snapshot, in this process."""

    def step() -> None:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
        with (path.parent / "copy.json").open("w", encoding="utf-8") as handle:
            json.dump(data, handle)

    return median_seconds(step, 1)


def write_tenant(path: Path, args: argparse.Namespace) -> None:
    """Write the tenant's snapshot from another process, as `baseline` loads it in another."""
    # A process started by this one counts this one's peak memory as its own (Linux passes it
    # on through vfork and exec), so this one never holds the tenant.
    sizes = (args.organizations, args.teams_per_organization, args.users, args.members_per_group)
    subprocess.run(
        [sys.executable, __file__, "--write-tenant", str(path), *map(str, sizes)], check=True
    )


def main() -> None:
    """Build the tenant, time the runs, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organizations", type=int, default=100)
    parser.add_argument("--teams-per-organization", type=int, default=49)
    parser.add_argument("--users", type=int, default=50000)
    parser.add_argument("--members-per-group", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--write-tenant", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        print(load_and_dump(args.baseline))
        return
    if args.write_tenant:
        path, *sizes = args.write_tenant
        tenant = snapshot(*map(int, sizes))
        Path(path).write_text(json.dumps(tenant, indent=2), encoding="utf-8")
        return

    compile_package()
    work = Path(tempfile.mkdtemp(prefix="entraform-bench-"))
    try:
        snap = work / "tenant.json"
        write_tenant(snap, args)
        (work / "entraform.yaml").write_text(POLICY, encoding="utf-8")
        common = ["generate", "-c", str(work / "entraform.yaml"), "--snapshot", str(snap), "-q"]
        bases, first, again = [], [], []
        for _ in range(args.runs):
            bases.append(baseline(snap))
            shutil.rmtree(work / "out", ignore_errors=True)
            first.append(run_cli([*common, "-o", str(work / "out")]))
            again.append(run_cli([*common, "-o", str(work / "out")]))
        lines = sum(
            text.count("user_email")
            for text in (p.read_text(encoding="utf-8") for p in (work / "out").iterdir())
        )
    finally:
        shutil.rmtree(work)

    groups = args.organizations * (1 + args.teams_per_organization)
    print(
        f"tenant: {groups} groups, {args.users} users, "
        f"{groups * args.members_per_group} memberships; {lines} rendered membership lines"
    )
    print(f"{'step':<44} {'median s':>9} {'x baseline':>11} {'peak RSS MiB':>13}")
    base = statistics.median(bases)
    print(f"{'baseline: json.load + json.dump of snapshot':<44} {base:>9.2f} {1.0:>11.1f} {'':>13}")
    for name, results in (
        ("generate, empty folder", first),
        ("generate again, nothing to change", again),
    ):
        seconds = statistics.median(s for s, _ in results)
        ratio = statistics.median(s / b for (s, _), b in zip(results, bases, strict=True))
        peak = statistics.median(m for _, m in results)
        print(f"{name:<44} {seconds:>9.2f} {ratio:>11.2f} {peak:>13.0f}")


if __name__ == "__main__":
    main()
