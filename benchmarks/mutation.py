"""Mutation score of the safety core, per module, with mutmut 3.8.1.

    python benchmarks/mutation.py [--module plan] [--show-survivors] [--jobs 2] [--keep]

Needs `pip install -e '.[test,mutation]'`. Each module runs in a throwaway copy of the checkout
(the files git tracks or would track, as they are in the work tree), with a `[tool.mutmut]`
table appended to the copy's pyproject.toml: the checkout itself is never written to. Only the
module is mutated, and the unit layer (what a plain `pytest` runs) must kill each mutant. The
score is killed / (total - skipped); a timeout, a suspicious result or a mutant no test reaches
counts against it, as a survivor would.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Every mutant faces the whole unit layer (what a plain `pytest` runs): mutmut runs, of it, the
# tests that reach the mutated function. The integration layer (Terraform, Node, servers) is
# left out by pytest's own default selection.
TESTS = ("tests",)
TARGETS = {
    "plan": "generator/plan.py",
    "hcl": "generator/hcl.py",
    "yamltext": "generator/render/yamltext.py",
    "folder": "generator/workspace/folder.py",
    "manifest": "generator/workspace/manifest.py",
    "blocks": "generator/workspace/blocks.py",
    "shape": "generator/workspace/shape.py",
}

STATUSES = ("killed", "survived", "timeout", "suspicious", "no tests", "skipped")


@dataclass
class Outcome:
    """The statuses of one module's mutants, by mutant name, and the run's wall time."""

    name: str
    path: str
    status: dict[str, str]
    seconds: float
    diffs: dict[str, str] = field(default_factory=dict)


def main() -> None:
    """Run mutmut on each chosen module and print a table of scores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", choices=sorted(TARGETS), action="append", help="repeatable")
    parser.add_argument("--show-survivors", action="store_true", help="print their diffs")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="mutmut children")
    parser.add_argument("--keep", action="store_true", help="keep the copies (mutmut browse)")
    args = parser.parse_args()
    checkout = Path(__file__).resolve().parent.parent
    outcomes = []
    for name in args.module or list(TARGETS):
        outcome = run(checkout, name, TARGETS[name], args.jobs, args.show_survivors, args.keep)
        outcomes.append(outcome)
        if args.show_survivors:
            show(outcome)
    table(outcomes)


def run(checkout: Path, name: str, path: str, jobs: int, diffs: bool, keep: bool) -> Outcome:
    """Mutate one module in a fresh copy and collect every mutant's status."""
    copy = Path(tempfile.mkdtemp(prefix=f"mutation-{name}-"))
    try:
        copy_checkout(checkout, copy)
        configure(copy, path)
        print(f"{name}: mutmut on {path} in {copy}", file=sys.stderr, flush=True)
        start = time.monotonic()
        log = copy / "mutmut.log"
        done = mutmut(copy, log, "run", f"--max-children={jobs}")
        seconds = time.monotonic() - start
        print(f"{name}: mutmut ran {seconds:.0f} s", file=sys.stderr, flush=True)
        if done.returncode != 0:
            tail = log.read_text(encoding="utf-8", errors="replace")[-4000:]
            raise SystemExit(f"{name}: mutmut run failed ({done.returncode}):\n{tail}")
        status = results(copy)
        outcome = Outcome(name, path, status, seconds)
        if diffs:
            for mutant in sorted(m for m, s in status.items() if s != "killed"):
                outcome.diffs[mutant] = mutmut(copy, None, "show", mutant).stdout
        return outcome
    finally:
        if keep:
            print(f"{name}: kept {copy}", file=sys.stderr)
        else:
            shutil.rmtree(copy, ignore_errors=True)


