"""The manifest's values are checked for the types this release writes, each named by its place."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from generator.workspace import shape

SETTINGS = {
    "max_budget": 1.5,
    "budget_duration": "30d",
    "tpm_limit": 1,
    "rpm_limit": 2,
    "models": ["gpt-4o"],
    "metadata": {"cost_center": "42"},
}
VALID: dict[str, Any] = {
    "version": 2,
    "format": "terraform",
    "layout": "per-organization",
    "ids": "group_id",
    "files": {"teams/teams.tf": "sha256:1"},
    "emails": {"k-ann": "ann@contoso.test"},
    "user_ids": {"k-ann": "ann"},
    "organizations": {
        "o": {
            "alias": "A",
            "group": "G",
            "label": "a",
            "root": "org_a",
            "settings": copy.deepcopy(SETTINGS),
            "members": {"user": ["k-ann"]},
        },
    },
    "teams": {
        "t": {
            "alias": "T",
            "group": "G",
            "label": "t",
            "root": "teams",
            "organization": None,
            "settings": copy.deepcopy(SETTINGS),
            "members": {"admin": ["k-ann"]},
        },
    },
    "users": {"k-ann": {"label": "ann", "role": "internal_user"}},
    "levels": {"team": {"t": 1}},
    "forgotten": {"org_a": ["litellm_team.gone"]},
    "moves": {"": [["litellm_team.a", "litellm_team.b"]]},
    "imports": {"teams": [["litellm_team.t", "t"]]},
}

CASES: list[tuple[tuple[Any, ...], Any, str]] = [
    (("format",), 5, "format is an integer, not a string"),
    (("format",), None, "format is null, not a string"),
    (("format",), (1,), "format is something else, not a string"),
    (("layout",), True, "layout is true or false, not a string"),
    (("layout",), "double", "layout is 'double', not one of single, per-organization"),
    (("ids",), 1.5, "ids is a number, not a string"),
    (("files",), [], "files is an array, not an object"),
    (("files", "teams/teams.tf"), 5, "files holds a value that is not a string"),
    (("emails", "k-ann"), None, "emails holds a value that is not a string"),
    (("user_ids", "k-ann"), [], "user_ids holds a value that is not a string"),
    (("organizations",), [], "organizations is an array, not an object"),
    (("organizations", "o"), "o", "organizations.o is a string, not an object"),
    (("organizations", "o", "alias"), 5, "organizations.o.alias is an integer, not a string"),
    (("teams", "t", "group"), False, "teams.t.group is true or false, not a string"),
    (("teams", "t", "label"), 5, "teams.t.label is an integer, not a string"),
    (
        ("teams", "t", "label"),
        "a/b",
        "teams.t.label is 'a/b', not a label (letters, digits, _ and -)",
    ),
    (("teams", "t", "root"), 5, "teams.t.root is an integer, not a string"),
    (
        ("organizations", "o", "root"),
        "../x",
        "organizations.o.root is '../x', not a root folder (teams or org_<label>)",
    ),
    (("teams", "t", "organization"), 5, "teams.t.organization is an integer, not a string or null"),
    (("teams", "t", "settings"), [], "teams.t.settings is an array, not an object"),
    (
        ("teams", "t", "settings", "max_budget"),
        "1",
        "teams.t.settings.max_budget is a string, not an integer or a number",
    ),
    (
        ("teams", "t", "settings", "tpm_limit"),
        1.5,
        "teams.t.settings.tpm_limit is a number, not an integer",
    ),
    (
        ("organizations", "o", "settings", "models"),
        "gpt-4o",
        "organizations.o.settings.models is a string, not an array",
    ),
    (
        ("teams", "t", "settings", "models"),
        [1],
        "teams.t.settings.models holds an entry that is not a string",
    ),
    (
        ("teams", "t", "settings", "metadata"),
        [],
        "teams.t.settings.metadata is an array, not an object",
    ),
    (
        ("teams", "t", "settings", "metadata", "cost_center"),
        42,
        "teams.t.settings.metadata holds a value that is not a string",
    ),
    (("teams", "t", "members"), [], "teams.t.members is an array, not an object"),
    (
        ("teams", "t", "members", "admin"),
        "k-ann",
        "teams.t.members.admin is a string, not an array",
    ),
    (("users",), [], "users is an array, not an object"),
    (("users", "k-ann"), [], "users.k-ann is an array, not an object"),
    (("users", "k-ann", "label"), 5, "users.k-ann.label is an integer, not a string"),
    (("users", "k-ann", "label"), "a b", "users.k-ann.label is 'a b', not a label"),
    (("users", "k-ann", "role"), 5, "users.k-ann.role is an integer, not a string"),
    (("levels",), [], "levels is an array, not an object"),
    (("levels", "team"), [], "levels.team is an array, not an object"),
    (("levels", "team", "t"), "1", "levels.team.t is a string, not an integer"),
    (("forgotten",), [], "forgotten is an array, not an object"),
    (("forgotten", "org_a"), "x", "forgotten.org_a is a string, not an array"),
    (("forgotten",), {"org_a/..": []}, "forgotten.org_a/.. is 'org_a/..', not a root folder"),
    (("moves",), [], "moves is an array, not an object"),
    (("moves", ""), "x", "moves. is a string, not an array"),
    (("moves", ""), ["x"], "moves. holds an entry that is not an array"),
    (("moves", "", 0), [1, "b"], "moves.[0] holds an entry that is not a string"),
    (("imports",), {"..": []}, "imports... is '..', not a root folder"),
    (("imports", "teams", 0), [None], "imports.teams[0] holds an entry that is not a string"),
]


def test_what_this_release_writes_passes() -> None:
    shape.check(copy.deepcopy(VALID))


@pytest.mark.parametrize(("place", "value", "message"), CASES, ids=[m for *_, m in CASES])
def test_a_value_of_another_type_is_named_by_its_place(
    place: tuple[Any, ...], value: Any, message: str
) -> None:
    data = copy.deepcopy(VALID)
    inner = data
    for step in place[:-1]:
        inner = inner[step]
    inner[place[-1]] = value
    with pytest.raises(TypeError) as caught:
        shape.check(data)
    assert str(caught.value).startswith(message)


def test_an_unknown_id_scheme_is_refused_by_the_scheme_reader() -> None:
    with pytest.raises(ValueError, match="no id scheme 'g'"):
        shape.check({**copy.deepcopy(VALID), "ids": "g"})
