"""The snapshot file and the directory model."""

from __future__ import annotations

import json

import pytest

from generator import snapshot
from generator.directory import Member
from generator.errors import ConfigError
from tests.conftest import EXAMPLES
from tests.tenants import directory, group, oid, ref, tenant, user


def test_a_snapshot_survives_a_round_trip_byte_for_byte() -> None:
    text = (EXAMPLES / "tenant.json").read_text(encoding="utf-8")
    assert snapshot.dumps(snapshot.loads(text)) == text


def test_unknown_fields_are_ignored_not_errors() -> None:
    data = tenant(
        [group("G", ("ann",)) | {"visibility": "Private"}], [user("ann") | {"jobTitle": "x"}]
    )
    data["deltaLink"] = "opaque"
    found = directory(data)
    assert found.groups[oid("group/G")].display_name == "G"


def test_member_types_are_kept_as_graph_names_them() -> None:
    members = [ref("user", "ann"), ref("servicePrincipal", "bot"), ref("device", "pc")]
    found = directory(tenant([group("G", members=members)], [user("ann")]))
    kinds = sorted(m.kind for m in found.groups[oid("group/G")].members)
    assert kinds == ["device", "servicePrincipal", "user"]
    assert Member("servicePrincipal", "x").odata_type == "#microsoft.graph.servicePrincipal"


def test_owners_that_were_not_read_differ_from_no_owners() -> None:
    found = directory(tenant([group("A"), group("B", owners=[])], []))
    assert found.groups[oid("group/A")].owners is None
    assert found.groups[oid("group/B")].owners == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "not an entraform snapshot"),
        ('{"version": 2}', "not an entraform snapshot"),
        ('{"version": 1, "groups": [{"displayName": "no id"}]}', "malformed snapshot entry"),
        ("{", "<snapshot>:1: not valid JSON"),
    ],
)
def test_malformed_snapshots_are_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        snapshot.loads(text)


def test_duplicate_ids_are_an_error() -> None:
    with pytest.raises(ConfigError, match="appears twice"):
        snapshot.loads(json.dumps(tenant([], [user("ann"), user("ann")])))


def test_only_group_app_assignments_count() -> None:
    rows = [
        {"principalType": "Group", "principalId": "g1"},
        {"principalType": "User", "principalId": "u1"},
    ]
    assert directory(tenant([], [], appRoleAssignedTo=rows)).app_assigned == frozenset({"g1"})


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
