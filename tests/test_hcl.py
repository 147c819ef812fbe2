"""HCL text helpers, table by table: quoting, literals, keys, alignment, entries, reading back."""

from __future__ import annotations

from typing import Any

import pytest

from generator import hcl

QUOTED = [
    ("plain", '"plain"'),
    ("", '""'),
    ('say "hi"', '"say \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("line\nbreak", '"line\\nbreak"'),
    ("tab\there", '"tab\\there"'),
    ("cr\rhere", '"cr\\rhere"'),
    ('${file("/etc/passwd")}', '"$${file(\\"/etc/passwd\\")}"'),
    ("%{ if x }", '"%%{ if x }"'),
    ("$ alone and % alone", '"$ alone and % alone"'),
    ("\u200f\u202e", '"\\u200f\\u202e"'),
    ("\x00\x07", '"\\u0000\\u0007"'),
    ("\u2028", '"\\u2028"'),
    ("\U000e0001", '"\\U000e0001"'),
    ("Müller 日本 😀", '"Müller 日本 😀"'),
    ("e\u0301", '"e\u0301"'),
]


@pytest.mark.parametrize(("text", "literal"), QUOTED)
def test_quote_writes_the_literal_terraform_reads_as_the_text(text: str, literal: str) -> None:
    assert hcl.quote(text) == literal


@pytest.mark.parametrize(("text", "literal"), QUOTED)
def test_unquote_reads_back_what_quote_wrote(text: str, literal: str) -> None:
    assert hcl.unquote(literal) == text


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (True, "true"),
        (False, "false"),
        (7, "7"),
        (100.0, "100"),
        (12.5, "12.5"),
        ("x", '"x"'),
        (["a", "b"], '["a", "b"]'),
        ([], "[]"),
        ({"k": "v", "with space": 1}, '{ k = "v", "with space" = 1 }'),
        ({}, "{}"),
    ],
)
def test_literal_writes_each_python_value_as_one_line_of_hcl(value: Any, written: str) -> None:
    assert hcl.literal(value) == written


def test_literal_refuses_what_it_cannot_write() -> None:
    with pytest.raises(TypeError, match="no HCL literal for object"):
        hcl.literal(object())


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("plain", "plain"),
        ("Upper_1", "Upper_1"),
        ("_under", "_under"),
        ("with-dash_1", "with-dash_1"),
        ("1st", '"1st"'),
        ("-dash", '"-dash"'),
        ("a b", '"a b"'),
    ],
)
def test_a_key_is_bare_only_when_it_is_an_identifier(name: str, written: str) -> None:
    assert hcl.key(name) == written


@pytest.mark.parametrize(
    ("text", "aligned"),
    [
        ("a = 1\nlonger = 2", "a      = 1\nlonger = 2"),
        ("a = 1\n\nlonger = 2", "a = 1\n\nlonger = 2"),
        ("  a = 1\n    bb = 2", "  a = 1\n    bb = 2"),
        ("a = {\n  x = 1\n  yy = 2\n}", "a = {\n  x  = 1\n  yy = 2\n}"),
        ("block {\n  a = 1\n  bbb = 2\n}", "block {\n  a   = 1\n  bbb = 2\n}"),
        ('"quoted key" = 1\nb = 2', '"quoted key" = 1\nb            = 2'),
        # A value that opens a multi-line expression ends the run, as it does for terraform fmt.
        ("a = 1\nbbb = f(\n  x\n)", "a = 1\nbbb = f(\n  x\n)"),
        ("a = 1\nbbb = [\n  x\n]", "a = 1\nbbb = [\n  x\n]"),
        ("a = 1\nbbb = {\n  x = 1\n}", "a = 1\nbbb = {\n  x = 1\n}"),
    ],
)
def test_align_lines_up_runs_of_attributes_as_terraform_fmt_does(text: str, aligned: str) -> None:
    assert hcl.align(text) == aligned


def test_align_leaves_a_for_each_map_body_as_it_was_written() -> None:
    body = '    "a" = 1\n    "bb" = 2\n    "ccc" = 3\n'
    text = f"r {{\n  for_each = {{\n{body}  }}\n  x = 1\n  yy = 2\n}}"
    assert hcl.align(text) == f"r {{\n  for_each = {{\n{body}  }}\n  x  = 1\n  yy = 2\n}}"


ACUTE, JOINER = "\u0301", "\u034f"


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("plain ascii", "plain ascii"),
        ("日" * 40, "日" * 40),
        ("e" + ACUTE, "\u00e9"),
        ("\u212b", "\u00c5"),
        ("\u1e9b\u0323", "\u1e9b\u0323"),
        ("a" + ACUTE * 30, "\u00e1" + ACUTE * 29),
        # Go's normaliser: a joiner before the 31st mark in a row, and again 30 marks on.
        ("a" + ACUTE * 31, "\u00e1" + ACUTE * 29 + JOINER + ACUTE),
        (ACUTE * 61, ACUTE * 30 + JOINER + ACUTE * 30 + JOINER + ACUTE),
        # Marks are counted in the decomposed text: the é brings one.
        ("\u00e9" + ACUTE * 30, "\u00e9" + ACUTE * 29 + JOINER + ACUTE),
    ],
)
def test_normalized_is_the_text_terraform_reads(text: str, read: str) -> None:
    # Each pair was read back through `terraform console`; tests/test_hcl_terraform.py keeps
    # checking normalized against Terraform for the whole hostile corpus.
    assert hcl.normalized(text) == read


def test_unquote_leaves_an_escape_quote_never_writes_as_it_is() -> None:
    assert hcl.unquote('"a\\qb"') == "a\\qb"


def test_entries_are_aligned_on_the_longest_key() -> None:
    assert hcl.entries([('"a"', "1"), ('"bbb"', "2")], "    ") == '    "a"   = 1\n    "bbb" = 2'


def test_entries_of_nothing_are_empty() -> None:
    assert hcl.entries([], "  ") == ""
