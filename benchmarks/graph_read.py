"""Benchmark: entraform's Graph read against a straightforward msgraph-sdk read, same fake tenant.

    python benchmarks/graph_read.py --groups 5000 --users 50000 --memberships-per-group 50 \
        --nesting-depth 2 --latency-ms 20 --baseline-scale 10

The fake Graph server (tests/fakegraph.py) runs in its own process with a synthetic tenant and a
simulated latency per HTTP request; each read runs in a fresh process, so CPU time and peak
memory are the reader's own. The baseline uses typed SDK models, the default page size and one
request at a time. With --baseline-scale K the baseline reads a tenant K times smaller and its
wall time, CPU time and request counts are multiplied by K (memory is shown as measured).
Prints Graph requests made vs the minimum for the tenant, wall time, CPU time and peak RSS.

With --limits 3500,8000 the fake Graph also meters resource units as Graph does (a token bucket
of that many RU per 10 s, throttled requests charged too), and `entraform snapshot` runs against
each limit --runs times as a user runs it: a fresh process with the default --graph-budget (L),
so below 8,000 RU the budget is learned. Its time is from process start to the snapshot file
written (the file's modification time). Printed as medians: that time, the lower bound for the
limit (RU of the minimum request set beyond the starting bucket, over the refill rate; or the
unthrottled time of the same command when the budget never binds), their ratio, Graph
requests, 429s and RU spent on them. With --against REV the same runs are made, alternating
run by run, with the CLI as it was at git revision REV: before and after under the same load.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.directory import Directory, Group, Member, User  # noqa: E402
from generator.sources import (  # noqa: E402
    GroupSelector,
    Needs,
    snapshot,
)

TOKEN = "benchmark-token"
NEEDS = Needs(selectors=(GroupSelector(regex=".*"),), transitive=True)


@dataclass(frozen=True)
class Shape:
    """The synthetic tenant's parameters."""

    groups: int
    users: int
    memberships_per_group: int
    nesting_depth: int

    def scaled(self, k: int) -> Shape:
        """The same tenant, k times smaller."""
        return Shape(
            max(self.groups // k, 1),
            max(self.users // k, 1),
            self.memberships_per_group,
            self.nesting_depth,
        )


def main() -> None:
    """Parse arguments, run both readers, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--memberships-per-group", type=int, default=20)
    parser.add_argument("--nesting-depth", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument(
        "--baseline-scale", type=int, default=1, help="run the baseline on a tenant K times smaller"
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--limits", default="", help="RU per 10 s to throttle at, e.g. 3500,8000")
    parser.add_argument("--runs", type=int, default=1, help="throttled runs per limit (median)")
    parser.add_argument("--against", default="", help="also time the CLI at this git revision")
    args = parser.parse_args()
    shape = Shape(args.groups, args.users, args.memberships_per_group, args.nesting_depth)
    latency = args.latency_ms / 1000
    options = {"concurrency": args.concurrency, "batch_size": args.batch_size}

    rows: list[dict[str, Any]] = []
    with _Server(shape, latency) as server:
        rows.append(_run("entraform", server, options))
        minimum = server.minimum
    if not args.skip_baseline:
        k = max(args.baseline_scale, 1)
        with _Server(shape.scaled(k), latency) as small:
            if k == 1:
                rows.append(_run("msgraph-sdk baseline", small, options))
            else:
                rows.append(_run("entraform (1/K tenant)", small, options))
                measured = _run("msgraph-sdk baseline (1/K tenant)", small, options)
                rows += [measured, _extrapolated(measured, k, minimum)]
    _print(shape, args.latency_ms, rows)
    limits = [int(limit) for limit in args.limits.split(",") if limit]
    if limits:
        _throttled(shape, latency, limits, max(args.runs, 1), args.against)


POLICY = "version: 1\nteams:\n  - {rule: all, select: {regex: '.*'}}\n"  # every group, nested too


def _throttled(shape: Shape, latency: float, limits: list[int], runs: int, against: str) -> None:
    """Run `entraform snapshot` against each RU limit `runs` times and print the medians."""
    with tempfile.TemporaryDirectory(prefix="entraform-bench-") as folder:
        work = Path(folder)
        (work / "policy.yaml").write_text(POLICY, encoding="utf-8")
        trees = {"this tree": ROOT}
        if against:
            trees[against] = _exported(against, work / "against")
        with _Server(shape, latency) as server:
            floors = _cli_medians(trees, server, work, runs)
        print(f"\n`entraform snapshot`, process start to file written (medians of {runs} runs):")
        header = (
            f"{'RU per 10 s':>11} {'CLI':<12} {'wall s':>7} {'bound s':>8} {'ratio':>6} "
            f"{'exit s':>7} {'requests':>9} {'429s':>6} {'429 %':>6} {'RU on 429s':>10}"
        )
        print(header)
        print("-" * len(header))
        for label, row in floors.items():
            _print_cli_row("none", label, row, None)
        for limit in limits:
            with _Server(shape, latency, limit) as server:
                results = _cli_medians(trees, server, work, runs)
            bucket = (server.minimum_ru - limit) / (limit / 10)
            for label, row in results.items():
                _print_cli_row(str(limit), label, row, max(bucket, floors[label]["written"]))


def _exported(revision: str, folder: Path) -> Path:
    """The source tree at a git revision, to run its CLI beside this one."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision],
        capture_output=True,
        check=True,
    ).stdout
    folder.mkdir()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _cli_medians(
    trees: dict[str, Path], server: _Server, work: Path, runs: int
) -> dict[str, dict[str, Any]]:
    """Medians per tree; the trees take turns run by run, so both see the same load."""
    results: dict[str, list[dict[str, Any]]] = {label: [] for label in trees}
    for _ in range(runs):
        for label, tree in trees.items():
            results[label].append(_snapshot_cli(tree, server, work))
    keys = ("written", "exited", "requests", "throttled", "throttled_charged")
    medians: dict[str, dict[str, Any]] = {}
    for label, rows in results.items():
        medians[label] = {k: statistics.median(r[k] for r in rows) for k in keys}
        medians[label]["digests"] = {r["digest"] for r in rows}
    return medians


def _snapshot_cli(tree: Path, server: _Server, work: Path) -> dict[str, Any]:
    """One `entraform snapshot` in a fresh process, timed from its start to the file written."""
    out = work / "tenant.json"
    out.unlink(missing_ok=True)
    origin = server.base_url.rsplit("/", 1)[0]
    urllib.request.urlopen(origin + "/_fake/reset").read()
    command = [sys.executable, "-m", "generator", "snapshot", "-q"]
    command += ["-c", str(work / "policy.yaml"), "-o", str(out), "--graph-url", server.base_url]
    env = os.environ | {"ENTRAFORM_GRAPH_TOKEN": TOKEN, "PYTHONPATH": str(tree)}
    started = time.time()  # the wall clock, as the file's modification time is
    subprocess.run(command, cwd=tree, env=env, check=True)
    exited = time.time() - started
    stats = json.loads(urllib.request.urlopen(origin + "/_fake/stats").read())
    return {
        "written": out.stat().st_mtime - started,
        "exited": exited,
        "requests": stats["requests"],
        "throttled": stats["throttled"],
        "throttled_charged": stats["throttled_charged"],
        "digest": hashlib.sha256(out.read_bytes()).hexdigest()[:12],
    }


def _print_cli_row(limit: str, label: str, row: dict[str, Any], bound: float | None) -> None:
    bounded = f"{bound:>8.2f} {row['written'] / bound:>6.2f}" if bound else f"{'-':>8} {'-':>6}"
    print(
        f"{limit:>11} {label:<12} {row['written']:>7.2f} {bounded} "
        f"{row['exited']:>7.2f} {row['requests']:>9.0f} "
        f"{row['throttled']:>6.0f} {100 * row['throttled'] / row['requests']:>5.1f}% "
        f"{row['throttled_charged']:>10.0f}"
        + ("" if len(row["digests"]) == 1 else "  different snapshots between runs!")
    )


class _Server:
    """The fake Graph in a child process, for the duration of a `with` block."""

    def __init__(self, shape: Shape, latency: float, limit: int | None = None) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(shape, latency, limit, child), daemon=True
        )
        self.shape = shape

    def __enter__(self) -> _Server:
        self._process.start()
        info = self._conn.recv()
        self.base_url: str = info["base_url"]
        self.minimum: int = info["minimum"]
        self.memberships: int = info["memberships"]
        self.minimum_ru: int = info["minimum_ru"]
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._process.join(timeout=10)


