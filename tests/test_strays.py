"""Stray users and keys in `entraform drift`: LiteLLM users and keys the policy grants nothing."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator import mapping, run
from generator.cli import cli
from generator.directory import Directory, User
from generator.errors import EXIT_DRIFT, EXIT_SECURITY
from generator.live.client import Client, StatusError
from generator.live.holdings import LiveKey, LiveState, LiveUser
from generator.live.people import People
from generator.live.reading import read_live
from generator.live.stray_keys import find_keys
from generator.live.strays import Grants, find_users
from generator.policy import Identity
from generator.policy.load import load_policy
from generator.sources import snapshot
from generator.sources.snapshot import SnapshotSource
from generator.state import DesiredState, LiteLLMUser, Membership, Team
from generator.workspace import writes
from tests.conftest import EXAMPLES, ROOT
from tests.example_ids import ADELE, GONE, MIRIAM, NESTOR, SANDBOX, STRANGER, UNSELECTED
from tests.fakelitellm import API_KEY, UI_SESSION_TEAM, VIEWER_KEY, FakeLiteLLM

TEAMS_ONLY = EXAMPLES / "entraform.yaml"
USERS = ROOT / "tests" / "golden" / "users" / "entraform.yaml"
TENANT = EXAMPLES / "tenant.json"
ALL_COMPANY = "0ee439fc-f48e-5a5b-9dea-c90d27a22fd4"  # a group no policy here selects
QUINN = "9a9a9a9a-0000-4000-8000-000000000009"  # a person only in All Company
OPS = "ops-admin"  # a proxy admin made by hand, of no identity provider
LAST_USED = "2026-03-02T09:15:00Z"
GRADY = "28cbaf41-0b5c-5400-b9d1-73b5a448f979"  # a member of LLM-Sandbox


def _after(folder: Path, *, nestor_leaves: bool = True) -> Path:
    """The example tenant once Nestor left his groups and Quinn joined, only All Company."""
    data = json.loads(TENANT.read_text(encoding="utf-8"))
    data["users"].append(
        {
            "id": QUINN,
            "userPrincipalName": "QuinnR@contoso.com",
            "mail": "QuinnR@contoso.com",
            "accountEnabled": True,
            "userType": "Member",
        }
    )
    for group in data["groups"]:
        if group["id"] == ALL_COMPANY:
            group["members"].append({"@odata.type": "#microsoft.graph.user", "id": QUINN})
        elif nestor_leaves:
            group["members"] = [m for m in group.get("members", []) if m["id"] != NESTOR]
            if group.get("owners"):
                group["owners"] = [m for m in group["owners"] if m["id"] != NESTOR]
    path = folder / "tenant.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _state(policy: Path, tenant: Path = TENANT) -> DesiredState:
    loaded = load_policy(policy)
    return mapping.apply(loaded, SnapshotSource(tenant).read(loaded.needs())).state


def _user_with_key(
    fake: FakeLiteLLM, user_id: str, email: str | None, role: str = "internal_user"
) -> str:
    """A user and a personal key made through the API, as an admin would; the key's secret."""
    body = {"user_id": user_id, "user_email": email, "user_role": role, "auto_create_key": False}
    assert fake.post("/user/new", body)[0] == 200
    status, key = fake.post("/key/generate", {"user_id": user_id, "key_alias": f"{user_id}-key"})
    assert status == 200
    return str(key["key"])


def _strays(fake: FakeLiteLLM) -> list[str]:
    """The five people of the issue, as found on a real LiteLLM: users with a key, no team."""
    # Entraform deleted Nestor's user when he left his groups; signing in made it again.
    assert fake.post("/user/delete", {"user_ids": [NESTOR]})[0] == 200
    fake.sign_in(NESTOR, "NestorW@contoso.com", [ALL_COMPANY])
    _, comeback = fake.post("/key/generate", {"user_id": NESTOR, "key_alias": "nestor-again"})
    fake.keys[comeback["token"]]["last_active"] = LAST_USED
    return [
        str(comeback["key"]),
        _user_with_key(fake, QUINN, "QuinnR@contoso.com"),  # only in unselected groups
        _user_with_key(fake, MIRIAM, "MiriamG@contoso.com"),  # disabled, in a selected group
        _user_with_key(fake, GONE, "gone.person@contoso.com"),  # not in the tenant: a leaver
        _user_with_key(fake, OPS, "ops@example.org", "proxy_admin"),  # not named by the policy
    ]


