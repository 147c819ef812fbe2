"""Benchmark: reading a large snapshot file, against `json.loads` of the same text.

    python benchmarks/snapshot_load.py --groups 5000 --users 50000 --memberships-per-group 50 \
        --runs 3

Prints the median wall time of `snapshot.loads` (parse, validate, build the Directory) and of
`json.loads` alone, both measured in the same process, and their ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core import synthetic  # noqa: E402
from timing import median_seconds  # noqa: E402

from generator.sources import snapshot  # noqa: E402


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=5000)
    parser.add_argument("--users", type=int, default=50000)
    parser.add_argument("--memberships-per-group", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    text = snapshot.dumps(
        synthetic(args.groups, args.users, args.memberships_per_group, nested_every=10, owners=True)
    )
    edges = sum(len(g.members) for g in snapshot.loads(text).groups.values())
    baseline = median_seconds(lambda: json.loads(text), args.runs)
    loads = median_seconds(lambda: snapshot.loads(text), args.runs)

    print(
        f"snapshot: {args.groups} groups, {args.users} users, {edges} memberships, "
        f"{len(text) / 2**20:.0f} MiB"
    )
    print(f"{'step':<34} {'median s':>9} {'x json.loads':>13}")
    for name, seconds in (("json.loads", baseline), ("snapshot.loads", loads)):
        print(f"{name:<34} {seconds:>9.2f} {seconds / baseline:>13.2f}")


if __name__ == "__main__":
    main()