def _serve(shape: Shape, latency: float, limit: int | None, conn: Connection) -> None:
    from tests.fakegraph import (
        Budget,
        FakeGraph,
        minimum_requests,
        minimum_resource_units,
        synthetic_tenant,
    )

    tenant = synthetic_tenant(
        shape.groups, shape.users, shape.memberships_per_group, shape.nesting_depth
    )
    tenant.token = TOKEN
    budget = Budget(limit=limit) if limit else None
    fake = FakeGraph(tenant, latency=latency, budget=budget).start()
    memberships = sum(len(g.members) for g in tenant.directory.groups.values())
    conn.send(
        {
            "base_url": fake.base_url,
            "minimum": minimum_requests(tenant),
            "memberships": memberships,
            "minimum_ru": minimum_resource_units(tenant),
        }
    )
    conn.recv()
    fake.stop()


def _run(label: str, server: _Server, options: dict[str, int]) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    variant = "baseline" if "baseline" in label else "entraform"
    process = context.Process(target=_measure, args=(variant, server.base_url, options, child))
    process.start()
    result: dict[str, Any] = parent.recv()
    process.join()
    result.update(label=label, scale=1, minimum=server.minimum)
    return result


def _extrapolated(measured: dict[str, Any], k: int, minimum: int) -> dict[str, Any]:
    """The baseline's figures for the full tenant: time and requests grow linearly with it."""
    result = dict(measured, label="msgraph-sdk baseline", scale=k, minimum=minimum)
    for key in ("wall", "cpu", "requests", "http_requests"):
        result[key] = measured[key] * k
    return result


