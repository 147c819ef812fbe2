"""The safety core, pinned: the semantic diff, every guard, the fates and how values are shown."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from generator import plan
from generator.plan import MemberChange, ObjectChange
from generator.policy import Safety, Users
from generator.state import DesiredState, LiteLLMUser, Membership, Organization, Settings, Team

SAFE = Safety(max_removed=10, max_removed_percent=10.0, min_existing=20)
FATES = plan.fates(Safety(), Users())


def _member(n: int, role: str = "user") -> Membership:
    return Membership(f"k{n:03}", f"k{n:03}", f"p{n:03}@contoso.test", role)


def _team(
    n: int, members: range | tuple[Membership, ...] = range(0), org: str | None = None, **kw: object
) -> Team:
    found = members if isinstance(members, tuple) else tuple(_member(i) for i in members)
    team = Team(f"t{n}", f"Team {n}", f"Group {n}", org, Settings(), found)
    return replace(team, **kw)  # type: ignore[arg-type]


def _org(n: int, members: range = range(0), **kw: object) -> Organization:
    found = tuple(_member(i, "internal_user") for i in members)
    org = Organization(f"o{n}", f"Org {n}", f"Group o{n}", Settings(), found)
    return replace(org, **kw)  # type: ignore[arg-type]


def _state(*objects: Team | Organization, users: tuple[LiteLLMUser, ...] = ()) -> DesiredState:
    return DesiredState(
        tuple(o for o in objects if isinstance(o, Organization)),
        tuple(t for t in objects if isinstance(t, Team)),
        users,
    )


def _refusals(before: DesiredState, after: DesiredState, safety: Safety = SAFE) -> list[str]:
    changes = plan.diff(before, after, FATES)
    return [r.reason for r in plan.guard(before, after, changes, safety)]


# The semantic diff


def test_every_removed_object_of_a_kind_is_listed_not_only_the_first() -> None:
    before = _state(_team(1), _team(2), _team(3))
    changes = plan.diff(before, _state(_team(2)), FATES)
    assert [(o.id, o.action) for o in changes.objects] == [("t1", "removed"), ("t3", "removed")]


def test_changes_after_a_removed_object_are_still_found() -> None:
    before = _state(_team(1), _team(2, range(2)))
    after = _state(_team(2, range(3), alias="Renamed"))
    changes = plan.diff(before, after, FATES)
    assert [(o.id, o.action) for o in changes.objects] == [("t1", "removed"), ("t2", "renamed")]
    assert [(m.scope_id, m.user_email, m.action) for m in changes.members] == [
        ("t2", "p002@contoso.test", "added")
    ]


def test_a_promotion_is_a_role_change_and_unchanged_members_are_no_change() -> None:
    before = _state(_team(1, range(3)))
    promoted = (_member(0), _member(1, "admin"), _member(2))
    changes = plan.diff(before, _state(_team(1, promoted)), FATES)
    assert changes.members == (
        MemberChange("team", "t1", "Team 1", "p001@contoso.test", "role", "admin", "user", "k001"),
    )
    assert changes.count("member", "role") == 1


def test_member_changes_are_sorted_by_email_and_carry_the_new_alias_and_user_id() -> None:
    before = _state(_team(1, (_member(5), _member(2))))
    after = _state(_team(1, (_member(2), _member(9), _member(1)), alias="New"))
    changes = plan.diff(before, after, FATES)
    assert changes.members == (
        MemberChange("team", "t1", "New", "p001@contoso.test", "added", "user", None, "k001"),
        MemberChange("team", "t1", "New", "p005@contoso.test", "removed", "user", None, "k005"),
        MemberChange("team", "t1", "New", "p009@contoso.test", "added", "user", None, "k009"),
    )


def test_member_changes_follow_the_email_not_the_key() -> None:
    zed, amy = (
        Membership("k1", "k1", "zed@x.test", "user"),
        Membership("k2", "k2", "amy@x.test", "user"),
    )
    changes = plan.diff(_state(_team(1)), _state(_team(1, (zed, amy))), FATES)
    assert [m.user_email for m in changes.members] == ["amy@x.test", "zed@x.test"]


def test_every_member_of_an_added_team_is_one_added_change_in_full_by_email() -> None:
    zed, amy = (
        Membership("k1", "u1", "zed@x.test", "admin"),
        Membership("k2", "k2", "amy@x.test", "user"),
    )
    changes = plan.diff(_state(), _state(_team(1, (zed, amy))), FATES)
    assert changes.members == (
        MemberChange("team", "t1", "Team 1", "amy@x.test", "added", "user", None, "k2"),
        MemberChange("team", "t1", "Team 1", "zed@x.test", "added", "admin", None, "u1"),
    )
    assert {type(m) for m in changes.members} == {MemberChange}
    assert (changes.count("member", "added"), changes.count("member", "removed")) == (2, 0)


def test_members_of_an_added_object_are_added_and_of_a_removed_one_are_not_listed() -> None:
    changes = plan.diff(_state(_team(1, range(2))), _state(_org(2, range(1))), FATES)
    assert [(o.kind, o.id, o.action) for o in changes.objects] == [
        ("organization", "o2", "added"),
        ("team", "t1", "removed"),
    ]
    assert [(m.kind, m.action) for m in changes.members] == [("organization", "added")]


def test_member_counts_agree_with_the_listed_changes_and_build_none_of_them() -> None:
    before = _state(_team(1, range(4)), _team(2, range(2)))
    role = _member(0, "admin")
    after = _state(
        _team(1, (role, *(_member(i) for i in range(2, 7)))), _team(2), _team(3, range(5))
    )
    changes = plan.diff(before, after, FATES)
    counts = {a: changes.count("member", a) for a in ("added", "removed", "role")}
    assert counts == {"added": 3 + 5, "removed": 1 + 2, "role": 1}
    # Counting lists no change: a first run's half a million are built only when read.
    assert "members" not in vars(changes)
    assert Counter(m.action for m in changes.members) == counts
    assert not changes.empty and plan.diff(after, after, FATES).empty
    assert not plan.diff(_state(_team(1, range(1))), _state(_team(1, range(2))), FATES).empty
    renamed = (_member(0)._replace(user_email="new@contoso.test"),)
    changes = plan.diff(_state(_team(1, range(1))), _state(_team(1, renamed)), FATES)
    assert changes.empty and not changes.members  # a new email is no member change


def test_the_same_state_gives_no_change() -> None:
    state = _state(_org(1, range(3)), _team(1, range(2), org="o1"), _team(2, range(4)))
    changes = plan.diff(state, state, FATES)
    assert changes.empty
    assert not changes.objects and not changes.members


def test_a_rename_and_a_settings_change_are_two_changes_with_their_details() -> None:
    before = _state(_team(1, settings=Settings(max_budget=10.0, models=("a",))))
    after = _state(
        _team(1, alias="Team One", settings=Settings(max_budget=12.5, models=("a", "b")))
    )
    changes = plan.diff(before, after, FATES)
    assert changes.objects == (
        ObjectChange("team", "t1", "Team One", "renamed", "from 'Team 1'"),
        ObjectChange(
            "team", "t1", "Team One", "changed", "max_budget: 10 → 12.5; models: [a] → [a, b]"
        ),
    )


@pytest.mark.parametrize(
    ("name", "old", "new", "shown"),
    [
        ("tpm_limit", None, 5, "unset → 5"),
        ("max_budget", 100.0, None, "100 → unset"),
        ("max_budget", 2.5, 3.0, "2.5 → 3"),
        ("models", ("x", "y"), (), "[x, y] → []"),
        ("metadata", (("k", "v"),), (("k", "w"), ("l", "v")), "{k: v} → {k: w, l: v}"),
        ("budget_duration", "30d", "1mo", "30d → 1mo"),
    ],
)
def test_values_are_shown_the_way_a_reviewer_reads_them(
    name: str, old: object, new: object, shown: str
) -> None:
    before = _state(_team(1, settings=Settings(**{name: old})))  # type: ignore[arg-type]
    after = _state(_team(1, settings=Settings(**{name: new})))  # type: ignore[arg-type]
    (change,) = plan.diff(before, after, FATES).objects
    assert change.detail == f"{name}: {shown}"


def test_a_team_moving_organization_names_both_and_says_none_for_standalone() -> None:
    orgs = (_org(1, alias="Finance"), _org(2, alias="Research"))
    moves = [
        (_team(1, org="o1"), _team(1, org="o2"), "organization: 'Finance' → 'Research'"),
        (_team(1), _team(1, org="o1"), "organization: none → 'Finance'"),
        (_team(1, org="o2"), _team(1), "organization: 'Research' → none"),
    ]
    for old, new, detail in moves:
        (change,) = plan.diff(_state(*orgs, old), _state(*orgs, new), FATES).objects
        assert (change.action, change.detail) == ("changed", detail)


def test_an_organization_known_only_from_the_old_or_the_new_state_is_named_by_alias() -> None:
    before = _state(_org(1, alias="Old"), _team(1, org="o1"))
    after = _state(_org(2, alias="New"), _team(1, org="o2"))
    details = [o.detail for o in plan.diff(before, after, FATES).objects if o.kind == "team"]
    assert details == ["organization: 'Old' → 'New'"]


def test_an_organization_known_to_neither_state_is_named_by_id() -> None:
    before = _state(_team(1, org="o9"))
    after = _state(_team(1))
    (change,) = plan.diff(before, after, FATES).objects
    assert change.detail == "organization: 'o9' → none"


# Fates: what happens to a removed object, as the summary tells reviewers


@pytest.mark.parametrize(
    ("safety", "users", "fates"),
    [
        (Safety(), Users(), ("forgotten", "deleted", "deleted")),
        (
            Safety(organizations_removed="delete", teams_removed="forget"),
            Users(removed="forget"),
            ("deleted", "forgotten", "forgotten"),
        ),
    ],
)
def test_each_kind_is_forgotten_or_deleted_as_the_policy_says(
    safety: Safety, users: Users, fates: tuple[str, str, str]
) -> None:
    found = plan.fates(safety, users)
    user = LiteLLMUser("k1", "k1", "p1@contoso.test", "internal_user")
    changes = plan.diff(_state(_org(1), _team(1), users=(user,)), _state(), found)
    assert [(o.kind, o.detail) for o in changes.objects] == list(
        zip(("organization", "team", "user"), fates, strict=True)
    )


def test_without_fates_a_removed_object_is_deleted() -> None:
    user = LiteLLMUser("k1", "k1", "p1@contoso.test", "internal_user")
    changes = plan.diff(_state(_org(1), _team(1), users=(user,)), _state())
    assert [o.detail for o in changes.objects] == ["deleted", "deleted", "deleted"]


# Users (users.manage)


def _user(
    key: str, email: str, role: str = "internal_user", user_id: str | None = None
) -> LiteLLMUser:
    return LiteLLMUser(key, user_id or key, email, role)


def test_user_changes_name_each_changed_field_and_leave_equal_users_alone() -> None:
    before = (
        _user("a", "ann@x.test"),
        _user("b", "bob@x.test"),
        _user("c", "cy@x.test"),
    )
    after = (
        _user("a", "ann@x.test", "proxy_admin"),
        _user("b", "bob@x.test"),
        _user("c", "cyrus@x.test", user_id="cy"),
    )
    changes = plan.diff(_state(users=before), _state(users=after), FATES)
    assert changes.objects == (
        ObjectChange("user", "a", "ann@x.test", "changed", "role: internal_user → proxy_admin"),
        ObjectChange(
            "user",
            "c",
            "cyrus@x.test",
            "changed",
            "user_id: c → cy; user_email: cy@x.test → cyrus@x.test",
        ),
    )


def test_users_come_and_go_in_email_order_whatever_the_case() -> None:
    before = (_user("1", "Zed@x.test"), _user("2", "amy@x.test"))
    after = (_user("3", "Bea@x.test"), _user("2", "amy@x.test"), _user("4", "bea@x.test"))
    changes = plan.diff(_state(users=before), _state(users=after), FATES)
    assert changes.objects == (
        ObjectChange("user", "3", "Bea@x.test", "added"),
        ObjectChange("user", "4", "bea@x.test", "added"),
        ObjectChange("user", "1", "Zed@x.test", "removed", "deleted"),
    )


def test_a_removed_user_takes_the_users_fate() -> None:
    forget = plan.fates(Safety(), Users(removed="forget"))
    changes = plan.diff(_state(users=(_user("1", "a@x.test"),)), _state(), forget)
    assert [(o.action, o.detail) for o in changes.objects] == [("removed", "forgotten")]


# The guards


def test_a_teams_only_policy_passes_the_guards() -> None:
    assert _refusals(_state(), _state(_team(1, range(3)))) == []
    assert _refusals(_state(_team(1, range(3))), _state(_team(1, range(2)))) == []


def test_an_organizations_only_policy_passes_the_guards() -> None:
    assert _refusals(_state(), _state(_org(1, range(3)))) == []


def test_a_policy_that_selects_nothing_is_refused_and_says_why() -> None:
    assert _refusals(_state(), _state()) == [
        "the policy selects no groups at all: check its selectors against the tenant "
        "(entraform validate --snapshot)"
    ]


def test_selecting_nothing_after_something_is_refused_as_removing_everything() -> None:
    found = _refusals(_state(_team(1)), _state(), Safety(max_removed=100))
    assert found == ["the policy selects no groups at all: refusing to remove everything"]
    found = _refusals(_state(_org(1)), _state(), Safety(max_removed=100))
    assert found == ["the policy selects no groups at all: refusing to remove everything"]
    found = _refusals(_state(_org(1), _team(2)), _state(), Safety(max_removed=100))
    assert found == ["the policy selects no groups at all: refusing to remove everything"]


def test_removals_are_weighed_against_what_there_was_not_what_there_is() -> None:
    # 100 members before; 15 leave and 50 join: 15 of 100 is 15 %, over the 10 % limit.
    before = _state(_team(1, range(100)))
    after = _state(_team(1, range(15, 150)))
    found = _refusals(before, after, Safety(max_removed=100, max_removed_percent=10))
    assert found == ["15 member removals of 100 (15%) exceed the limit of 100 or 10%"]


def test_removals_within_the_share_pass_when_additions_come_too() -> None:
    before = _state(_team(1, range(100)))
    after = _state(_team(1, range(10, 150)))
    assert _refusals(before, after, Safety(max_removed=100, max_removed_percent=10)) == []


@pytest.mark.parametrize(
    ("removed", "refused"), [(10, False), (11, True)], ids=["at the count", "one over"]
)
def test_the_count_limit_is_exceeded_only_past_it(removed: int, refused: bool) -> None:
    before = _state(_team(1, range(1000)))
    after = _state(_team(1, range(removed, 1000)))
    found = _refusals(before, after, Safety(max_removed=10, max_removed_percent=100))
    assert found == (
        [f"{removed} member removals of 1000 (1%) exceed the limit of 10 or 100%"]
        if refused
        else []
    )


@pytest.mark.parametrize(
    ("removed", "refused"), [(10, False), (11, True)], ids=["at the share", "one over"]
)
def test_the_share_limit_is_exceeded_only_past_it(removed: int, refused: bool) -> None:
    before = _state(_team(1, range(100)))
    after = _state(_team(1, range(removed, 100)))
    found = _refusals(before, after, Safety(max_removed=1000, max_removed_percent=10))
    assert found == (
        [f"{removed} member removals of 100 ({removed}%) exceed the limit of 1000 or 10%"]
        if refused
        else []
    )


@pytest.mark.parametrize(
    ("existing", "refused"), [(19, False), (20, True)], ids=["below the floor", "at the floor"]
)
def test_the_share_applies_only_from_the_floor_up(existing: int, refused: bool) -> None:
    before = _state(*(_team(n) for n in range(existing)))
    after = _state(*(_team(n) for n in range(5, existing)))
    found = _refusals(
        before, after, Safety(max_removed=10, max_removed_percent=10, min_existing=20)
    )
    share = f"{100 * 5 / existing:.0f}"
    assert found == (
        [f"5 team removals of {existing} ({share}%) exceed the limit of 10 or 10%"]
        if refused
        else []
    )


def test_each_kind_is_counted_on_its_own() -> None:
    before = _state(
        *(_org(n) for n in range(3)),
        *(_team(n, range(2)) for n in range(3)),
        users=tuple(_user(f"u{n}", f"u{n}@x.test") for n in range(3)),
    )
    after = _state(_org(0), _team(0, range(2)), users=(_user("u0", "u0@x.test"),))
    found = _refusals(before, after, Safety(max_removed=1, max_removed_percent=100))
    assert found == [
        "2 organization removals of 3 (67%) exceed the limit of 1 or 100%",
        "2 team removals of 3 (67%) exceed the limit of 1 or 100%",
        "2 user removals of 3 (67%) exceed the limit of 1 or 100%",
    ]


def test_organization_members_count_as_members() -> None:
    before = _state(_org(1, range(30)))
    after = _state(_org(1, range(3, 30)))
    found = _refusals(before, after, Safety(max_removed=2, max_removed_percent=100))
    assert found == ["3 member removals of 30 (10%) exceed the limit of 2 or 100%"]


def test_additions_alone_are_never_refused() -> None:
    assert _refusals(_state(_team(1, range(2))), _state(_team(1, range(500)))) == []


@pytest.mark.parametrize("kind", ["team", "organization"])
def test_a_group_emptied_at_once_is_refused_whatever_the_limits(kind: str) -> None:
    make = _team if kind == "team" else _org
    before, after = _state(make(1, range(2))), _state(make(1, range(0)))
    found = _refusals(before, after, Safety(max_removed=100, max_removed_percent=100))
    alias, oid = ("Team 1", "t1") if kind == "team" else ("Org 1", "o1")
    assert found == [f"{kind} {alias!r} ({oid}) had 2 members and now has none"]


def test_an_emptied_group_of_one_member_is_said_in_the_singular() -> None:
    found = _refusals(_state(_team(1, range(1))), _state(_team(1)), SAFE)
    assert found == ["team 'Team 1' (t1) had 1 member and now has none"]


def test_a_group_that_was_empty_or_new_and_is_empty_is_no_anomaly() -> None:
    assert _refusals(_state(_team(1)), _state(_team(1), _team(2))) == []


def test_plan_make_carries_the_diff_and_the_guard() -> None:
    before = _state(_team(1, range(30)))
    after = _state(_team(1, range(0)))
    made = plan.make(before, after, SAFE, Users())
    assert made.changes == plan.diff(before, after, FATES)
    assert [r.reason for r in made.refusals] == [
        "30 member removals of 30 (100%) exceed the limit of 10 or 10%",
        "team 'Team 1' (t1) had 30 members and now has none",
    ]
    assert {r.override for r in made.refusals} == {"--allow-removals"}