@pytest.fixture
def before() -> Iterator[FakeLiteLLM]:
    """LiteLLM holding what the users policy rendered before Nestor left, serving."""
    server = FakeLiteLLM()
    server.mirror(_state(USERS))
    with server.serving():
        yield server


def _drift(
    fake: FakeLiteLLM, policy: Path, tenant: Path, *extra: str, key: str = API_KEY
) -> Result:
    args = ["drift", "-c", str(policy), "--snapshot", str(tenant), "--litellm-url", fake.url]
    env = {"LITELLM_API_KEY": key, "LITELLM_API_BASE": None}
    return CliRunner().invoke(cli, [*args, *extra], env=env, catch_exceptions=False)


def _by_subject(entries: list[dict[str, object]]) -> dict[object, tuple[object, object]]:
    return {e["subject"]: (e["reason"], e["keys"]) for e in entries if e["kind"] == "user"}


EXPECTED = {
    NESTOR: ("made at sign-in", 1),
    QUINN: ("not selected", 1),
    MIRIAM: ("disabled", 1),
    GONE: ("left the tenant", 1),
    OPS: ("created outside entraform", 1),
}


@pytest.mark.integration
def test_with_users_manage_every_stray_user_is_a_security_finding_with_reason_and_keys(
    before: FakeLiteLLM, tmp_path: Path
) -> None:
    secrets = _strays(before)
    result = _drift(before, USERS, _after(tmp_path), "--json")
    assert result.exit_code == EXIT_SECURITY, result.output
    data = json.loads(result.stdout)
    assert _by_subject(data["security"]) == EXPECTED
    assert data["unmanaged_users"] == []
    assert data["differences"] == []
    [admin] = [e for e in data["security"] if e["subject"] == OPS]
    assert admin["role"] == "proxy_admin"
    assert "no apply demotes or deletes them" in admin["message"]
    assert "5 user(s) in LiteLLM whom the policy grants nothing" in result.stderr
    assert "require assignment on LiteLLM's enterprise application" in result.stderr
    for secret in secrets:
        assert secret not in result.output
        assert hashlib.sha256(secret.encode()).hexdigest() not in result.output


@pytest.mark.integration
def test_with_users_manage_the_text_names_each_stray_user_with_keys_and_reason(
    before: FakeLiteLLM, tmp_path: Path
) -> None:
    _strays(before)
    result = _drift(before, USERS, _after(tmp_path))
    assert result.exit_code == EXIT_SECURITY
    lines = result.stdout.splitlines()
    heading = (
        "Security: 5 user(s) in LiteLLM whom the policy grants nothing; their keys keep working:"
    )
    assert lines[0] == heading
    assert (
        f"  user gone.person@contoso.com ({GONE}), internal_user, 1 key(s): not granted by the "
        "policy: left the tenant (no user of the tenant read has this id or email"
    ) in result.stdout
    assert (
        f"  user NestorW@contoso.com ({NESTOR}), internal_user_viewer, 1 key(s): not granted by "
        "the policy: made at sign-in (in the tenant but in no group the policy selects, and "
        "LiteLLM's SSO made this user when they signed in: how a person entraform offboarded "
        "comes back"
    ) in result.stdout
    assert f"  user ops@example.org ({OPS}), proxy_admin, 1 key(s)" in result.stdout
    assert "5 security finding(s); no drift; 5 key(s) whose owner" in result.stderr


