"""The snapshot file: strict validation, the shipped schema, and the directory model."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.directory import Directory, Group, Member, User
from generator.errors import ConfigError
from generator.sources import snapshot, snapshot_reader
from generator.workspace import manifest
from tests.conftest import EXAMPLES, ROOT
from tests.fakegraph import FakeGraph, Tenant, serve
from tests.hostile import CORPUS, random_strings
from tests.tenants import directory, group, oid, ref, tenant, user, write

Doc = dict[str, Any]
COMMITTED = sorted(
    p
    for folder in (EXAMPLES, ROOT / "tests" / "golden")
    for p in folder.rglob("*.json")
    if p.name != manifest.NAME
)


def problems(text: str) -> list[str]:
    """The problem lines of the error a snapshot text raises, as `path: text`."""
    with pytest.raises(ConfigError) as caught:
        snapshot.loads(text)
    return [line.strip() for line in str(caught.value).splitlines() if line.startswith("  ")]


def problems_of(data: Any) -> list[str]:
    return problems(json.dumps(data))


def team_with(
    *members: dict[str, str], owners: list[dict[str, str]] | None = None, **extra: Any
) -> Doc:
    """A snapshot of group T with these member references (and owners), and user ann."""
    fields: dict[str, Any] = {} if owners is None else {"owners": owners}
    return tenant([group("T", members=list(members), **fields)], [user("ann")], **extra)


def test_a_snapshot_survives_a_round_trip_byte_for_byte() -> None:
    text = (EXAMPLES / "tenant.json").read_text(encoding="utf-8")
    assert snapshot.dumps(snapshot.loads(text)) == text


def test_a_snapshot_is_the_text_json_writes_indented_whatever_the_strings() -> None:
    strings = [*CORPUS[:400], *random_strings(200, seed=7)]
    users = [
        User(
            id=f"u-{i}{s}",
            display_name=s or None,
            user_principal_name=s,
            mail=None if i % 3 else s,
            account_enabled=(None, True, False)[i % 3],
            user_type=s if i % 2 else None,
        )
        for i, s in enumerate(strings)
    ]
    people = tuple(Member("user", u.id) for u in users)
    groups = [
        Group(id="g-0", display_name="", members=(), owners=()),
        Group(id="g-1", display_name="x", members_read=False),
        *(
            Group(
                id=f"g-{i + 2}{s}",
                display_name=s,
                description=s if i % 2 else None,
                mail=None,
                security_enabled=(None, True, False)[i % 3],
                members=tuple(sorted((*people[i : i + 5], Member("servicePrincipal", "sp")))),
                owners=people[:2] if i % 4 else None,
            )
            for i, s in enumerate(strings)
        ),
    ]
    for assigned in (None, ["g-0", "g-1"]):
        written = Directory.of(groups, users, assigned)
        text = snapshot.dumps(written)
        assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
        assert snapshot.loads(text) == written


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_committed_snapshot_validates_against_the_reader_and_the_schema(
    path: Path,
) -> None:
    text = path.read_text(encoding="utf-8")
    assert snapshot.loads(text, str(path)).groups
    assert list(_schema().iter_errors(json.loads(text))) == []


def test_the_documented_example_snapshot_validates() -> None:
    page = (ROOT / "docs" / "snapshot.md").read_text(encoding="utf-8")
    example = re.search(r"```json\n(.*?)```", page, re.DOTALL)
    assert example is not None
    assert snapshot.loads(example.group(1)).app_assigned


def test_unknown_fields_are_ignored_not_errors() -> None:
    data = tenant(
        [group("G", ("ann",)) | {"visibility": "Private"}], [user("ann") | {"jobTitle": "x"}]
    )
    data["deltaLink"] = "opaque"
    found = directory(data)
    assert found.groups[oid("group/G")].display_name == "G"


def test_members_that_are_not_users_or_groups_need_no_entry_of_their_own() -> None:
    members = [ref("user", "ann"), ref("servicePrincipal", "bot"), ref("device", "pc")]
    found = directory(tenant([group("G", members=members)], [user("ann")]))
    kinds = sorted(m.kind for m in found.groups[oid("group/G")].members)
    assert kinds == ["device", "servicePrincipal", "user"]
    assert Member("servicePrincipal", "x").odata_type == "#microsoft.graph.servicePrincipal"


def test_members_come_by_kind_then_id_and_one_id_keeps_the_type_each_group_names() -> None:
    # Graph's ids are unique across types; a file's need not be, and neither group's member
    # may take the type the other group gave it.
    ann, pc = ref("user", "ann"), ref("device", "pc")
    spn = pc | {"@odata.type": "#microsoft.graph.servicePrincipal"}
    found = directory(
        tenant([group("A", members=[ann, pc]), group("B", members=[ann, spn])], [user("ann")])
    )
    ann_member = Member("user", oid("user/ann"))
    assert found.groups[oid("group/A")].members == (Member("device", pc["id"]), ann_member)
    assert found.groups[oid("group/B")].members == (
        Member("servicePrincipal", pc["id"]),
        ann_member,
    )


def test_owners_that_were_not_read_differ_from_no_owners() -> None:
    found = directory(tenant([group("A"), group("B", owners=[])], []))
    assert found.groups[oid("group/A")].owners is None
    assert found.groups[oid("group/B")].owners == ()


def test_a_member_group_missing_from_groups_is_an_error_not_a_smaller_organization() -> None:
    data = tenant([group("Org", ("ann",), groups=("Team",))], [user("ann")])
    assert problems_of(data) == [
        f"groups[0].members[1].id: group {oid('group/Team')} is not in groups; "
        "the snapshot is incomplete"
    ]


def test_a_user_member_missing_from_users_is_an_error() -> None:
    data = tenant([group("T", ("ann", "bob"))], [user("ann")])
    assert problems_of(data) == [
        f"groups[0].members[1].id: user {oid('user/bob')} is not in users; "
        "the snapshot is incomplete"
    ]


def test_a_missing_user_is_reported_in_every_group_that_names_it() -> None:
    # Each list is checked whole, and a reference is taken as checked only once found valid.
    data = tenant([group("A", ("ann", "bob")), group("B", ("bob", "ann"))], [user("ann")])
    missing = f"user {oid('user/bob')} is not in users; the snapshot is incomplete"
    assert problems_of(data) == [
        f"groups[0].members[1].id: {missing}",
        f"groups[1].members[0].id: {missing}",
    ]


def test_a_reference_checked_in_one_group_is_still_checked_for_its_fields_in_the_next() -> None:
    odd = {"@odata.type": "#microsoft.graph.user", "id": oid("user/ann"), "extra": [1]}
    data = tenant(
        [group("A", ("ann",)), group("B", members=[odd, {"@odata.type": "#microsoft.graph.user"}])],
        [user("ann")],
    )
    assert problems_of(data) == [
        "groups[1].members[1].id: expected a non-empty string (an object id), got nothing"
    ]


def test_an_owner_missing_from_users_is_an_error() -> None:
    data = team_with(ref("user", "ann"), owners=[ref("user", "zed")])
    assert problems_of(data) == [
        f"groups[0].owners[0].id: user {oid('user/zed')} is not in users; "
        "the snapshot is incomplete"
    ]


def test_an_app_assignment_of_a_group_missing_from_groups_is_an_error() -> None:
    rows = [
        {"principalType": "Group", "principalId": oid("group/T")},
        {"principalType": "Group", "principalId": "g-gone"},
    ]
    data = team_with(ref("user", "ann"), appRoleAssignedTo=rows)
    assert problems_of(data) == [
        "appRoleAssignedTo[1].principalId: group g-gone is not in groups; "
        "the snapshot is incomplete"
    ]


def test_only_group_app_assignments_select_groups() -> None:
    rows = [
        {"principalType": "Group", "principalId": oid("group/T")},
        {"principalType": "User", "principalId": "someone-not-in-users"},
    ]
    found = directory(team_with(ref("user", "ann"), appRoleAssignedTo=rows))
    assert found.app_assigned == frozenset({oid("group/T")})


def test_a_snapshot_without_users_is_one_error_not_one_per_member() -> None:
    data = tenant([group("T", ("ann", "bob", "cy"))], [])
    del data["users"]
    assert problems_of(data) == ["users: missing; expected a list (write [] when there are none)"]


def test_account_enabled_must_be_a_boolean_not_a_word() -> None:
    data = tenant([], [user("ann", accountEnabled="yes")])
    assert problems_of(data) == ['users[0].accountEnabled: expected true, false or null, got "yes"']


def test_members_that_are_not_a_list_are_reported_not_a_crash() -> None:
    data = tenant([group("T", members="bob")], [])
    assert problems_of(data) == ['groups[0].members: expected a list, got "bob"']


def test_a_member_without_an_id_is_an_error() -> None:
    data = team_with(ref("user", "ann"), {"@odata.type": "#microsoft.graph.user"})
    assert problems_of(data) == [
        "groups[0].members[1].id: expected a non-empty string (an object id), got nothing"
    ]


def test_a_member_type_must_be_a_graph_type() -> None:
    data = team_with({"@odata.type": "user", "id": oid("user/ann")})
    assert problems_of(data) == [
        'groups[0].members[0].@odata.type: expected a Graph type like "#microsoft.graph.user", '
        'got "user"'
    ]


def test_a_duplicated_id_names_both_paths() -> None:
    data = tenant([], [user("ann"), user("bob"), user("ann")])
    assert problems_of(data) == [
        f"users[2].id: {oid('user/ann')} appears twice, also at users[0].id"
    ]


def test_an_id_cannot_be_both_a_group_and_a_user() -> None:
    data = tenant([group("T")], [user("ann", id=oid("group/T"))])
    assert problems_of(data) == [f"users[0].id: {oid('group/T')} is also the id of a group"]


@pytest.mark.parametrize("version", [2, "1", True, None])
def test_only_version_1_is_read(version: Any) -> None:
    data = tenant([], []) | {"version": version}
    assert problems_of(data) == [f"version: expected 1, got {json.dumps(version)}"]


def test_a_document_that_is_not_an_object_is_refused() -> None:
    assert problems("[]") == ['(top level): expected an object with "version": 1, got a list']


def test_bad_json_is_reported_with_its_line() -> None:
    with pytest.raises(ConfigError, match=r"^tenant\.json:3: not valid JSON: .*entraform snapshot"):
        snapshot.loads('{\n  "version": 1,\n  "groups": [,]\n}', "tenant.json")


def test_the_message_names_the_file_says_what_to_do_and_lists_problems_in_order() -> None:
    data = tenant([group("T", members="bob"), group("U", owners=3)], [user("ann", mail=1)])
    with pytest.raises(ConfigError) as caught:
        snapshot.loads(json.dumps(data), "tenant.json")
    lines = str(caught.value).splitlines()
    assert lines[0] == "tenant.json: not a valid entraform snapshot (3 problems):"
    assert [line.split(":")[0].strip() for line in lines[1:4]] == [
        "groups[0].members",
        "groups[1].owners",
        "users[0].mail",
    ]
    assert "entraform snapshot" in lines[-1]


def test_many_problems_are_capped() -> None:
    members = [{"@odata.type": "#microsoft.graph.user", "id": i} for i in range(30)]
    found = problems_of(team_with(*members))  # type: ignore[arg-type]
    assert len(found) == snapshot_reader.MAX_PROBLEMS + 1
    assert found[-1] == f"and {30 - snapshot_reader.MAX_PROBLEMS} more"


def test_a_broken_snapshot_makes_generate_exit_2(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.json", tenant([group("T", ("ann",))], []))
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "-c",
            str(EXAMPLES / "entraform.yaml"),
            "--snapshot",
            str(bad),
            "-o",
            str(tmp_path / "out"),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 2
    assert f"{bad}: not a valid entraform snapshot" in result.stderr
    assert "groups[0].members[0].id: user" in result.stderr
    assert not (tmp_path / "out").exists()


# Each entry breaks a valid snapshot in one place the schema can express, at that path.
BREAKS: list[tuple[str, Callable[[Doc], object]]] = [
    ("version", lambda d: d.update(version=2)),
    ("groups", lambda d: d.update(groups={})),
    ("users", lambda d: d.pop("users")),
    ("appRoleAssignedTo", lambda d: d.update(appRoleAssignedTo="all")),
    ("appRoleAssignedTo[0]", lambda d: d.update(appRoleAssignedTo=[7])),
    (
        "appRoleAssignedTo[0].principalType",
        lambda d: d.update(appRoleAssignedTo=[{"principalId": "x"}]),
    ),
    ("groups[0]", lambda d: d["groups"].__setitem__(0, "T")),
    ("groups[0].id", lambda d: d["groups"][0].update(id="")),
    ("groups[0].displayName", lambda d: d["groups"][0].pop("displayName")),
    ("groups[0].description", lambda d: d["groups"][0].update(description=["x"])),
    ("groups[0].securityEnabled", lambda d: d["groups"][0].update(securityEnabled="true")),
    ("groups[0].members", lambda d: d["groups"][0].pop("members")),
    ("groups[0].owners", lambda d: d["groups"][0].update(owners={})),
    ("groups[0].members[0]", lambda d: d["groups"][0]["members"].__setitem__(0, "ann")),
    ("groups[0].members[0].id", lambda d: d["groups"][0]["members"][0].update(id=42)),
    ("groups[0].members[0].@odata.type", lambda d: d["groups"][0]["members"][0].pop("@odata.type")),
    (
        "groups[0].owners[0].@odata.type",
        lambda d: d["groups"][0]["owners"][0].update({"@odata.type": "#microsoft.graph."}),
    ),
    ("users[0]", lambda d: d["users"].__setitem__(0, None)),
    ("users[0].id", lambda d: d["users"][0].pop("id")),
    ("users[0].accountEnabled", lambda d: d["users"][0].update(accountEnabled=1)),
    ("users[0].userPrincipalName", lambda d: d["users"][0].update(userPrincipalName=False)),
]


@pytest.mark.parametrize(("path", "breaks"), BREAKS, ids=[p for p, _ in BREAKS])
def test_the_schema_and_the_reader_agree_on_a_broken_snapshot(
    path: str, breaks: Callable[[Doc], object]
) -> None:
    data = copy.deepcopy(_well_formed())
    breaks(data)
    by_schema = sorted(_schema_path(e) for e in _schema().iter_errors(data))
    by_reader = sorted(line.split(": ")[0] for line in problems_of(data))
    assert by_schema == by_reader == [path]


def test_the_readers_field_tables_are_the_schemas() -> None:
    defs = json.loads(_schema_text())["$defs"]
    for fields, name in (
        (snapshot_reader.GROUP_FIELDS, "group"),
        (snapshot_reader.USER_FIELDS, "user"),
    ):
        properties = defs[name]["properties"]
        optional = {k for k in properties if k not in ("id", "members", "owners")}
        assert set(fields) == optional
        for key, expected in fields.items():
            kind = "text" if expected == snapshot_reader.TEXT else "flag"
            assert properties[key] == {"$ref": f"#/$defs/{kind}"}


def test_transitive_members_follow_nesting_and_stop_at_cycles() -> None:
    found = directory(
        tenant(
            [group("A", ("ann",), groups=("B",)), group("B", ("bob",), groups=("A",))],
            [user("ann"), user("bob")],
        )
    )
    a = oid("group/A")
    assert found.user_members(a).users == {oid("user/ann"), oid("user/bob")}
    assert found.user_members(a, "direct").users == {oid("user/ann")}
    assert found.parent_groups(oid("group/B")) == (a,)


# What `entraform snapshot` writes, read back: a Graph read must never produce a snapshot its
# own reader refuses.
SP = "5e1f0000-0000-4000-8000-0000000005e1"
ANN = User("u-ann", "Ann", "ann@contoso.test", "ann@contoso.test", True, "Member")
HIDDEN = User("u-hidden")  # Graph returns only @odata.type and id without User.Read.All
TEAM = Group(
    "g-team",
    "LLM-Team-A",
    members=(
        Member("group", "g-nested"),
        Member("servicePrincipal", "sp-bot"),
        Member("user", "u-ann"),
        Member("user", "u-hidden"),
    ),
    owners=(Member("servicePrincipal", "sp-bot"), Member("user", "u-ann")),
)
NESTED = Group("g-nested", "Nested", members=(Member("group", "g-team"), Member("user", "u-ann")))
OTHER = Group("g-other", "Other", members=(Member("user", "u-ann"),))
READS = {
    "transitive": "",
    "owners": "litellm: {enterprise: true}\n",
    "direct": "membership: direct\n",
    "app": f"source: {{service_principal_id: {SP}}}\n",
}


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    assignments = [
        {"principalType": "Group", "principalId": gid} for gid in ("g-team", "g-other")
    ] + [{"principalType": "User", "principalId": "u-ann"}]
    tenant = Tenant(
        Directory.of([TEAM, NESTED, OTHER], [ANN, HIDDEN]),
        others={"sp-bot": "Deploy bot"},
        assignments={SP: assignments},
    )
    yield from serve(tenant)


@pytest.mark.integration
@pytest.mark.parametrize(
    "read",
    [
        "transitive",
        "owners",
        "direct",
        "app",
    ],
)
def test_a_snapshot_taken_from_graph_validates(graph: FakeGraph, tmp_path: Path, read: str) -> None:
    settings = READS[read]
    admins = ", admins: {owners: true}" if read == "owners" else ""
    rule = f'  - {{rule: t, select: {{prefix: "LLM-Team-"}}{admins}}}\n'
    policy = write_text(tmp_path / "entraform.yaml", f"version: 1\n{settings}teams:\n{rule}")
    env = {"ENTRAFORM_GRAPH_URL": graph.base_url, "ENTRAFORM_GRAPH_TOKEN": "fake-token-for-tests"}
    out = tmp_path / "tenant.json"
    taken = CliRunner(env=env).invoke(
        cli, ["snapshot", "-c", str(policy), "-o", str(out), "-q"], catch_exceptions=False
    )
    assert taken.exit_code == 0, taken.stderr
    found = snapshot.loads(out.read_text(encoding="utf-8"), str(out))
    assert found.groups["g-team"].members == TEAM.members


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _well_formed() -> Doc:
    rows = [{"principalType": "Group", "principalId": oid("group/T")}]
    return team_with(ref("user", "ann"), owners=[ref("user", "ann")], appRoleAssignedTo=rows)


def _schema_text() -> str:
    return resources.files("generator.sources").joinpath("snapshot.schema.json").read_text("utf-8")


def _schema() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(_schema_text()))


def _schema_path(error: jsonschema.ValidationError) -> str:
    path: tuple[str | int, ...] = tuple(error.absolute_path)
    if error.validator == "required":
        path += (re.findall(r"'([^']+)' is a required property", error.message)[0],)
    return snapshot_reader.show(path)