def copy_checkout(checkout: Path, copy: Path) -> None:
    """Copy what git tracks or would track, as it is in the work tree (edits included)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=checkout,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in sorted(set(filter(None, listed.split("\0")))):
        source = checkout / relative
        # A file deleted in the work tree but not yet in the index is still listed.
        if source.is_file() and relative != "mutants" and not relative.startswith("mutants/"):
            (copy / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / relative)


def configure(copy: Path, path: str) -> None:
    """Append mutmut's settings for this module to the copy's pyproject.toml."""
    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    if "[tool.mutmut]" in text:
        raise SystemExit("pyproject.toml has a [tool.mutmut] table: merge it into configure()")
    package = path.split("/", maxsplit=1)[0]
    # mutmut copies only the source paths and also_copy into mutants/, where pytest runs:
    # the tests need the templates, examples and the rest of the top level beside them.
    others = sorted(p.name for p in copy.iterdir() if p.name not in (package, "mutants"))
    settings = {
        "source_paths": [package],
        "only_mutate": [path],
        "also_copy": others,
        "pytest_add_cli_args_test_selection": list(TESTS),
        # The project's own shape tests read the source, which mutmut rewrites; they guard no
        # behaviour a mutant could change.
        "pytest_add_cli_args": ["--ignore=tests/test_project.py"],
        # The copy is no git checkout; results are never reused between runs anyway.
        "use_git_change_detection": False,
    }
    lines = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    pyproject.write_text(text.rstrip("\n") + "\n\n[tool.mutmut]\n" + "\n".join(lines) + "\n")


def mutmut(copy: Path, log: Path | None, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run mutmut's command line in the copy, its output to `log` or captured."""
    # Not `python -m mutmut`: mutmut warns that its main module is then imported twice.
    command = [sys.executable, "-c", "from mutmut.__main__ import cli; cli()", *arguments]
    if log is None:
        return subprocess.run(command, cwd=copy, capture_output=True, text=True, check=True)
    with log.open("w", encoding="utf-8") as out:
        # Its exit code is read by the caller, which shows the log's end on a failure.
        return subprocess.run(
            command, cwd=copy, stdout=out, stderr=subprocess.STDOUT, text=True, check=False
        )


def results(copy: Path) -> dict[str, str]:
    """Every mutant's status, as `mutmut results --all true` prints them."""
    printed = mutmut(copy, None, "results", "--all", "true").stdout
    status = {}
    for line in printed.splitlines():
        mutant, sep, state = line.strip().partition(": ")
        if sep:
            status[mutant] = state
    if not status:
        raise SystemExit(f"mutmut listed no mutants in {copy}")
    return status


def function_of(mutant: str) -> str:
    """The top-level function or class of a mutant, from its name."""
    mangled = mutant.partition("__mutmut_")[0].rpartition(".")[2]
    if mangled.startswith("x_"):
        return mangled[2:]
    # Methods are named xǁClassǁmethod.
    return ".".join(mangled.split("ǁ")[1:])


def table(outcomes: list[Outcome]) -> None:
    """Print one row per module."""
    print(
        f"{'module':<34} {'total':>6} {'killed':>6} {'surv':>5} {'tmout':>5} {'susp':>5} "
        f"{'notest':>6} {'skip':>5} {'other':>5} {'score':>7} {'wall s':>7}"
    )
    for outcome in outcomes:
        print(row(outcome.path, Counter(outcome.status.values())) + f"{outcome.seconds:7.0f}")


def row(label: str, counts: Counter[str]) -> str:
    """One table row; statuses mutmut may add later land in `other`."""
    total = sum(counts.values())
    other = total - sum(counts[s] for s in STATUSES)
    scored = total - counts["skipped"]
    score = f"{100 * counts['killed'] / scored:6.1f}%" if scored else "    n/a"
    return (
        f"{label:<34} {total:>6} {counts['killed']:>6} {counts['survived']:>5} "
        f"{counts['timeout']:>5} {counts['suspicious']:>5} {counts['no tests']:>6} "
        f"{counts['skipped']:>5} {other:>5} {score:>7} "
    )


def show(outcome: Outcome) -> None:
    """Print the diff of each mutant that was not killed, grouped by function."""
    by_function: dict[str, list[str]] = {}
    for mutant in outcome.diffs:
        by_function.setdefault(function_of(mutant), []).append(mutant)
    for function, mutants in sorted(by_function.items()):
        print(f"\n## {outcome.path}: {function} ({len(mutants)} not killed)")
        for mutant in mutants:
            print(outcome.diffs[mutant].rstrip(), flush=True)


if __name__ == "__main__":
    main()
