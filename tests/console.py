"""Evaluate expressions the way Terraform does: `terraform console` in a folder."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest


def evaluate(terraform: str, folder: Path, expression: str) -> Any:
    """The value of an expression, through `jsonencode`, as `terraform console` prints it."""
    run = subprocess.run(
        [terraform, "console"],
        input=f"jsonencode({expression})\n",
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},  # no version check over the network
    )
    lines = run.stdout.strip().splitlines()
    # The console prints a failed evaluation to stdout and still exits 0.
    if len(lines) != 1 or not lines[0].startswith('"'):
        pytest.fail(f"terraform console failed:\n{run.stdout}\n{run.stderr}")
    return json.loads(json.loads(lines[0]))


# Strings travel base64-encoded: jsonencode's own escapes (`\n`) are text that Terraform
# normalises to NFC too, and a combining mark after one would fuse with it.


def string_list(terraform: str, folder: Path, expression: str) -> list[str]:
    """A list of strings, each exactly as Terraform holds it."""
    encoded = evaluate(terraform, folder, f"[for v in {expression} : base64encode(v)]")
    return [base64.b64decode(v).decode("utf-8") for v in encoded]


def string_map(terraform: str, folder: Path, expression: str) -> dict[str, str]:
    """A map of strings, each exactly as Terraform holds it."""
    encoded = evaluate(terraform, folder, f"{{for k, v in {expression} : k => base64encode(v)}}")
    return {k: base64.b64decode(v).decode("utf-8") for k, v in encoded.items()}
