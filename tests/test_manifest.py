"""The manifest: everything the next run needs, written one entry per line and read back exactly."""

from __future__ import annotations

import json
from dataclasses import replace
from json.encoder import encode_basestring

import pytest

from generator.render import legacy
from generator.state import DesiredState, LiteLLMUser, Membership, Organization, Settings, Team
from generator.workspace import manifest
from generator.workspace.blocks import Import, Move
from generator.workspace.labels import Forgotten, Labels
from generator.workspace.manifest import Manifest
from tests.hostile import CORPUS

ANN = Membership("k-ann", "k-ann", "ann@contoso.test", "internal_user")
BOB = Membership("k-bob", "bob@contoso.test", "bob@contoso.test", "user")
SETTINGS = Settings(
    models=("gpt-4o", "gpt-4o-mini"),
    max_budget=12.5,
    budget_duration="30d",
    tpm_limit=1000,
    rpm_limit=10,
    metadata=(("${owner}", "%{ x }"), ("team", "ai")),
)


def _manifest() -> Manifest:
    org = Organization("o-1", "Finance", "LLM-Org-Finance", SETTINGS, (ANN,))
    team = Team("t-1", "Analysts", "LLM-Team-Analysts", "o-1", Settings(max_budget=100), (ANN, BOB))
    lone = Team("t-2", "Sandbox", "LLM-Sandbox", None, Settings(), ())
    users = (
        LiteLLMUser("k-ann", "k-ann", "ann@contoso.test", "proxy_admin"),
        LiteLLMUser("k-bob", "bob@contoso.test", "bob@contoso.test", "internal_user"),
    )
    labels = Labels(
        {"o-1": "finance_o1"},
        {"t-1": "analysts_t1", "t-2": "sandbox_t2"},
        (
            Forgotten("team", "gone_t9", root="org_finance_o1"),
            Forgotten("team", "gone_t9", True, "a", "org_finance_o1"),
            Forgotten("user", "old_user"),
        ),
        levels={("organization", "finance_o1"): 0, ("team", "analysts_t1"): 1},
        roots={("organization", "finance_o1"): "org_finance_o1", ("team", "analysts_t1"): "teams"},
        users={"k-ann": "ann_k", "bob@contoso.test": "bob_k"},
    )
    return Manifest(
        "terraform",
        "per-organization",
        "prefixed:entraform-",
        {"teams/teams.tf": "sha256:aa", "org_finance_o1/moved.tf": "sha256:bb"},
        DesiredState((org,), (team, lone), users),
        labels,
        {"org_finance_o1": (Move("litellm_team.a", "litellm_team.b", "team"),)},
        {"teams": (Import('litellm_team_member.x["k"]', "t-1:k", "team member"),)},
    )


def test_a_manifest_reads_back_as_everything_it_was_written_with() -> None:
    written = _manifest()
    assert manifest.loads(manifest.dumps(written)) == written


def test_it_is_json_with_one_member_one_file_and_one_block_per_line() -> None:
    text = manifest.dumps(_manifest())
    data = json.loads(text)
    assert data["version"] == manifest.VERSION == manifest.version(text)
    lines = text.splitlines()
    assert '        "k-bob"' in lines  # one member per line, under its role
    assert '    "org_finance_o1/moved.tf": "sha256:bb",' in lines
    assert data["user_ids"] == {"k-bob": "bob@contoso.test"}  # only where it is not the key
    assert text.endswith("}\n") and text == manifest.dumps(manifest.loads(text))
    assert lines[lines.index('  "teams": {') + 9].endswith('"members": {}}')  # none


def test_a_bulk_written_already_is_taken_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    record = _manifest()
    whole = manifest.dumps(record)
    bulk = manifest.bulk_of(record.state, record.labels)

    def written_again(state: DesiredState, labels: Labels) -> list[str]:
        raise AssertionError("the bulk was written again")

    monkeypatch.setattr(manifest, "bulk_of", written_again)
    assert manifest.dumps(record, bulk) == whole


def test_the_bulk_holds_nothing_of_removed_blocks() -> None:
    # A run writes its bulk before the folder's hand-pruned files restore removed blocks.
    record = _manifest()
    assert record.labels.tombstones
    cleared = replace(record.labels, tombstones=())
    assert manifest.bulk_of(record.state, cleared) == manifest.bulk_of(record.state, record.labels)


