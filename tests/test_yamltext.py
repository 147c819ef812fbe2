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


def test_a_mark_is_never_the_first_character_of_a_scalar() -> None:
    # Right after the opening quote nothing of the string is there to carry it: escaped, even a
    # spacing mark of combining class 0 (U+0903) that NFC leaves alone.
    assert yamltext.quote("\u0301a") == '"\\u0301a"'
    assert yamltext.quote("\u0903") == '"\\u0903"'
    assert yamltext.quote("\u0915\u0903") == '"\u0915\u0903"'


def test_escapes_use_four_hex_digits_up_to_ffff_and_eight_past_it() -> None:
    assert yamltext.quote("\uffff\U000e0001") == '"\\uffff\\U000e0001"'


def test_scalars_other_than_strings_are_written_as_yaml_reads_them() -> None:
    data = {"a": None, "b": True, "c": False, "d": 7, "e": 1.5e16, "f": 0.25}
    text = yamltext.dump(data)
    assert text == "a: null\nb: true\nc: false\nd: 7\ne: 1.5e+16\nf: 0.25"
    assert yaml.safe_load(text) == data
    with pytest.raises(TypeError, match="no YAML scalar for object"):
        yamltext.dump({"a": object()})


def test_a_flow_mapping_writes_lists_and_ordered_mappings_inline() -> None:
    flow = yamltext.Flow(models=["gpt-4o", "o1"], tags=yamltext.Ordered(z="1", a="2"), empty=[])
    assert yamltext.dump({"x": flow}) == (
        'x: {empty: [], models: ["gpt-4o", "o1"], tags: {z: "1", a: "2"}}'
    )


def test_an_ordered_mapping_keeps_its_order_in_block_style() -> None:
    assert yamltext.dump({"m": yamltext.Ordered(z="1", a="2")}) == 'm:\n  z: "1"\n  a: "2"'


@pytest.mark.parametrize("length", [1000, 1001])
def test_a_key_longer_than_yaml_allows_an_implicit_key_is_written_explicit(length: int) -> None:
    key = "k" * length
    block = yamltext.dump({key: "v"})
    flow = yamltext.dump({"x": yamltext.Flow({key: "v"})})
    if length <= 1000:
        assert (block, flow) == (f'{key}: "v"', f'x: {{{key}: "v"}}')
    else:
        assert (block, flow) == (f'? {key}\n: "v"', f'x: {{? {key} : "v"}}')
    assert yaml.safe_load(block) == {key: "v"} and yaml.safe_load(flow) == {"x": {key: "v"}}


def test_a_commented_mapping_keeps_its_order_under_one_comment_line_that_changes_no_value() -> None:
    members = yamltext.Commented({"b": "2", "a": "1"}, "Team Line1\\nLine2 # not a key: x")
    text = yamltext.dump({"team_members": {"second": members, "first": {}}})
    assert text.splitlines() == [
        "team_members:",
        "  first: {}",
        "  # Team Line1\\nLine2 # not a key: x",
        "  second:",
        '    b: "2"',
        '    a: "1"',
    ]
    assert yaml.safe_load(text) == {"team_members": {"first": {}, "second": {"b": "2", "a": "1"}}}
