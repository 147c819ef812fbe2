"""Which Entra attribute the emails LiteLLM holds follow, against the one the policy renders."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.live.holdings import LiveMember, LiveState, LiveTeam, LiveUser
from generator.live.people import People, email_attribute_warning
from generator.policy import Identity
from tests.fakelitellm import API_KEY, FakeLiteLLM
from tests.tenants import directory, group, oid, tenant, user, write

NICKS = ("ann", "bob", "cy", "dee")
# Each person's UPN is not their mail, as in tenants whose mail domain is not the sign-in one.
PEOPLE = [user(n, mail=f"{n}.mail@contoso.example") for n in NICKS]
SAME = user("eve")  # UPN and mail alike: says nothing either way
DIRECTORY = directory(tenant([], [*PEOPLE, SAME]))


def _live(emails: dict[str, str | None], users: dict[str, str] | None = None) -> LiveState:
    members = tuple(LiveMember(oid("user/" + n), "user", e) for n, e in emails.items())
    live_users = tuple(
        LiveUser(oid("user/" + n), e, "internal_user") for n, e in (users or {}).items()
    )
    return LiveState(teams=(LiveTeam("t", "T", members=members),), users=live_users or None)


def _warning(live: LiveState, rendered: str = "userPrincipalName") -> str | None:
    identity = Identity(user_email=rendered)
    return email_attribute_warning(live, People(DIRECTORY, identity), identity)


def test_emails_that_follow_mail_under_a_upn_policy_are_told_with_the_setting_that_matches() -> (
    None
):
    live = _live({"ann": "ann.mail@contoso.example", "bob": "BOB.mail@contoso.example"})
    warning = _warning(live)
    assert warning is not None
    assert "follow Entra's mail for 2 of 2 users" in warning
    assert warning.endswith("set identity.user_email: mail")


def test_the_other_way_round_names_user_principal_name() -> None:
    live = _live({"ann": "ann@contoso.test", "bob": "bob@contoso.test", "cy": None})
    warning = _warning(live, "mail")
    assert warning is not None and warning.endswith("set identity.user_email: userPrincipalName")


@pytest.mark.parametrize(
    "emails",
    [
        {"ann": "ann@contoso.test", "bob": "bob.mail@contoso.example"},  # no majority
        {"ann": "ann@contoso.test", "bob": "bob@contoso.test"},  # the policy's own
        {"eve": "eve@contoso.test", "ann": None},  # nothing to tell by
        {"stranger": "ann.mail@contoso.example"},  # no Entra user behind the id
    ],
)
def test_no_warning_without_a_majority_for_the_other_attribute(
    emails: dict[str, str | None],
) -> None:
    assert _warning(_live(emails)) is None


def test_users_and_members_count_once_per_person() -> None:
    live = _live(
        {"ann": "ann.mail@contoso.example", "bob": "bob@contoso.test"},
        users={"ann": "ann.mail@contoso.example", "cy": "cy.mail@contoso.example"},
    )
    warning = _warning(live)
    assert warning is not None and "for 2 of 3 users" in warning


@pytest.mark.integration
@pytest.mark.parametrize("command", ["adopt", "drift"])
def test_adopt_and_drift_say_which_identity_setting_matches_the_deployment(
    tmp_path: Path, command: str
) -> None:
    snapshot = write(tmp_path / "tenant.json", tenant([group("LLM-Sales", NICKS)], [*PEOPLE, SAME]))
    policy = tmp_path / "entraform.yaml"
    policy.write_text("version: 1\nteams:\n  - {rule: t, select: {prefix: LLM-}}\n", "utf-8")
    fake = FakeLiteLLM()
    stored = [(oid("user/" + n), "user", f"{n}.mail@contoso.example") for n in NICKS]
    fake.add_team(oid("group/LLM-Sales"), "LLM-Sales", members=stored)
    args = [command, "-c", str(policy), "--snapshot", str(snapshot), "-o", str(tmp_path / "o")]
    env = {"LITELLM_API_KEY": API_KEY, "LITELLM_API_BASE": None}
    with fake.serving():
        result = CliRunner().invoke(cli, [*args, "--litellm-url", fake.url], env=env)
    told = " ".join(result.output.split())
    assert "follow Entra's mail for 4 of 4 users" in told, result.output
    assert "set identity.user_email: mail" in told
