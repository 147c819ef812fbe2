"""A provider-free stand-in of rendered output, for running Terraform where no provider downloads.

Every `litellm_*` resource becomes a `terraform_data` resource at the same address shape
(`litellm_team_member.x` becomes `terraform_data.team_member__x`) with the same `for_each`,
`count`, `depends_on` and `lifecycle`. Its other arguments are kept as one `input` object, so
Terraform evaluates as much per instance as it does for the real resource: `each.key` and
`each.value.*` stay as they are, and a reference to another `litellm_*` resource's attribute
reads the same name from that stand-in's `input`. Attributes set to null are left out of
`input`, so the two output formats, which spell an unset argument differently (absent or
`null`), give equal inputs for equal objects.

Also:

- `terraform {}` and `provider` blocks are dropped: the stand-in needs only the built-in
  `terraform_data`, which `terraform init` installs offline;
- `moved`, `removed` and `import` blocks are kept, with their addresses rewritten to the
  stand-in's (`terraform_data` takes any import id);
- `locals`, `variable`, `output` and other blocks are kept, with references rewritten;
- a nested block inside a resource (none is rendered today) becomes an attribute of `input`
  holding an object.

A tree with subfolders is one root module per folder holding `.tf` files; each is converted on
its own (`stand_in_tree`), with the other files beside them (YAML data, manifest) copied as-is.

The converter relies on the layout entraform writes, which is `terraform fmt` style: top-level
blocks open at the start of a line and close with `}` alone on a line, and no heredocs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# `litellm_<type>.<label>`, an optional index, and an optional attribute after it.
REFERENCE = re.compile(
    r"\blitellm_([a-z_]+)\.([A-Za-z_][\w-]*)((?:\[[^\[\]]*\])?)(?:\.([A-Za-z_][\w-]*))?"
)
RESOURCE = re.compile(r'^resource\s+"litellm_([a-z_]+)"\s+"([\w-]+)"\s*\{\s*$')
BLOCK = re.compile(r"^([A-Za-z_][\w-]*)\b")
ARGUMENT = re.compile(r"^\s*([A-Za-z_][\w-]*)\s*=")
NESTED = re.compile(r"^(\s*)([A-Za-z_][\w-]*)((?:\s+\"[^\"]*\")*)\s*\{")
# Kept on the resource itself rather than moved into `input`.
META = frozenset({"for_each", "count", "depends_on", "lifecycle"})
# Dropped from a resource: terraform_data has its own provider.
DROPPED = frozenset({"provider", "provisioner", "connection"})
SKIPPED_DIRS = frozenset({".terraform"})


def stand_in_address(address: str) -> str:
    """The stand-in's address for a rendered one.

    `litellm_team.x["k"]` becomes `terraform_data.team__x["k"]`; an attribute after it is read
    from the stand-in's `input`.
    """
    return REFERENCE.sub(_reference, address)


def stand_in(text: str) -> str:
    """The stand-in of one rendered `.tf` file."""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        block = BLOCK.match(line)
        if block is None or _is_argument(line):
            out.append(stand_in_address(line))
            index += 1
            continue
        end = _block_end(lines, index)
        body = lines[index : end + 1]
        index = end + 1
        kind = block[1]
        if kind in {"terraform", "provider"}:
            _drop_blank_before(out)
            continue
        header = RESOURCE.match(line)
        if header is None:
            out.extend(stand_in_address(b) for b in body)
        else:
            out.extend(_resource(header[1], header[2], body[1:-1]))
    result = "\n".join(_squeeze(out)).rstrip("\n")
    return result + "\n" if text.endswith("\n") else result


def stand_in_tree(rendered: Path, target: Path) -> list[Path]:
    """Write the stand-in of every root module under `rendered` to the same place under `target`.

    Each folder holding `.tf` files is a root module; its `.tf` files are converted and its other
    files copied. Stand-in `.tf` files left in `target` from an earlier call are replaced, and
    Terraform's working files there (`.terraform`, state) are kept. Returns the target roots,
    sorted.
    """
    roots: list[Path] = []
    for folder, dirs, names in os.walk(rendered):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        source = Path(folder)
        if not any(n.endswith(".tf") for n in names):
            continue
        root = target / source.relative_to(rendered)
        root.mkdir(parents=True, exist_ok=True)
        for old in root.glob("*.tf"):
            old.unlink()
        for name in sorted(names):
            path = source / name
            if name.endswith(".tf"):
                text = stand_in(path.read_text(encoding="utf-8"))
                (root / name).write_text(text, encoding="utf-8")
            elif not name.endswith((".tfstate", ".tfstate.backup", ".lock.hcl")):
                shutil.copy(path, root / name)
        roots.append(root)
    return sorted(roots)


def _reference(found: re.Match[str]) -> str:
    kind, label, index, attribute = found[1], found[2], found[3], found[4]
    address = f"terraform_data.{kind}__{label}{index}"
    if attribute is None:
        return address
    # terraform_data has an `id` of its own; every other attribute lives in `input`.
    return f"{address}.{attribute}" if attribute == "id" else f"{address}.input.{attribute}"


def _resource(kind: str, label: str, body: list[str]) -> Iterator[str]:
    yield f'resource "terraform_data" "{kind}__{label}" {{'
    kept: list[list[str]] = []
    inputs: list[list[str]] = []
    for item in _items(body):
        first = item[0]
        argument = ARGUMENT.match(first)
        nested = NESTED.match(first) if argument is None else None
        name = argument[1] if argument else nested[2] if nested else ""
        rewritten = [stand_in_address(line) for line in item]
        if name in DROPPED:
            continue
        if name in META:
            kept.append(rewritten)
        elif nested is not None:
            # A nested block becomes an attribute holding an object.
            inputs.append([f"{nested[1]}{name} = {{{first[nested.end() :]}", *rewritten[1:]])
        else:
            inputs.append(rewritten)
    for number, item in enumerate(kept):
        if number and len(item) > 1:
            yield ""
        yield from item
    if inputs:
        if kept:
            yield ""
        yield "  input = { for k, v in {"
        for item in inputs:
            yield from (f"  {line}" for line in item)
        yield "  } : k => v if v != null }"
    yield "}"


def _items(body: list[str]) -> Iterator[list[str]]:
    """The arguments and nested blocks of a block body, each as its lines; comments dropped."""
    stack: list[str] = []
    item: list[str] = []
    for line in body:
        if not stack and not item and (not line.strip() or line.lstrip().startswith(("#", "//"))):
            continue
        item.append(line)
        _scan(line, stack)
        if not stack:
            yield item
            item = []
    if item:
        yield item


def _block_end(lines: list[str], start: int) -> int:
    stack: list[str] = []
    for index in range(start, len(lines)):
        _scan(lines[index], stack)
        if not stack:
            return index
    raise ValueError(f"unclosed block opened at line {start + 1}: {lines[start]!r}")


def _scan(line: str, stack: list[str]) -> None:
    """Follow the brackets and strings of one line; `stack` carries open ones across lines."""
    i = 0
    while i < len(line):
        char = line[i]
        if stack and stack[-1] == '"':
            if char == "\\":
                i += 1
            elif line.startswith(("$${", "%%{"), i):
                i += 2
            elif line.startswith(("${", "%{"), i):
                stack.append("${")
                i += 1
            elif char == '"':
                stack.pop()
        elif char == '"':
            stack.append('"')
        elif char in "{[(":
            stack.append(char)
        elif char in "}])":
            if not stack:
                raise ValueError(f"unbalanced {char!r} in {line!r}")
            stack.pop()
        elif char == "#" or line.startswith("//", i):
            return
        i += 1


def _is_argument(line: str) -> bool:
    return ARGUMENT.match(line) is not None


def _drop_blank_before(out: list[str]) -> None:
    """Drop the comment directly above a dropped block, and the blank lines before it."""
    while out and out[-1].lstrip().startswith(("#", "//")):
        out.pop()
    while out and not out[-1].strip():
        out.pop()


def _squeeze(lines: Iterable[str]) -> Iterator[str]:
    """No two blank lines in a row."""
    blank = False
    for line in lines:
        if not line.strip():
            if blank:
                continue
            blank = True
        else:
            blank = False
        yield line


def run_terraform(terraform: str, folder: Path, *args: str) -> str:
    """Run one terraform command in a folder; its output, or a test failure showing it."""
    run = subprocess.run(
        [terraform, *args, "-no-color"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},  # no version check over the network
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def planned(terraform: str, root: Path) -> list[dict[str, Any]]:
    """The resource changes `terraform plan` proposes for a stand-in root (initialised here)."""
    run_terraform(terraform, root, "init", "-input=false")
    run_terraform(terraform, root, "plan", "-input=false", "-out", "p.plan")
    plan = json.loads(run_terraform(terraform, root, "show", "-json", "p.plan"))
    changes: list[dict[str, Any]] = plan.get("resource_changes", [])
    return changes
