"""YAML text: quoting that survives Terraform's normalisation, layout, PyYAML read-back."""

from __future__ import annotations

import unicodedata

import pytest
import yaml

from generator.render import yamltext
from tests.hostile import CORPUS, random_strings


def test_every_quoted_string_is_already_nfc_so_terraforms_normalisation_leaves_it_alone() -> None:
    # Before a quote, after an escape, after letters an accent composes with, after a Hangul
    # leading jamo, after `<` (which U+0338 composes with): each context where NFC could fuse.
    prefixes = ("", "\n", "e", "\u1100", "<", "\\")
    assigned = [c for c in map(chr, range(0x110000)) if unicodedata.category(c) not in ("Cn", "Co")]
    strings = [p + c for c in assigned for p in prefixes]
    strings += [*CORPUS, *random_strings(4000, seed=5)]
    changed = [s for s in strings if not unicodedata.is_normalized("NFC", yamltext.quote(s))]
    assert changed == []


def test_pyyaml_reads_every_hostile_string_back_exactly_as_a_value_and_as_a_key() -> None:
    strings = [*CORPUS, *random_strings(4000, seed=13)]
    text = yamltext.dump({"values": strings, "keys": {s: str(i) for i, s in enumerate(strings)}})
    loaded = yaml.safe_load(text)
    assert loaded["values"] == strings
    assert loaded["keys"] == {s: str(i) for i, s in enumerate(strings)}


def test_strings_are_quoted_and_only_lowercase_words_yaml_cannot_type_stay_bare_keys() -> None:
    data = {
        "alias": "N",
        "managed-by": "1e3",
        "yes": "y",
        "Alias": "~",
        "<<": "<<",
        "0o17": "",
    }
    assert yamltext.dump({"team": data}).split("\n") == [
        "team:",
        '  "0o17": ""',
        '  !!str "<<": "<<"',
        '  "Alias": "~"',
        '  alias: "N"',
        '  managed-by: "1e3"',
        '  "yes": "y"',
    ]


def test_a_flow_mapping_is_one_line_with_sorted_keys() -> None:
    member = yamltext.Flow(user_id="u-1", user_email="N@contoso.test", role="user")
    assert yamltext.dump({"members": {"u-1": member}}) == (
        'members:\n  "u-1": {role: "user", user_email: "N@contoso.test", user_id: "u-1"}'
    )


def test_invisible_characters_are_escaped_and_visible_ones_are_kept() -> None:
    assert yamltext.quote('M\u00fcller \U0001f680\t\u200f"\\\u0085') == (
        '"M\u00fcller \U0001f680\\t\\u200f\\"\\\\\\u0085"'
    )


def test_a_combining_mark_after_an_escape_is_escaped_too() -> None:
    assert yamltext.quote("a\n\u0301") == '"a\\n\\u0301"'


def test_a_combining_mark_after_its_letter_stays_readable() -> None:
    assert yamltext.quote("\u0928\u093f\u0915\u094d") == '"\u0928\u093f\u0915\u094d"'


def test_a_float_exponent_keeps_a_decimal_point_so_yaml_1_1_readers_see_a_number() -> None:
    text = yamltext.dump({"big": 1e16, "small": 1e-05, "half": 0.5})
    assert text == "big: 1.0e+16\nhalf: 0.5\nsmall: 1.0e-05"
    assert yaml.safe_load(text) == {"big": 1e16, "small": 1e-05, "half": 0.5}


def test_a_number_that_is_not_finite_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        yamltext.dump({"max_budget": float("inf")})
