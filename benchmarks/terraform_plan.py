"""Benchmark `terraform plan` on entraform's output as memberships grow.

Each tenant is rendered through the real pipeline, turned into the provider-free stand-in of
tests/standin.py (every `litellm_*` resource a `terraform_data` with the same addresses,
`for_each` and arguments), and planned with an empty state: `terraform init` once per root
module, then `terraform plan -refresh=false -input=false -lock=false` `--runs` times. Prints the
median plan seconds per tenant, seconds per membership, and the ratio of that to the smallest
tenant's in the same run (the goal: at 10,000 members at most 1.5 times the figure at 500).

The stand-in measures Terraform's own work. What the real provider adds when a plan refreshes
is printed after the table as a model (calls and member records per plan), not measured.

    python benchmarks/terraform_plan.py --members 500,2000,10000 --runs 3
    python benchmarks/terraform_plan.py --members 500,2000,10000 --runs 3 --format yaml --users

A tenant whose largest `for_each` map would exceed `--max-instances-per-map` is skipped with a
note, and each plan stops after `--timeout` seconds.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from core import POLICY, synthetic

from generator import render
from generator import run as runs
from generator.directory import Directory
from generator.policy.load import parse_policy
from generator.workspace import writes

# The stand-in lives with the tests; the benchmark runs from a checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.rendering import Format
from tests.standin import stand_in_tree

PLAN = ("plan", "-refresh=false", "-input=false", "-lock=false", "-no-color")
PLANNED = re.compile(r"^Plan: (\d+) to add", re.M)
# Users to draw members from, per member: few repeats, so a team of N has close to N members.
POOL = 20


@dataclass(frozen=True)
class Tenant:
    """A synthetic tenant and how to describe it."""

    shape: str
    directory: Directory


@dataclass(frozen=True)
class Row:
    """One tenant's figures."""

    shape: str
    memberships: int
    instances: tuple[int, ...]  # per root module
    largest_map: int
    seconds: float | None  # None: skipped or timed out
    note: str = ""
    # Members of each team and each organization, for the refresh model.
    rosters: tuple[int, ...] = ()


def tenants(members: list[int], realistic: tuple[int, int, int] | None) -> list[Tenant]:
    """One team of each size, then the realistic tenant."""
    found = [Tenant(f"1 team x {n:,}", synthetic(1, POOL * n, n, seed=n)) for n in sorted(members)]
    if realistic:
        groups, users, per_group = realistic
        shape = f"{groups} teams x {per_group}, {users:,} users"
        found.append(Tenant(shape, synthetic(groups, users, per_group)))
    return found