def test_members_of_one_role_are_one_per_line_and_names_stay_as_written() -> None:
    people = tuple(Membership(f"k-{n}", f"k-{n}", f"{n}@contoso.test", "user") for n in "äöü")
    team = Team("t-ä", "Ärzte", "LLM-Ärzte", None, Settings(), people)
    state, labels = DesiredState(teams=(team,)), Labels(teams={"t-ä": "ärzte"})
    written = Manifest("yaml", "single", state=state, labels=labels)
    lines = manifest.dumps(written).splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith('    "t-ä": {"alias"'))
    assert lines[start].startswith('    "t-ä": {"alias": "Ärzte", "group": "LLM-Ärzte"')
    assert lines[start + 1 : start + 7] == [
        '      "user": [',
        '        "k-ä",',
        '        "k-ö",',
        '        "k-ü"',
        "      ]",
        "    }}",
    ]
    assert '    "k-ä": "ä@contoso.test",' in lines  # readable in the pull request's diff
    assert not [line for line in lines if "\\u" in line]


@pytest.mark.parametrize("name", [n for n in CORPUS if n])
def test_hostile_names_come_back_exactly(name: str) -> None:
    member = Membership(name, name, name, "user")
    state = DesiredState(teams=(Team(name, name, name, None, Settings(), (member,)),))
    written = Manifest("yaml", "single", state=state, labels=Labels(teams={name: "t"}))
    assert manifest.loads(manifest.dumps(written)) == written


@pytest.mark.parametrize("key", [n for n in CORPUS if n])
def test_a_hostile_key_comes_back_exactly_beside_plain_emails(key: str) -> None:
    members = (Membership(key, key, "a@contoso.test", "user"), Membership("k", "k", "b@x", "user"))
    state = DesiredState(teams=(Team("t", "T", "G", None, Settings(), tuple(sorted(members))),))
    written = Manifest("yaml", "single", state=state, labels=Labels(teams={"t": "t"}))
    assert manifest.loads(manifest.dumps(written)) == written


def test_keys_are_joined_as_they_are_exactly_when_json_would_write_them_so() -> None:
    every = [chr(c) for c in range(0x10000) if not 0xD800 <= c < 0xE000] + ["\U0001f600"]
    for c in every:
        assert bool(manifest._ESCAPED.search(c)) == (encode_basestring(c) != f'"{c}"'), repr(c)


_HEAD = (
    '{"version": 2, "files": {}, "format": "terraform", "layout": "single", "ids": "group_id",'
    ' "organizations": {}, "teams": {}, "users": {}, "emails": {}, "user_ids": {},'
    ' "levels": {}, '
)
_TAIL = '"forgotten": {}, "moves": {}, "imports": {}}'
_TEAM = (
    '"teams": {{"t": {{"alias": "A", "group": "G", "label": "{label}", "root": "{root}", '
    '"organization": null, "settings": {{}}, "members": {{}}}}}}'
)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "Expecting value"),
        ("[]", "not a version 2 manifest"),
        ('{"version": 1, "files": {}}', "not a version 2 manifest"),
        ('{"version": 2}', "unreadable: KeyError('format')"),
        ('{"version": 2, "files": {}, "format": "terraform"}', "unreadable: KeyError('layout')"),
        (
            _HEAD + '"forgotten": {"": ["team.x"]}, "moves": {}, "imports": {}}',
            "team.x",
        ),
        (_HEAD.replace('"group_id"', '"g"') + _TAIL, "no id scheme 'g'"),
        (_HEAD.replace('"single"', '"double"') + _TAIL, "layout is 'double'"),
        (_HEAD.replace('"files": {}', '"files": []') + _TAIL, "files is an array, not an object"),
        (
            _HEAD.replace('"teams": {}', '"teams": {"t": {"alias": "A", "group": "G", "label": 5}}')
            + _TAIL,
            "teams.t.label is an integer, not a string",
        ),
        (
            _HEAD.replace('"levels": {}', '"levels": {"team": {"a": true}}') + _TAIL,
            "levels.team.a is true or false, not an integer",
        ),
        (_HEAD.replace('"teams": {}', _TEAM.format(label="../t", root="")) + _TAIL, "'../t'"),
        (
            _HEAD.replace('"teams": {}', _TEAM.format(label="t", root="../x")) + _TAIL,
            "teams.t.root is '../x', not a root folder",
        ),
        (
            _HEAD + '"forgotten": {"org_a/../..": []}, "moves": {}, "imports": {}}',
            "forgotten.org_a/../.. is 'org_a/../..', not a root folder",
        ),
        (
            _HEAD + '"forgotten": {}, "moves": {}, "imports": {"../x": []}}',
            "imports.../x is '../x', not a root folder",
        ),
    ],
    ids=[
        "empty",
        "a list",
        "version 1",
        "no files",
        "missing sections",
        "a bad address",
        "an unknown id scheme",
        "an unknown layout",
        "files as a list",
        "a label as a number",
        "a level as a boolean",
        "a label that is a path",
        "a root outside the folder",
        "a forgotten root outside the folder",
        "an import root outside the folder",
    ],
)
def test_anything_but_a_manifest_of_this_version_is_refused_with_the_reason(
    text: str, reason: str
) -> None:
    with pytest.raises(ValueError) as caught:
        manifest.loads(text)
    assert reason in str(caught.value)


