"""The Graph source against a fake Graph over real HTTP, with the real msgraph-sdk client."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from generator.directory import GROUP, USER, Directory, Group, Member, User
from generator.errors import PolicyError, SourceError
from generator.sources import GroupSelector, Needs, snapshot
from generator.sources.graph import GraphSettings, GraphSource, Progress
from generator.sources.graph.failures import GraphFailure, describe
from generator.sources.graph.throttle import Pacer, WaitExhausted
from tests.fakegraph import FakeGraph, Tenant, serve, synthetic_tenant

TOKEN = "fake-token-for-tests"
SP = "5e1f0000-0000-4000-8000-00000000511e"


def _user(name: str, **fields: Any) -> User:
    values: dict[str, Any] = {
        "display_name": name.title(),
        "user_principal_name": f"{name}@contoso.test",
        "mail": f"{name}@contoso.test",
        "account_enabled": True,
        "user_type": "Member",
    }
    return User(id=f"u-{name}", **(values | fields))


ALICE = _user("alice")
BOB = _user(
    "bob",
    user_principal_name="bob_fabrikam.test#EXT#@contoso.test",
    mail="bob@fabrikam.test",
    user_type="Guest",
)
CAROL = _user("carol", account_enabled=False)
DAVE = User(id="u-dave")  # only id visible: Graph nulls the rest without User.Read.All
MANY = [_user(f"m{i:04d}") for i in range(2500)]


def _group(name: str, *members: Member, **fields: Any) -> Group:
    return Group(id=f"g-{name}", display_name=name, members=tuple(sorted(members)), **fields)


def u(user: User) -> Member:
    return Member(USER, user.id)


def g(name: str) -> Member:
    return Member(GROUP, f"g-{name}")


ENG = _group(
    "eng",
    u(ALICE),
    u(BOB),
    u(CAROL),
    u(DAVE),
    g("eng-platform"),
    Member("servicePrincipal", "sp-bot"),
    Member("device", "dev-1"),
    Member("orgContact", "c-1"),
    security_enabled=True,
    description="Engineering",
    owners=tuple(sorted((u(ALICE), Member("servicePrincipal", "sp-bot")))),
)
PLATFORM = _group("eng-platform", u(CAROL), g("eng"), g("eng-deep"), security_enabled=True)
DEEP = _group("eng-deep", u(ALICE), security_enabled=True)
BIG = _group("big", *(u(m) for m in MANY), security_enabled=True)
SALES = _group("sales", u(BOB), security_enabled=False, mail="sales@contoso.test")
OBRIEN = _group("O'Brien's team", u(ALICE), security_enabled=True)


def tenant() -> Tenant:
    """Every member type, a guest, a disabled user, nesting with a cycle, 2,500 members."""
    directory = Directory.of(
        [ENG, PLATFORM, DEEP, BIG, SALES, OBRIEN], [ALICE, BOB, CAROL, DAVE, *MANY]
    )
    rows = [
        {"principalType": "Group", "principalId": ENG.id, "principalDisplayName": "eng"},
        {"principalType": "Group", "principalId": BIG.id, "principalDisplayName": "big"},
        {"principalType": "User", "principalId": ALICE.id, "principalDisplayName": "Alice"},
    ]
    others = {"sp-bot": "Deploy bot", "dev-1": "Laptop", "c-1": "Partner contact"}
    return Tenant(directory, others=others, assignments={SP: rows}, token=TOKEN)


class FakeClock:
    """Simulated time: sleeping moves the clock, concurrent sleepers overlap as in real time."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        until = self.t + seconds
        await asyncio.sleep(0)  # sleepers that start together wake together
        self.t = max(self.t, until)