def run(terraform: str, root: Path, args: tuple[str, ...], timeout: float) -> str:
    """Run terraform in a root module; its output, or TimeoutExpired."""
    done = subprocess.run(
        [terraform, *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise SystemExit(f"terraform {' '.join(args)} failed in {root}:\n{done.stderr}")
    return done.stdout


@dataclass
class Prepared:
    """A tenant rendered, turned into the stand-in and initialised: ready to plan."""

    row: Row
    roots: list[Path]
    times: list[float]


def prepare(
    tenant: Tenant, output_format: Format, options: argparse.Namespace, work: Path
) -> Prepared:
    """Render, convert and `terraform init` one tenant."""
    policy = parse_policy(POLICY + ("users: {manage: true}\n" if options.users else ""), "bench")
    out, stand_in = work / "out", work / "stand-in"
    result = runs.generate(policy, tenant.directory, runs.Options(out, output_format))
    writes.write(out, result.file_changes)
    state = result.outcome.state
    rosters = tuple(len(o.members) for o in state.organizations)
    rosters += tuple(len(t.members) for t in state.teams)
    memberships = sum(rosters)
    maps = Counter(
        address.partition("[")[0]
        for key, address in render.named(output_format).addresses(result.labels).of(state)
        if key[0].endswith("member")
    )
    largest = max(maps.values(), default=0)
    roots = stand_in_tree(out, stand_in)
    row = Row(tenant.shape, memberships, (), largest, None, "", rosters)
    if largest > options.max_instances_per_map:
        note = f"skipped: a map of {largest:,} > --max-instances-per-map"
        return Prepared(replace(row, note=note), [], [])
    for root in roots:
        run(options.terraform, root, ("init", "-input=false", "-no-color"), options.timeout)
    return Prepared(row, roots, [])


def plan_once(tenant: Prepared, options: argparse.Namespace) -> None:
    """Plan every root of a tenant once, adding the time to its runs (or the reason it stopped)."""
    start = time.perf_counter()
    planned = []
    for root in tenant.roots:
        try:
            text = run(options.terraform, root, PLAN, options.timeout)
        except subprocess.TimeoutExpired:
            tenant.roots = []
            tenant.row = replace(tenant.row, note=f"timed out after {options.timeout:.0f} s")
            return
        found = PLANNED.search(text)
        planned.append(int(found[1]) if found else 0)
    tenant.times.append(time.perf_counter() - start)
    tenant.row = replace(tenant.row, instances=tuple(planned))


def measure(
    tenants: list[Tenant], output_format: Format, options: argparse.Namespace, work: Path
) -> list[Row]:
    """Every tenant's median plan time, the runs taken in turn across tenants.

    Alternating spreads a change in the machine's load over every size alike, so the ratio
    between sizes holds on a shared machine.
    """
    prepared = []
    for n, tenant in enumerate(tenants):
        prepared.append(prepare(tenant, output_format, options, work / str(n)))
        print(f"prepared {tenant.shape}", file=sys.stderr)
    for number in range(options.runs):
        for found in prepared:
            if found.roots:
                plan_once(found, options)
        print(f"run {number + 1} of {options.runs} done", file=sys.stderr)
    return [
        replace(p.row, seconds=statistics.median(p.times)) if p.roots and p.times else p.row
        for p in prepared
    ]


def empty_plan(options: argparse.Namespace, work: Path) -> float:
    """Median seconds of a plan of a root with no resources: Terraform's fixed cost."""
    work.mkdir(parents=True)
    (work / "main.tf").write_text("", encoding="utf-8")
    run(options.terraform, work, ("init", "-input=false", "-no-color"), options.timeout)
    times = []
    for _ in range(options.runs):
        start = time.perf_counter()
        run(options.terraform, work, PLAN, options.timeout)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def print_table(rows: list[Row], empty: float) -> None:
    """The measured figures; ratios against the first tenant that ran."""
    print(f"terraform plan of an empty root: {empty:.2f} s (included in every figure below)")
    head = (
        f"{'tenant':<32} {'members':>8} {'instances/root':>15} {'largest map':>12} "
        f"{'plan s':>8} {'ms/member':>10} {'x smallest':>11}"
    )
    print(head)
    first: float | None = None
    for row in rows:
        per_root = "+".join(f"{n:,}" for n in row.instances) or "-"
        if row.seconds is None:
            print(f"{row.shape:<32} {row.memberships:>8,} {per_root:>15} {row.largest_map:>12,}  ")
            print(f"    {row.note}")
            continue
        per_member = row.seconds / max(row.memberships, 1)
        first = first or per_member
        print(
            f"{row.shape:<32} {row.memberships:>8,} {per_root:>15} {row.largest_map:>12,} "
            f"{row.seconds:>8.2f} {per_member * 1000:>10.3f} {per_member / first:>11.2f}"
        )


def print_refresh_model(rows: list[Row]) -> None:
    """Calls and member records one refreshing plan costs with the real provider, by a model."""
    print()
    print("Refresh with the real provider (ncecere/litellm 2.1.0), a model, not measured:")
    print("  every membership instance's Read fetches its parent's whole roster")
    print("  (litellm_team_member: GET /team/info, litellm_organization_member:")
    print("  GET /organization/info), and every team or organization reads its own info once;")
    print("  so calls per plan = instances, and member records transferred =")
    print("  sum over teams of n_t^2 + sum over organizations of n_o^2 (n: members).")
    print("  Chunking the for_each maps changes neither figure.")
    print(f"{'tenant':<32} {'members':>8} {'calls/plan':>11} {'member records':>15}")
    for row in rows:
        calls = row.memberships + len(row.rosters)
        records = sum(n * n for n in row.rosters)
        print(f"{row.shape:<32} {row.memberships:>8,} {calls:>11,} {records:>15,}")


def main() -> None:
    """Measure each tenant and print the table and the refresh model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--members",
        default="500,2000,10000",
        help="sizes of the one-team tenants, comma-separated (default: %(default)s)",
    )
    parser.add_argument(
        "--realistic",
        default="100,2500,50",
        help="GROUPS,USERS,MEMBERS_PER_GROUP of the realistic tenant, or 'none'",
    )
    parser.add_argument("--format", choices=["terraform", "yaml"], default="terraform")
    parser.add_argument(
        "--users", action="store_true", help="with users.manage: one litellm_user per member"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600, help="seconds per plan")
    parser.add_argument(
        "--max-instances-per-map",
        type=int,
        default=1000,
        help="skip a tenant whose largest for_each map is larger (default: %(default)s)",
    )
    parser.add_argument("--terraform", default=shutil.which("terraform") or "terraform")
    options = parser.parse_args()

    members = [int(n) for n in options.members.split(",") if n]
    realistic = None
    if options.realistic != "none":
        groups, users, per_group = (int(n) for n in options.realistic.split(","))
        realistic = (groups, users, per_group)
    tenant_list = tenants(members, realistic)
    work = Path(tempfile.mkdtemp(prefix="entraform-plan-"))
    try:
        empty = empty_plan(options, work / "empty")
        rows = measure(tenant_list, options.format, options, work / "tenants")
    finally:
        shutil.rmtree(work)
    managed = "; users.manage" if options.users else ""
    print(f"format: {options.format}{managed}; runs: {options.runs}; plan {' '.join(PLAN[1:])}")
    print_table(rows, empty)
    print_refresh_model(rows)


if __name__ == "__main__":
    main()
