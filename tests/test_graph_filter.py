"""source.filter holds for every group read, nested ones too, against the fake Graph on loopback."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.directory import GROUP, USER, Directory, Group, Member, User
from generator.sources import GroupSelector, Needs, snapshot
from generator.sources.snapshot import SnapshotSource
from tests.fakegraph import FakeGraph, Tenant, serve
from tests.test_graph_source import read

pytestmark = pytest.mark.integration  # starts servers, programs or builds

FILTER = "securityEnabled eq true"
PEOPLE = [User(id=f"u-{n}", display_name=n) for n in ("ann", "ben", "cat", "dan")]
MORE = [User(id=f"u-x{i:02d}", display_name=f"x{i}") for i in range(40)]


def _u(name: str) -> Member:
    return Member(USER, f"u-{name}")


def _g(name: str) -> Member:
    return Member(GROUP, f"g-{name}")


def _group(name: str, secure: bool | None, *members: Member) -> Group:
    return Group(
        id=f"g-{name}", display_name=name, security_enabled=secure, members=tuple(sorted(members))
    )


# team holds ann, a security group (ben, and a security group holding cat) and a
# Microsoft 365 group (dan): the filter keeps the first two, leaves out the third.
TEAM = _group("team", True, _u("ann"), _g("secure"), _g("m365"))
SECURE = _group("secure", True, _u("ben"), _g("deeper"))
DEEPER = _group("deeper", True, _u("cat"))
M365 = _group("m365", False, _u("dan"))
# wide holds forty nested groups, every other one a security group: three checks of fifteen.
NESTED = [_group(f"n{i:02d}", i % 2 == 0, Member(USER, MORE[i].id)) for i in range(40)]
WIDE = _group("wide", True, *(Member(GROUP, n.id) for n in NESTED))


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    """The tenant above."""
    groups = [TEAM, SECURE, DEEPER, M365, WIDE, *NESTED]
    yield from serve(Tenant(Directory.of(groups, PEOPLE + MORE), token="fake-token-for-tests"))


def needs(*names: str, transitive: bool = True, group_filter: str | None = FILTER) -> Needs:
    return Needs(
        selectors=(GroupSelector(names=names),),
        transitive=transitive,
        group_filter=group_filter,
    )


def test_a_nested_group_outside_the_filter_is_no_member_and_its_members_do_not_count(
    fake: FakeGraph,
) -> None:
    directory = read(fake, needs("team"))
    assert set(directory.groups) == {TEAM.id, SECURE.id, DEEPER.id}
    assert directory.groups[TEAM.id].members == (_g("secure"), _u("ann"))
    assert directory.user_members(TEAM.id).users == {"u-ann", "u-ben", "u-cat"}
    assert "u-dan" not in directory.users
    assert fake.count(f"/groups/{M365.id}/members") == 0  # left out before it was read


def test_without_a_filter_every_nested_group_counts(fake: FakeGraph) -> None:
    directory = read(fake, needs("team", group_filter=None))
    assert directory.user_members(TEAM.id).users == {"u-ann", "u-ben", "u-cat", "u-dan"}
    assert fake.count("id in (") == 0  # nothing to check


def test_under_direct_membership_a_nested_group_outside_the_filter_is_left_out_too(
    fake: FakeGraph,
) -> None:
    directory = read(fake, needs("team", transitive=False))
    assert set(directory.groups) == {TEAM.id, SECURE.id}
    assert directory.groups[SECURE.id].members_read is False
    assert directory.groups[TEAM.id].members == (_g("secure"), _u("ann"))


def test_nested_groups_are_held_to_the_filter_fifteen_at_a_time_by_graph(
    fake: FakeGraph,
) -> None:
    stream = io.StringIO()
    directory = read(fake, needs("wide"), stream)
    kept = {n.id for n in NESTED if n.security_enabled}
    assert {m.id for m in directory.groups[WIDE.id].members} == kept
    assert directory.user_members(WIDE.id).users == {MORE[i].id for i in range(0, 40, 2)}
    checks = [r for r in fake.requests if "id in (" in r]
    assert len(checks) == 3 and all(f"and ({FILTER})" in r for r in checks)
    assert "graph: 20 nested groups left out by source.filter" in stream.getvalue()


def test_a_selected_group_nested_in_another_is_read_once_whatever_comes_first(
    fake: FakeGraph,
) -> None:
    directory = read(fake, needs("team", "secure", "deeper"))
    assert directory.user_members(TEAM.id).users == {"u-ann", "u-ben", "u-cat"}
    for group in (TEAM, SECURE, DEEPER):
        assert fake.count(f"/groups/{group.id}/members") == 1


def test_a_snapshot_of_a_filtered_read_reads_back_as_the_same_directory(
    fake: FakeGraph, tmp_path: Path
) -> None:
    directory = read(fake, needs("team"))
    path = tmp_path / "tenant.json"
    path.write_text(snapshot.dumps(directory), encoding="utf-8")
    assert SnapshotSource(path).read(needs("team")) == directory


def test_a_snapshot_is_not_filtered_again_it_holds_what_passed_when_it_was_taken(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tenant.json"
    path.write_text(snapshot.dumps(Directory.of([TEAM, SECURE, DEEPER, M365], PEOPLE)), "utf-8")
    directory = SnapshotSource(path).read(needs("team"))  # an OData filter Graph evaluates
    assert directory.user_members(TEAM.id).users == {"u-ann", "u-ben", "u-cat", "u-dan"}