class FailingCredential:
    """An obviously fake credential whose token request is refused."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        raise ClientAuthenticationError(
            "AADSTS7000215: Invalid client secret provided for fake-secret-value."
        )

    async def close(self) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[FakeGraph]:
    """A fake Graph serving the hand-written tenant."""
    yield from serve(tenant())


def read(
    fake: FakeGraph,
    needs: Needs,
    stream: io.StringIO | None = None,
    clock: FakeClock | None = None,
    **settings: Any,
) -> Directory:
    """Read through GraphSource with a token and a fake clock."""
    options: dict[str, Any] = {"base_url": fake.base_url, "token": TOKEN} | settings
    progress = Progress(stream or io.StringIO(), verbosity=2, live=False)
    source = GraphSource(GraphSettings(**options), progress, clock=clock or FakeClock())
    return source.read(needs)


def names(*names: str) -> Needs:
    return Needs(selectors=(GroupSelector(names=names),))


ALL = Needs(selectors=(GroupSelector(regex=".*"),))
DIRECT_ENG = Needs(selectors=(GroupSelector(names=("eng",)),), transitive=False)


@pytest.mark.integration
def test_members_of_every_type_guests_and_disabled_users_are_read(fake: FakeGraph) -> None:
    directory = read(
        fake,
        names("eng"),
    )
    assert directory.groups[ENG.id].members == ENG.members
    assert directory.groups[ENG.id].description == "Engineering"
    assert {m.kind for m in directory.groups[ENG.id].members} == {
        "user",
        "group",
        "servicePrincipal",
        "device",
        "orgContact",
    }
    assert directory.users[BOB.id] == BOB and directory.users[BOB.id].is_guest
    assert directory.users[CAROL.id].account_enabled is False
    assert directory.users[ALICE.id] == ALICE
    assert directory.app_assigned is None


@pytest.mark.integration
def test_nested_groups_are_resolved_locally_and_a_cycle_is_read_once(fake: FakeGraph) -> None:
    directory = read(fake, names("eng"))
    assert set(directory.groups) == {ENG.id, PLATFORM.id, DEEP.id}
    assert directory.user_members(ENG.id).users == {ALICE.id, BOB.id, CAROL.id, DAVE.id}
    for group in (ENG, PLATFORM, DEEP):
        assert fake.count(f"/groups/{group.id}/members") == 1
    assert fake.count("/transitiveMembers") == 0


@pytest.mark.integration
def test_direct_mode_keeps_a_nested_groups_row_but_does_not_read_its_members(
    fake: FakeGraph,
) -> None:
    directory = read(fake, DIRECT_ENG)
    assert set(directory.groups) == {ENG.id, PLATFORM.id}  # every reference resolves
    assert directory.groups[PLATFORM.id].display_name == "eng-platform"
    assert directory.groups[PLATFORM.id].members_read is False
    assert directory.groups[ENG.id].members_read is True
    assert fake.count(f"/groups/{PLATFORM.id}/members") == 0
    assert fake.count(f"/groups/{DEEP.id}/members") == 0


@pytest.mark.integration
def test_a_direct_mode_snapshot_says_which_members_were_not_read(fake: FakeGraph) -> None:
    text = snapshot.dumps(read(fake, DIRECT_ENG))
    rows = {g["id"]: g for g in json.loads(text)["groups"]}
    assert rows[PLATFORM.id]["members"] is None  # not [], which would claim an empty group
    assert snapshot.dumps(snapshot.loads(text)) == text


@pytest.mark.integration
def test_members_that_were_not_read_are_refused_not_resolved_as_none(fake: FakeGraph) -> None:
    directory = read(fake, DIRECT_ENG)
    assert directory.user_members(ENG.id, "direct").users == {ALICE.id, BOB.id, CAROL.id, DAVE.id}
    with pytest.raises(PolicyError, match=r"members of group 'eng-platform' .* were not read"):
        directory.user_members(ENG.id, "transitive")


@pytest.mark.integration
def test_a_group_with_2500_members_is_read_whole_in_three_pages(fake: FakeGraph) -> None:
    directory = read(fake, names("big"))
    assert directory.groups[BIG.id].members == BIG.members
    assert len(directory.users) == 2500
    assert fake.count(f"/groups/{BIG.id}/members") == 3
    assert all("$top=999" in r for r in fake.requests)


@pytest.mark.integration
def test_multi_page_groups_and_members_are_followed_to_the_end(fake: FakeGraph) -> None:
    directory = read(fake, Needs(selectors=(GroupSelector(prefix="eng"),)), page_size=2)
    assert set(directory.groups) == {ENG.id, PLATFORM.id, DEEP.id}
    assert directory.groups[ENG.id].members == ENG.members
    assert directory.groups[PLATFORM.id].members == PLATFORM.members
    assert fake.count("/groups?") == 2  # three groups, two per page
    assert fake.count(f"/groups/{ENG.id}/members") == 4  # eight members
    assert all(r.startswith("/groups") for r in fake.requests)


@pytest.mark.integration
def test_graph_and_snapshot_give_the_same_directory() -> None:
    synthetic = synthetic_tenant(40, 300, 12, 2)
    for fake in serve(synthetic):
        directory = read(fake, ALL, page_size=7)
        assert snapshot.dumps(directory) == snapshot.dumps(synthetic.directory)
        assert snapshot.loads(snapshot.dumps(directory)) == directory


@pytest.mark.integration
def test_owners_are_read_only_when_asked_and_only_for_selected_groups(fake: FakeGraph) -> None:
    directory = read(fake, names("eng"))
    assert directory.groups[ENG.id].owners is None and fake.count("/owners") == 0
    fake.reset_counts()
    directory = read(fake, Needs(selectors=(GroupSelector(names=("eng",)),), owners=True))
    assert directory.groups[ENG.id].owners == ENG.owners
    assert directory.groups[PLATFORM.id].owners is None
    assert fake.count("/owners") == 1


@pytest.mark.integration
def test_app_role_assignments_restrict_the_candidates_and_are_recorded(fake: FakeGraph) -> None:
    needs = Needs(selectors=(GroupSelector(regex="."),), service_principal_id=SP, transitive=False)
    directory = read(fake, needs)
    assert set(directory.groups) == {ENG.id, BIG.id, PLATFORM.id}  # the last nested in eng
    assert directory.app_assigned == frozenset({ENG.id, BIG.id})
    assert fake.count(f"/servicePrincipals/{SP}/appRoleAssignedTo") == 1


@pytest.mark.integration
def test_assigned_groups_are_filtered_by_the_selectors_too(fake: FakeGraph) -> None:
    needs = Needs(selectors=(GroupSelector(prefix="E"),), service_principal_id=SP, transitive=False)
    groups = read(fake, needs).groups.values()
    assert {g.id for g in groups if g.members_read} == {ENG.id}  # eng-platform: a nested row


@pytest.mark.integration
def test_only_assignments_of_groups_that_were_read_are_kept(fake: FakeGraph) -> None:
    needs = Needs(selectors=(GroupSelector(prefix="E"),), service_principal_id=SP)
    directory = read(fake, needs)
    assert BIG.id not in directory.groups
    assert directory.app_assigned == frozenset({ENG.id})  # big is assigned but not selected
    assert snapshot.loads(snapshot.dumps(directory)) == directory


@pytest.mark.integration
def test_selectors_become_graph_filters_anded_with_the_group_filter(fake: FakeGraph) -> None:
    needs = Needs(
        selectors=(
            GroupSelector(names=("O'Brien's team", "sales")),
            GroupSelector(prefix="eng-d"),
            GroupSelector(ids=(BIG.id,)),
        ),
        transitive=False,
        group_filter="securityEnabled eq true",
    )
    directory = read(fake, needs)
    assert set(directory.groups) == {OBRIEN.id, DEEP.id, BIG.id}  # sales is not security-enabled
    assert fake.count("displayName in ('O''Brien''s team','sales') and (securityEnabled eq true)")
    assert fake.count("startswith(displayName,'eng-d')") == 1


@pytest.mark.integration
def test_an_advanced_group_filter_is_sent_with_consistency_level(fake: FakeGraph) -> None:
    needs = Needs(
        selectors=(GroupSelector(prefix="s"),), group_filter="not(securityEnabled eq true)"
    )
    assert set(read(fake, needs).groups) == {SALES.id}
    assert fake.count("$count=true") == 1


@pytest.mark.integration
def test_no_selectors_read_no_groups(fake: FakeGraph) -> None:
    assert read(fake, Needs(selectors=())).groups == {}
    assert fake.requests == []


@pytest.mark.integration
def test_members_with_limited_information_are_kept_and_reported(fake: FakeGraph) -> None:
    stream = io.StringIO()
    directory = read(fake, names("eng"), stream)
    assert directory.users[DAVE.id] == DAVE
    assert "warning: 1 users came back with limited information" in stream.getvalue()
    assert "User.Read.All" in stream.getvalue()


@pytest.mark.integration
def test_throttled_requests_wait_for_retry_after_then_succeed(fake: FakeGraph) -> None:
    fake.fault(f"/groups/{DEEP.id}/members", 429, retry_after="1", times=2)
    clock, stream = FakeClock(), io.StringIO()
    directory = read(fake, names("eng"), stream, clock, batch_size=1)
    assert directory.groups[DEEP.id].members == DEEP.members
    assert fake.count(f"/groups/{DEEP.id}/members") == 3
    assert clock.t == pytest.approx(2.0, abs=0.01)  # two pauses; pacing adds milliseconds
    assert stream.getvalue().count("graph: pausing 1 s (429 TooManyRequests)") == 2


@pytest.mark.integration
def test_throttled_requests_inside_a_batch_are_retried_after_one_shared_pause(
    fake: FakeGraph,
) -> None:
    for group in (SALES, OBRIEN, DEEP):
        fake.fault(f"/groups/{group.id}/members", 429, retry_after="1", times=1)
    clock = FakeClock()
    selector = GroupSelector(names=("sales", "O'Brien's team", "eng-deep", "eng"))
    directory = read(fake, Needs(selectors=(selector,), transitive=False), clock=clock)
    assert directory.groups[SALES.id].members == SALES.members
    assert fake.count(f"/groups/{SALES.id}/members") == 2
    assert fake.http_requests == 3  # the group list, one $batch of four, its retry of three
    assert clock.t == pytest.approx(1.0, abs=0.01)


@pytest.mark.integration
def test_transient_503s_are_retried(fake: FakeGraph) -> None:
    fake.fault(f"/groups/{ENG.id}/members", 503, retry_after="0", times=2)
    directory = read(fake, names("eng"))
    assert directory.groups[ENG.id].members == ENG.members


def test_concurrent_throttling_pauses_all_work_once() -> None:
    clock = FakeClock()
    pacer = Pacer(8000, 10, max_total_wait=10, clock=clock)

    async def throttled() -> None:
        pacer.pause(1.0, explained=True)
        await pacer.reserve(1)

    async def main() -> None:
        await asyncio.gather(*(throttled() for _ in range(5)))

    asyncio.run(main())
    assert clock.t == pytest.approx(1.0, abs=0.01)  # one shared pause, not one per request
    assert pacer.waited == pytest.approx(1.0, abs=0.01)
    pacer.pause(2.0, explained=True)  # a later window extends the pause by what it adds
    assert pacer.waited == pytest.approx(3.0, abs=0.01)
    with pytest.raises(WaitExhausted):
        pacer.pause(20.0, explained=True)


@pytest.mark.integration
def test_throttling_beyond_the_wait_budget_fails_saying_what_was_read(fake: FakeGraph) -> None:
    fake.fault(f"/groups/{ENG.id}/members", 429, retry_after="400", times=None)
    with pytest.raises(SourceError) as error:
        read(fake, names("eng"), max_total_wait=300)
    message = str(error.value)
    assert "the members of group 'eng' (g-eng)" in message
    assert "Graph kept throttling (429 TooManyRequests)" in message
    assert "wait budget of 300 s (waited 0 s so far)" in message
    assert "read 1 groups and 0 of 1 member lists" in message
    assert "--graph-max-wait" in message


@pytest.mark.integration
def test_unavailability_is_retried_past_any_attempt_count_until_the_wait_budget(
    fake: FakeGraph,
) -> None:
    fake.fault(f"/groups/{ENG.id}/members", 503, retry_after="1", times=None)
    with pytest.raises(SourceError, match=r"503 ServiceUnavailable.*wait budget of 30 s"):
        read(fake, names("eng"), max_total_wait=30)
    assert fake.count(f"/groups/{ENG.id}/members") > 6  # no attempt count gives up first


@pytest.mark.integration
@pytest.mark.parametrize("batch_size", [1, 20])
def test_a_permanent_403_fails_naming_the_group_code_and_permission(
    fake: FakeGraph, batch_size: int
) -> None:
    fake.fault(f"/groups/{BIG.id}/members", 403, times=None)
    with pytest.raises(SourceError) as error:
        read(fake, ALL, batch_size=batch_size)
    message = str(error.value)
    assert message.startswith("cannot read the members of group 'big' (g-big): ")
    assert "Graph returned 403 Authorization_RequestDenied" in message
    assert "GroupMember.Read.All and User.Read.All" in message
    assert fake.count(f"/groups/{BIG.id}/members") == 1  # not retried


@pytest.mark.integration
def test_a_403_on_app_role_assignments_names_application_read_all(fake: FakeGraph) -> None:
    fake.fault("/appRoleAssignedTo", 403, times=None)
    needs = Needs(selectors=(GroupSelector(regex="."),), service_principal_id=SP)
    with pytest.raises(SourceError, match=r"403 Authorization_RequestDenied.*Application.Read.All"):
        read(fake, needs)


@pytest.mark.integration
def test_an_unknown_service_principal_says_which_id_to_use(fake: FakeGraph) -> None:
    needs = Needs(selectors=(GroupSelector(regex="."),), service_principal_id="not-an-sp")
    with pytest.raises(SourceError, match=r"404 Request_ResourceNotFound.*object id"):
        read(fake, needs)


@pytest.mark.integration
def test_a_group_deleted_mid_run_fails_the_run(fake: FakeGraph) -> None:
    fake.fault(f"/groups/{DEEP.id}/members", 404, times=None)
    with pytest.raises(
        SourceError, match=r"'eng-deep' \(g-eng-deep\).*404 Request_ResourceNotFound"
    ):
        read(fake, names("eng"))


@pytest.mark.integration
def test_a_rejected_group_filter_names_the_filter(fake: FakeGraph) -> None:
    needs = Needs(selectors=(GroupSelector(prefix="e"),), group_filter="bogusField eq 1")
    with pytest.raises(SourceError, match=r"group list.*400 Request_BadRequest.*group filter"):
        read(fake, needs)


@pytest.mark.integration
@pytest.mark.parametrize("batch_size", [1, 20])
def test_a_page_that_is_not_json_fails(fake: FakeGraph, batch_size: int) -> None:
    fake.fault(f"/groups/{SALES.id}/members", kind="notjson", times=None)
    with pytest.raises(SourceError, match=r"'sales'.*not Graph JSON"):
        read(fake, ALL, batch_size=batch_size)


@pytest.mark.integration
def test_a_page_without_a_value_list_fails(fake: FakeGraph) -> None:
    fake.fault("/groups?", kind="malformed", times=None)
    with pytest.raises(SourceError, match=r"the group list.*without a `value` list"):
        read(fake, ALL)


@pytest.mark.integration
def test_a_single_connection_reset_is_retried(fake: FakeGraph) -> None:
    fake.fault(f"/groups/{ENG.id}/members", kind="reset", times=1)
    directory = read(fake, names("eng"), batch_size=1)
    assert directory.groups[ENG.id].members == ENG.members


@pytest.mark.integration
def test_connection_resets_that_persist_fail_the_run(fake: FakeGraph) -> None:
    fake.fault(f"/groups/{ENG.id}/members", kind="reset", times=None)
    with pytest.raises(SourceError, match=r"'eng'.*the connection to Graph failed.*network"):
        read(fake, names("eng"), batch_size=1)


@pytest.mark.integration
def test_a_token_that_cannot_be_acquired_fails_before_any_request(fake: FakeGraph) -> None:
    settings = GraphSettings(base_url=fake.base_url, client_secret="fake-secret-value")
    source = GraphSource(settings, credential=FailingCredential())  # type: ignore[arg-type]
    with pytest.raises(SourceError) as error:
        source.read(names("eng"))
    message = str(error.value)
    assert "no access token could be acquired" in message and "AADSTS7000215" in message
    assert "fake-secret-value" not in message
    assert fake.http_requests == 0


@pytest.mark.integration
def test_an_unreadable_certificate_fails_as_a_credential_error(fake: FakeGraph) -> None:
    settings = GraphSettings(
        base_url=fake.base_url,
        tenant_id="00000000-0000-0000-0000-000000000000",
        client_id="11111111-1111-1111-1111-111111111111",
        certificate_path="/nonexistent/fake-cert.pem",
    )
    with pytest.raises(SourceError, match=r"no access token could be acquired"):
        GraphSource(settings).read(names("eng"))
    assert fake.http_requests == 0


@pytest.mark.integration
def test_a_rejected_token_fails_with_graphs_code(fake: FakeGraph) -> None:
    with pytest.raises(SourceError, match=r"401 InvalidAuthenticationToken.*token was rejected"):
        read(fake, names("eng"), token="expired-fake-token")


@pytest.mark.integration
def test_tokens_and_secrets_never_appear_in_logs_or_errors(fake: FakeGraph) -> None:
    fake.fault(f"/groups/{ENG.id}/members", 403, times=None)
    stream = io.StringIO()
    with pytest.raises(SourceError) as error:
        read(fake, names("eng"), stream, client_secret="fake-secret-value")
    assert fake.auth_headers == {f"Bearer {TOKEN}"}  # the loopback host got the header
    for text in (str(error.value), stream.getvalue(), repr(GraphSettings(token=TOKEN))):
        assert TOKEN not in text and "fake-secret-value" not in text


@pytest.mark.parametrize("at", [0, 270, 290, 400])
def test_a_secret_graph_echoes_is_hidden_even_where_the_message_is_cut(at: int) -> None:
    secret = "fake-secret-value"
    echoed = "x" * at + f" client secret {secret} and Bearer {TOKEN}"
    failure = GraphFailure("http", "group eng", "members", 400, "BadRequest", echoed)
    text = describe(failure, [secret])
    assert "Graph returned 400 BadRequest" in text
    leaked = [s[:n] for s in (secret, TOKEN) for n in range(6, len(s) + 1) if s[:n] in text]
    assert leaked == [], text


@pytest.mark.integration
def test_a_base_url_with_a_trailing_slash_works(fake: FakeGraph) -> None:
    directory = read(fake, names("sales"), base_url=fake.base_url + "/")
    assert set(directory.groups) == {SALES.id}


def test_importing_the_graph_source_does_not_import_msgraph() -> None:
    code = (
        "import sys, generator.sources.graph, generator.sources.graph.progress; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('msgraph', 'kiota_abstractions',"
        " 'azure', 'httpx')]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.integration
def test_a_group_id_with_reserved_characters_reaches_graph_intact() -> None:
    odd = Group("g/1 #ü?&'", "odd", members=(u(ALICE),), owners=(u(ALICE),))
    for fake in serve(Tenant(Directory.of([odd], [ALICE]), token=TOKEN)):
        needs = Needs(selectors=(GroupSelector(names=("odd",)),), owners=True)
        directory = read(fake, needs, batch_size=1)
        assert directory.groups[odd.id].members == odd.members
        assert directory.groups[odd.id].owners == odd.owners
