"""Benchmark the offline core: map, render, read back and plan a large synthetic tenant.

Prints medians of several runs, and the ratio to a baseline measured in the same process:
`json.dumps` of the same desired state, the least any serialisation of it can cost.

    python benchmarks/core.py --groups 5000 --users 50000 --memberships-per-group 50 --runs 3
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from timing import median_seconds

from generator import run
from generator.directory import Directory, Group, Member, User
from generator.policy.load import parse_policy
from generator.workspace import writes

POLICY = """\
version: 1
teams:
  - {rule: teams, select: {prefix: "LLM-Team-"}}
safety: {max_removed: 100000000}
"""


def synthetic(
    groups: int,
    users: int,
    per_group: int,
    seed: int = 1,
    *,
    nested_every: int = 0,
    owners: bool = False,
) -> Directory:
    """A tenant of `groups` teams with `per_group` random members each.

    With `nested_every`, every such group also holds the next group; with `owners`, each group
    has one user owner.
    """
    rng = random.Random(seed)
    people = [
        User(
            f"{i:08x}-0000-4000-8000-000000000000",
            f"User {i}",
            f"user{i}@contoso.test",
            f"user{i}@contoso.test",
            True,
            "Member",
        )
        for i in range(users)
    ]
    ids = [f"{g:08x}-1111-4000-8000-000000000000" for g in range(groups)]
    teams = []
    for g, group_id in enumerate(ids):
        members = {Member("user", rng.choice(people).id) for _ in range(per_group)}
        if nested_every and g % nested_every == 0 and g + 1 < groups:
            members.add(Member("group", ids[g + 1]))
        owner = (Member("user", people[g % users].id),) if owners else None
        teams.append(Group(group_id, f"LLM-Team-{g}", members=tuple(sorted(members)), owners=owner))
    return Directory.of(teams, people)


def measure(step: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall seconds over `runs` calls, and the peak traced MiB of one more call."""
    seconds = median_seconds(step, runs)
    # Tracing slows Python down severalfold, so memory gets a run of its own.
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--memberships-per-group", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    directory = synthetic(args.groups, args.users, args.memberships_per_group)
    policy = parse_policy(POLICY, "benchmark")
    out = Path(tempfile.mkdtemp(prefix="entraform-bench-"))
    try:
        options = run.Options(out)
        first = run.generate(policy, directory, options)
        memberships = sum(len(t.members) for t in first.outcome.state.teams)
        baseline = measure(lambda: json.dumps(asdict(first.outcome.state)), args.runs)
        fresh = measure(lambda: run.generate(policy, directory, options), args.runs)
        writes.write(out, first.file_changes)
        again = measure(lambda: run.generate(policy, directory, options), args.runs)
    finally:
        shutil.rmtree(out)

    print(f"tenant: {args.groups} groups, {args.users} users, {memberships} memberships")
    print(f"{'step':<40} {'median s':>9} {'x baseline':>11} {'peak MiB':>9}")
    rows = [
        ("baseline: json.dumps of the state", baseline),
        ("map + render + plan (empty folder)", fresh),
        ("map + render + read back + plan", again),
    ]
    for name, (seconds, peak) in rows:
        print(f"{name:<40} {seconds:>9.2f} {seconds / baseline[0]:>11.1f} {peak:>9.0f}")


if __name__ == "__main__":
    main()