@pytest.mark.integration
def test_without_users_manage_disabled_and_departed_users_are_findings_the_rest_unmanaged(
    tmp_path: Path,
) -> None:
    server = FakeLiteLLM()
    server.mirror(_state(TEAMS_ONLY))
    server.add_user(NESTOR, "NestorW@contoso.com")  # as his first sign-in left it
    with server.serving():
        _strays(server)
        result = _drift(server, TEAMS_ONLY, _after(tmp_path), "--json")
    assert result.exit_code == EXIT_SECURITY, result.output
    data = json.loads(result.stdout)
    found = _by_subject(data["security"])
    assert found == {k: EXPECTED[k] for k in (MIRIAM, GONE)}
    unmanaged = _by_subject(data["unmanaged_users"])
    assert unmanaged == {k: EXPECTED[k] for k in (NESTOR, QUINN, OPS)}
    assert {e["subject"] for e in data["unmanaged_users"] if e["role"] == "proxy_admin"} == {OPS}


@pytest.mark.integration
def test_unmanaged_users_alone_are_not_drift_but_count_under_strict(tmp_path: Path) -> None:
    server = FakeLiteLLM()
    server.mirror(_state(TEAMS_ONLY))
    with server.serving():
        _user_with_key(server, QUINN, "QuinnR@contoso.com")
        tenant = _after(tmp_path, nestor_leaves=False)
        plain = _drift(server, TEAMS_ONLY, tenant)
        strict = _drift(server, TEAMS_ONLY, tenant, "--strict")
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.splitlines()[0] == (
        "Users not managed by the policy: 1 (reported, not drift without --strict):"
    )
    assert "1 user not managed by the policy" in plain.stderr
    assert strict.exit_code == EXIT_DRIFT
    assert "delete the unmanaged users in LiteLLM" in strict.stderr.splitlines()[-1]


