"""Security findings in `entraform drift`: members a login or a person added against the policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from generator import mapping
from generator.cli import cli
from generator.errors import EXIT_SECURITY
from generator.policy.load import load_policy
from generator.sources.snapshot import SnapshotSource
from tests.conftest import EXAMPLES, ROOT
from tests.example_ids import (
    ADELE,
    ADMINS_RESEARCH_ML,
    ANALYSTS,
    MIRIAM,
    SAM,
    SANDBOX,
    STRANGER,
)
from tests.fakelitellm import API_KEY, FakeLiteLLM

pytestmark = pytest.mark.integration  # starts servers, programs or builds

POLICY = EXAMPLES / "entraform.yaml"
TENANT = EXAMPLES / "tenant.json"
PREFIXED = ROOT / "tests" / "golden" / "prefixed" / "entraform.yaml"


def _without_guests(folder: Path, source: Path = POLICY) -> Path:
    text = source.read_text(encoding="utf-8")
    policy = folder / "entraform.yaml"
    if "include_guests" in text:
        text = text.replace("include_guests: true", "include_guests: false")
    else:
        text = text.replace("version: 1\n", "version: 1\nidentity: {include_guests: false}\n", 1)
    policy.write_text(text, encoding="utf-8")
    return policy


@contextmanager
def _litellm(policy: Path, tenant: Path = TENANT) -> Iterator[FakeLiteLLM]:
    """A fake LiteLLM holding exactly what the policy renders, serving."""
    loaded = load_policy(policy)
    server = FakeLiteLLM()
    server.mirror(mapping.apply(loaded, SnapshotSource(tenant).read(loaded.needs())).state)
    with server.serving():
        yield server


def _drift(fake: FakeLiteLLM, policy: Path, *extra: str, tenant: Path = TENANT) -> Result:
    args = ["drift", "-c", str(policy), "--snapshot", str(tenant), "--litellm-url", fake.url]
    env = {"LITELLM_API_KEY": API_KEY, "LITELLM_API_BASE": None}
    return CliRunner().invoke(cli, [*args, *extra], env=env, catch_exceptions=False)


def _findings(result: Result) -> list[dict[str, str]]:
    found: list[dict[str, str]] = json.loads(result.stdout)["security"]
    return found


def test_a_guest_who_joined_at_login_is_a_security_finding_with_exit_5(tmp_path: Path) -> None:
    policy = _without_guests(tmp_path)
    with _litellm(policy) as fake:
        assert _drift(fake, policy).exit_code == 0
        assert fake.sso_login(SAM, [ANALYSTS, SANDBOX]) == [ANALYSTS, SANDBOX]
        result = _drift(fake, policy)
    assert result.exit_code == EXIT_SECURITY == 5
    lines = result.stdout.splitlines()
    assert lines[0] == "Security: 2 member(s) in LiteLLM whom the policy leaves out:"
    assert lines[1] == (
        f"  team 'Finance Analysts' ({ANALYSTS}): sam.rivera_fabrikam.com#EXT#@contoso."
        f"onmicrosoft.com ({SAM}) is a member in LiteLLM but the policy leaves them out: "
        "guest excluded (a guest account, and identity.include_guests is false)"
    )
    assert lines[2].startswith(f"  team 'LLM-Sandbox' ({SANDBOX}): sam.rivera_fabrikam")
    # The user the login's member_add made is listed apart: policy does not manage users.
    assert lines[3:5] == [
        "",
        "Users not managed by the policy: 1 (reported, not drift without --strict):",
    ]
    assert lines[5].startswith(
        f"  user sam.rivera_fabrikam.com#EXT#@contoso.onmicrosoft.com "
        f"({SAM}), internal_user, 0 key(s): not granted by the policy: "
        "guest excluded"
    )
    assert len(lines) == 6, "the guest is the only difference"
    assert "2 security finding(s); no drift; 1 user not managed by the policy" in result.stderr


def test_the_json_report_lists_security_findings_apart_from_differences(tmp_path: Path) -> None:
    policy = _without_guests(tmp_path)
    with _litellm(policy) as fake:
        fake.sso_login(SAM, [ANALYSTS])
        fake.teams[SANDBOX]["max_budget"] = 999
        result = _drift(fake, policy, "--json")
    assert result.exit_code == EXIT_SECURITY
    [finding] = _findings(result)
    assert {k: finding[k] for k in ("kind", "object_id", "subject", "reason", "who")} == {
        "kind": "team",
        "object_id": ANALYSTS,
        "subject": SAM,
        "reason": "guest excluded",
        # A login stores no email: the name comes from the directory.
        "who": "sam.rivera_fabrikam.com#EXT#@contoso.onmicrosoft.com",
    }
    assert finding["detail"].startswith("a guest account")
    assert finding["message"].startswith(f"team 'Finance Analysts' ({ANALYSTS}): sam.rivera")
    [difference] = json.loads(result.stdout)["differences"]
    assert difference["what"] == "max_budget"


def test_ordinary_drift_beside_a_finding_is_named_in_the_last_line(tmp_path: Path) -> None:
    policy = _without_guests(tmp_path)
    with _litellm(policy) as fake:
        fake.sso_login(SAM, [ANALYSTS])
        fake.teams[SANDBOX]["max_budget"] = 999
        result = _drift(fake, policy)
    assert result.exit_code == EXIT_SECURITY
    last = result.stderr.splitlines()[-1]
    assert last.startswith("entraform: security: 1 member(s)")
    assert "also run terraform plan and apply" in last
    assert "max_budget is 999, desired 20" in result.stdout


def test_each_reason_comes_from_the_directory_the_run_read(tmp_path: Path) -> None:
    tenant = json.loads(TENANT.read_text(encoding="utf-8"))
    # A user in an admin group only: an admin of Research-ML, a member of no selected group.
    tenant["users"].append(
        {"id": "ad000000-0000-4000-8000-000000000001", "userPrincipalName": "ops@contoso.com"}
    )
    for group in tenant["groups"]:
        if group["id"] == ADMINS_RESEARCH_ML:
            group["members"].append(
                {
                    "@odata.type": "#microsoft.graph.user",
                    "id": "ad000000-0000-4000-8000-000000000001",
                }
            )
    changed = tmp_path / "tenant.json"
    changed.write_text(json.dumps(tenant), encoding="utf-8")
    with _litellm(POLICY, changed) as fake:
        fake.sso_login(MIRIAM, [ANALYSTS])  # joined before her account was disabled
        fake.sso_login(STRANGER, [SANDBOX])  # not in any group the policy reads
        fake.sso_login(ADELE, [SANDBOX])  # a known user, not in this group
        fake.sso_login("ad000000-0000-4000-8000-000000000001", [SANDBOX])
        result = _drift(fake, POLICY, "--json", tenant=changed)
    reasons = {(f["object_id"], f["subject"]): f["reason"] for f in _findings(result)}
    assert reasons == {
        # Her LiteLLM user is a finding of its own: disabled, with keys that would still work.
        (MIRIAM, MIRIAM): "disabled",
        (ANALYSTS, MIRIAM): "disabled",
        (SANDBOX, STRANGER): "not selected",
        (SANDBOX, ADELE): "not a member",
        (SANDBOX, "ad000000-0000-4000-8000-000000000001"): "admin-only group member",
    }


def test_a_member_without_a_usable_email_is_named_with_that_reason(tmp_path: Path) -> None:
    tenant = json.loads(TENANT.read_text(encoding="utf-8"))
    for user in tenant["users"]:
        if user["id"] == ADELE:
            user["userPrincipalName"] = user["mail"] = None
    changed = tmp_path / "tenant.json"
    changed.write_text(json.dumps(tenant), encoding="utf-8")
    with _litellm(POLICY) as fake:  # LiteLLM as it was while Adele still had an email
        result = _drift(fake, POLICY, "--json", tenant=changed)
    reasons = {f["reason"] for f in _findings(result) if f["subject"] == ADELE}
    assert reasons == {"no usable email"}


def test_under_the_prefixed_scheme_a_login_joins_no_team_and_drift_stays_clean(
    tmp_path: Path,
) -> None:
    policy = _without_guests(tmp_path, PREFIXED)
    with _litellm(policy) as fake:
        assert f"entraform-{ANALYSTS}" in fake.teams
        assert fake.sso_login(SAM, [ANALYSTS, SANDBOX]) == []
        result = _drift(fake, policy)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