def _measure(variant: str, base_url: str, options: dict[str, int], conn: Connection) -> None:
    import generator.sources.graph.client  # noqa: F401  (import cost is not what is measured)

    origin = base_url.rsplit("/", 1)[0]
    urllib.request.urlopen(origin + "/_fake/reset").read()
    wall, cpu = time.perf_counter(), time.process_time()
    if variant == "entraform":
        from generator.sources.graph import GraphSettings, GraphSource

        settings = GraphSettings(base_url=base_url, token=TOKEN, **options)  # type: ignore[arg-type]
        directory = GraphSource(settings).read(NEEDS)
    else:
        directory = asyncio.run(baseline_read(base_url))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stats = json.loads(urllib.request.urlopen(origin + "/_fake/stats").read())
    conn.send(
        {
            "wall": wall,
            "cpu": cpu,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "requests": stats["requests"],
            "http_requests": stats["http_requests"] - 1,  # the reset call
            "throttled": stats["throttled"],
            "throttled_charged": stats["throttled_charged"],
            "charged": stats["charged"],
            "digest": hashlib.sha256(snapshot.dumps(directory).encode()).hexdigest()[:12],
            "groups": len(directory.groups),
            "users": len(directory.users),
        }
    )


async def baseline_read(base_url: str) -> Directory:
    """The straightforward SDK way: typed models, default page size, one request at a time."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder
    from msgraph.generated.groups.item.members.members_request_builder import (
        MembersRequestBuilder,
    )
    from msgraph.generated.models.group import Group as GraphGroup
    from msgraph.generated.models.user import User as GraphUser
    from msgraph.graph_service_client import GraphServiceClient

    from generator.sources.graph.auth import StaticTokenCredential

    client = GraphServiceClient(credentials=StaticTokenCredential(TOKEN))
    client.request_adapter.base_url = base_url
    group_fields = ["id", "displayName", "description", "mail", "securityEnabled"]
    user_fields = ["userPrincipalName", "accountEnabled", "userType"]

    groups: dict[str, Group] = {}
    query = GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(select=group_fields)
    page = await client.groups.get(RequestConfiguration(query_parameters=query))
    while page is not None:
        for g in page.value or []:
            groups[str(g.id)] = _baseline_group(g)
        link = page.odata_next_link
        page = await client.groups.with_url(link).get() if link else None

    users: dict[str, User] = {}
    members: dict[str, list[Member]] = {}
    pending = list(groups)
    select = sorted(set(group_fields + user_fields))
    member_query = MembersRequestBuilder.MembersRequestBuilderGetQueryParameters(select=select)
    while pending:
        group_id = pending.pop()
        builder = client.groups.by_group_id(group_id).members
        members_page = await builder.get(RequestConfiguration(query_parameters=member_query))
        edges = members.setdefault(group_id, [])
        while members_page is not None:
            for obj in members_page.value or []:
                kind = str(obj.odata_type).removeprefix("#microsoft.graph.")
                edges.append(Member(kind, str(obj.id)))
                if isinstance(obj, GraphUser) and obj.id not in users:
                    users[str(obj.id)] = _baseline_user(obj)
                elif isinstance(obj, GraphGroup) and str(obj.id) not in groups:
                    groups[str(obj.id)] = _baseline_group(obj)
                    pending.append(str(obj.id))
            link = members_page.odata_next_link
            members_page = await builder.with_url(link).get() if link else None
    return Directory.of(
        [replace(g, members=tuple(sorted(set(members.get(g.id, []))))) for g in groups.values()],
        users.values(),
    )


def _baseline_group(g: Any) -> Group:
    return Group(
        id=str(g.id),
        display_name=g.display_name or "",
        description=g.description,
        mail=g.mail,
        security_enabled=g.security_enabled,
    )


def _baseline_user(u: Any) -> User:
    return User(
        id=str(u.id),
        display_name=u.display_name,
        user_principal_name=u.user_principal_name,
        mail=u.mail,
        account_enabled=u.account_enabled,
        user_type=u.user_type,
    )


def _print(shape: Shape, latency_ms: float, rows: list[dict[str, Any]]) -> None:
    print(
        f"tenant: {shape.groups} groups, {shape.users} users, {shape.memberships_per_group} "
        f"memberships per group, nesting depth {shape.nesting_depth}, {latency_ms:g} ms latency"
    )
    header = (
        f"{'reader':<36} {'Graph req':>9} {'minimum':>8} {'HTTP':>7} {'wall s':>8} "
        f"{'CPU s':>8} {'peak MB':>8}  directory"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        note = f" (×{r['scale']} extrapolated)" if r["scale"] > 1 else ""
        print(
            f"{r['label']:<36} {r['requests']:>9} {r['minimum']:>8} {r['http_requests']:>7} "
            f"{r['wall']:>8.2f} {r['cpu']:>8.2f} {r['rss_mb']:>8.0f}  "
            f"{r['groups']}g/{r['users']}u {r['digest']}{note}"
        )
    ours = rows[0]
    base = next((r for r in rows if r["label"] == "msgraph-sdk baseline"), None)
    if base is not None:
        print(
            f"baseline/entraform: wall ×{base['wall'] / ours['wall']:.0f}, "
            f"CPU ×{base['cpu'] / ours['cpu']:.0f}, "
            f"HTTP round trips ×{base['http_requests'] / ours['http_requests']:.0f}, "
            f"Graph requests ×{base['requests'] / ours['requests']:.2f}"
        )
    small = [r for r in rows if "1/K" in r["label"]]
    if len(small) == 2:
        same = "yes" if small[0]["digest"] == small[1]["digest"] else "NO"
        print(f"same directory from both readers on the 1/K tenant: {same}")
    elif base is not None:
        same = "yes" if base["digest"] == ours["digest"] else "NO"
        print(f"same directory from both readers: {same}")


if __name__ == "__main__":
    main()