@pytest.mark.integration
def test_the_output_folder_tells_an_offboarding_not_applied_yet(
    before: FakeLiteLLM, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    loaded = load_policy(USERS)
    report = run.generate(loaded, snapshot.loads(TENANT.read_text("utf-8")), run.Options(out))
    writes.write(out, report.file_changes)  # what was applied, Nestor's user with it
    after = _after(tmp_path)
    with_folder = json.loads(_drift(before, USERS, after, "--json", "-o", str(out)).stdout)
    without = json.loads(_drift(before, USERS, after, "--json").stdout)
    assert _by_subject(with_folder["security"]) == {NESTOR: ("offboarding not applied", 0)}
    assert _by_subject(without["security"]) == {NESTOR: ("not selected", 0)}


@pytest.mark.integration
def test_keys_of_owners_the_policy_does_not_grant_are_listed_without_their_secret(
    tmp_path: Path,
) -> None:
    server = FakeLiteLLM()
    server.mirror(_state(TEAMS_ONLY))
    people = [(STRANGER, "user", None), ("default_user_id", "admin", None)]
    server.add_team(UNSELECTED, "Engineering-Interns", members=people)
    with server.serving():
        secrets = [
            server.add_key(None, UNSELECTED, "interns-ci"),  # a team the policy does not render
            server.add_key(STRANGER, SANDBOX, "outsider-in-sandbox"),  # not a Sandbox member
            server.add_key(alias="nobodys", last_active=LAST_USED),  # made for nobody
            server.add_key(GONE, alias="leaver", expires="2027-01-01T00:00:00Z"),
            server.add_key(ADELE, alias="adele-own"),  # granted: a member of rendered teams
            server.add_key(GRADY, SANDBOX, "grady-sandbox"),  # granted: a Sandbox member
            server.add_key("default_user_id", alias="admin-own"),  # the ignored proxy admin
            server.add_key(None, SANDBOX, "sandbox-service"),  # the team's own key
        ]
        server.add_user(GONE, "gone.person@contoso.com")
        result = _drift(server, TEAMS_ONLY, TENANT, "--json")
        text = _drift(server, TEAMS_ONLY, TENANT)
    keys = {k["alias"]: (k["owner"], k["reason"]) for k in json.loads(result.stdout)["keys"]}
    assert keys == {
        "interns-ci": ("team", "team not managed by the policy"),
        "outsider-in-sandbox": ("user", "not a member of its team"),
        "nobodys": ("none", "no owner"),
        "leaver": ("user", "left the tenant"),
    }
    [leaver] = [k for k in json.loads(result.stdout)["keys"] if k["alias"] == "leaver"]
    assert leaver["name"].startswith("sk-...")
    assert (leaver["user_id"], leaver["who"]) == (GONE, "gone.person@contoso.com")
    assert "token" not in leaver
    assert (
        f"  key 'nobodys' ({server.keys[_hash(secrets[2])]['key_name']}) without owner: no "
        f"owner; last used {LAST_USED}" in text.stdout
    )
    assert (
        f"key 'interns-ci' ({server.keys[_hash(secrets[0])]['key_name']}) of team "
        f"'Engineering-Interns' ({UNSELECTED}): team not managed by the policy; no use recorded"
    ) in text.stdout
    assert "expires 2027-01-01T00:00:00Z" in text.stdout
    for secret in secrets:
        assert secret not in result.output + text.output
        assert _hash(secret) not in result.output + text.output


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@pytest.mark.integration
def test_a_viewer_key_is_enough_and_gives_the_same_result(
    before: FakeLiteLLM, tmp_path: Path
) -> None:
    _strays(before)
    after = _after(tmp_path)
    admin = _drift(before, USERS, after, "--json")
    before.requests.clear()
    viewer = _drift(before, USERS, after, "--json", key=VIEWER_KEY)
    assert (viewer.exit_code, viewer.stdout) == (admin.exit_code, admin.stdout)
    assert {method for method, _ in before.requests} == {"GET"}
    assert {"/user/list", "/key/list"} <= set(before.paths())


@pytest.mark.integration
def test_the_fake_refuses_every_write_with_a_viewer_key(before: FakeLiteLLM) -> None:
    request = {"user_id": "x", "auto_create_key": False}
    with Client(before.url, VIEWER_KEY) as client:
        assert client.get("/user/list")["total"] == len(before.users)
    body = json.dumps(request).encode()
    headers = {"Authorization": f"Bearer {VIEWER_KEY}", "Content-Type": "application/json"}
    call = urllib.request.Request(before.url + "/user/new", data=body, headers=headers)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(call, timeout=5)
    assert refused.value.code == 403
    assert "x" not in before.users


@pytest.mark.integration
def test_every_key_is_read_across_pages_and_ui_session_keys_are_left_out(
    before: FakeLiteLLM,
) -> None:
    for n in range(250):
        before.add_key(ADELE, alias=f"k{n:03d}")
    before.sign_in(ADELE, "AdeleV@contoso.com")  # a UI session key, never listed nor counted
    with Client(before.url, API_KEY) as client:
        live = read_live(client, (), (), users=True, keys=True)
    assert sorted(k.alias or "" for k in live.keys or ()) == [f"k{n:03d}" for n in range(250)]
    assert before.paths().count("/key/list") == 3
    assert all(k.team_id != UI_SESSION_TEAM for k in live.keys or ())
    assert live.users_by_id[ADELE].key_count == 250


@pytest.mark.integration
def test_the_fake_pages_keys_as_litellm_does(before: FakeLiteLLM) -> None:
    secret = before.add_key(ADELE, alias="one")
    with Client(before.url, API_KEY) as client:
        hashes = client.get("/key/list", {"size": 100})
        assert hashes["keys"] == [_hash(secret)], "without return_full_object: hashes only"
        assert (hashes["total_count"], hashes["current_page"], hashes["total_pages"]) == (1, 1, 1)
        for bad in ({"size": 101}, {"size": 0}, {"page": 0}):
            with pytest.raises(StatusError) as refused:
                client.get("/key/list", bad)
            assert refused.value.status == 422
        with pytest.raises(StatusError) as refused:
            client.get("/key/list", {"sort_by": "user_id"})
        assert refused.value.status == 400


@pytest.mark.integration
def test_the_fake_deletes_a_user_with_all_their_keys_and_places(before: FakeLiteLLM) -> None:
    before.add_key(NESTOR, alias="own")
    assert before.post("/user/delete", {"user_ids": [NESTOR]})[0] == 200
    assert NESTOR not in before.users
    assert all(k["user_id"] != NESTOR for k in before.keys.values())
    assert all(
        m["user_id"] != NESTOR for t in before.teams.values() for m in t["members_with_roles"]
    )
    before.sign_in(NESTOR, "NestorW@contoso.com")
    assert before.users[NESTOR]["sso_user_id"] == NESTOR
    with Client(before.url, API_KEY) as client:
        rows = client.get("/user/list", {"page_size": 100})["users"]
    [row] = [u for u in rows if u["user_id"] == NESTOR]
    assert row["key_count"] == 0, "the UI session key a sign-in makes is not counted"


# The reasons, without a server.

IDENTITY = Identity()


def _directory(*users: User) -> Directory:
    return Directory.of((), users)


def _found(
    live: LiveState, directory: Directory, state: DesiredState, manage: bool
) -> dict[str, str]:
    outcome = mapping.Outcome(state, mapping.Findings())
    people = People(directory, IDENTITY)
    grants = Grants.of(state, manage)
    return {u.user_id: u.reason for u in find_users(live, grants, outcome, people, IDENTITY)}


def test_a_second_litellm_user_for_a_granted_person_is_named_as_such() -> None:
    alice = User("a1", "Alice", "alice@contoso.com", "alice@contoso.com", True, "Member")
    state = DesiredState(users=(LiteLLMUser("a1", "a1", "alice@contoso.com", "internal_user"),))
    live = LiveState(users=(LiveUser("alice@contoso.com", "alice@contoso.com", "internal_user"),))
    assert _found(live, _directory(alice), state, True) == {
        "alice@contoso.com": "granted under another id"
    }


def test_an_unknown_account_is_a_leaver_when_anything_ties_it_to_the_tenant() -> None:
    bob = User("b1", "Bob", "bob@contoso.com", None, True, "Member")
    live = LiveState(
        users=(
            LiveUser("x1", "x1@contoso.com", "internal_user"),  # the tenant's domain
            LiveUser("x2", None, "internal_user", made_at_sign_in=True),  # made at SSO sign-in
            LiveUser("x3", "x3@elsewhere.example", "internal_user"),
            LiveUser("x4", None, "internal_user"),
        )
    )
    assert _found(live, _directory(bob), DesiredState(), False) == {
        "x1": "left the tenant",
        "x2": "left the tenant",
        "x3": "created outside entraform",
        "x4": "created outside entraform",
    }


def test_a_guest_domain_is_not_the_tenants() -> None:
    guest = User("g1", "G", "g_fabrikam.com#EXT#@contoso.com", "g@fabrikam.com", True, "Guest")
    live = LiveState(users=(LiveUser("y1", "someone@fabrikam.com", "internal_user"),))
    assert _found(live, _directory(guest), DesiredState(), False) == {
        "y1": "created outside entraform"
    }


def test_without_users_manage_a_member_of_a_rendered_team_is_granted() -> None:
    member = Membership("m1", "m1", "m@contoso.com", "user")
    state = DesiredState(teams=(Team("t", "T", "T", members=(member,)),))
    live = LiveState(users=(LiveUser("m1", "m@contoso.com", "internal_user", key_count=3),))
    assert _found(live, _directory(), state, False) == {}
    assert _found(live, _directory(), state, True) == {"m1": "created outside entraform"}


def test_a_key_count_comes_from_the_keys_read_when_litellm_gives_none() -> None:
    live = LiveState(
        users=(LiveUser("z1", None, "internal_user"),),
        keys=(LiveKey("z1", None, "a", "sk-...aaaa"), LiveKey("z1", None, "b", "sk-...bbbb")),
    )
    state = DesiredState()
    outcome = mapping.Outcome(state, mapping.Findings())
    people = People(_directory(), IDENTITY)
    grants = Grants.of(state, False)
    [user] = find_users(live, grants, outcome, people, IDENTITY)
    assert user.keys == 2
    keys = find_keys(state, live, grants, (user,), people)
    assert [(k.key.alias, k.reason) for k in keys] == [
        ("a", "created outside entraform"),
        ("b", "created outside entraform"),
    ]