def test_the_version_is_told_only_for_a_manifest() -> None:
    assert manifest.version('{"version": 1, "files": {}}') == 1
    assert manifest.version('{"version": 1}') is None
    assert manifest.version('{"version": "1", "files": {}}') is None
    assert manifest.version("[1]") is None
    assert manifest.version("nope") is None


def test_a_version_1_manifest_gives_its_digests_and_id_scheme() -> None:
    text = '{"version": 1, "ids": "prefixed:x-", "files": {"teams.tf": "sha256:1"}}'
    assert manifest.v1_files(text) == {"teams.tf": "sha256:1"}
    assert legacy.v1_ids(text) == "prefixed:x-"
    assert legacy.v1_ids('{"version": 1, "files": {}}') == manifest.DEFAULT_IDS
    assert legacy.v1_ids('{"ids": 3}') == manifest.DEFAULT_IDS
    assert legacy.v1_ids("[]") == manifest.DEFAULT_IDS
    assert manifest.v1_files('{"files": []}') is None
    assert manifest.v1_files("nope") is None


def test_digests_are_the_sha256_of_the_utf8_text() -> None:
    assert manifest.digest("é\n") == (
        "sha256:" + __import__("hashlib").sha256("é\n".encode()).hexdigest()
    )


def test_members_this_run_knows_are_shared_only_when_they_are_the_same() -> None:
    text = manifest.dumps(_manifest())
    same_ann = Membership(*ANN)
    other_bob = Membership(BOB.key, "someone-else", BOB.user_email, BOB.role)
    other_role = Membership(ANN.key, ANN.user_id, ANN.user_email, "user")
    other_email = Membership(BOB.key, BOB.user_id, "bob@fabrikam.test", BOB.role)
    loaded = manifest.loads(text, [same_ann, other_bob, other_role, other_email, same_ann])
    (org,), (team, _) = loaded.state.organizations, loaded.state.teams
    assert loaded == _manifest()
    assert org.members[0] is same_ann and team.members[0] is same_ann
    assert team.members[1] == BOB and team.members[1] is not other_bob
    assert team.members[1] is not other_email
    same_bob = Membership(*BOB)  # a user id that is not the key: shared all the same
    (team, _) = manifest.loads(text, [other_bob, same_bob]).state.teams
    assert team.members[1] is same_bob


def test_forgotten_blocks_are_recorded_by_address_whatever_instance_they_leave() -> None:
    was = 'litellm_user.users__0a["00000000-0000-4000-8000-000000000001"]'
    tombstones = (Forgotten("user", "b_user", was=was), Forgotten("user", "c_user"))
    written = Manifest("terraform", "single", labels=Labels(tombstones=tombstones))
    recorded = json.loads(manifest.dumps(written))["forgotten"][""]
    # By address: the instance a user leaves sorts otherwise, and is not what the block names.
    assert recorded == [["litellm_user.b_user", was], "litellm_user.c_user"]
    assert manifest.loads(manifest.dumps(written)) == written
