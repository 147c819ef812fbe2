"""HCL string literals as Terraform reads them: every hostile string, in `terraform console`."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import hcl
from tests.console import string_list
from tests.hostile import CORPUS, nfc, random_strings

pytestmark = pytest.mark.integration  # starts servers, programs or builds


def _as_terraform_reads(terraform: str, folder: Path, strings: list[str]) -> list[str]:
    """Each string written with hcl.quote into a .tf file, as Terraform then holds it."""
    literals = ",\n".join(f"    {hcl.quote(s)}" for s in strings)
    (folder / "values.tf").write_text(f"locals {{\n  values = [\n{literals}\n  ]\n}}\n", "utf-8")
    return string_list(terraform, folder, "local.values")


def test_every_corpus_string_comes_back_from_an_hcl_literal_as_its_nfc_form(
    terraform: str, tmp_path: Path
) -> None:
    strings = list(CORPUS)
    assert _as_terraform_reads(terraform, tmp_path, strings) == [nfc(s) for s in strings]


def test_thousands_of_random_hostile_strings_come_back_from_hcl_literals(
    terraform: str, tmp_path: Path
) -> None:
    strings = random_strings(4000, seed=11)
    assert _as_terraform_reads(terraform, tmp_path, strings) == [nfc(s) for s in strings]


def test_a_mark_after_an_escape_stays_a_separate_character(terraform: str, tmp_path: Path) -> None:
    # Only file() normalises text before escapes are read; an HCL literal keeps the mark apart.
    assert _as_terraform_reads(terraform, tmp_path, ["x\n\u0301y"]) == ["x\n\u0301y"]
