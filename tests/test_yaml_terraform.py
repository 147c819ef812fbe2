"""The YAML route read the way Terraform reads it: `yamldecode(file(...))` in `terraform console`.

Terraform NFC-normalises every string it reads, so what comes back is the NFC form of what was
written (in the stream-safe form Go's normaliser gives, see `tests.hostile.nfc`). Strings leave
Terraform as `base64encode` of each value: `jsonencode` returns a string, which Terraform
normalises too, and that breaks a JSON escape followed by a combining mark.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from generator.render import legacy, yamltext
from generator.report.outcome import Report
from generator.state import DesiredState, Membership
from generator.workspace import writes
from generator.workspace.folder import read
from tests.console import evaluate
from tests.hostile import CORPUS, nfc, random_strings
from tests.rendering import build
from tests.tenants import directory, group, tenant, user


def _text(encoded: str) -> str:
    return base64.b64decode(encoded).decode("utf-8")


def _yamldecode(terraform: str, folder: Path, data: dict[str, Any], expression: str) -> Any:
    """Write data with yamltext; evaluate an expression over `local.data` as Terraform reads it."""
    (folder / "data.yaml").write_text(yamltext.dump(data) + "\n", encoding="utf-8")
    (folder / "main.tf").write_text(
        'locals {\n  data = yamldecode(file("${path.module}/data.yaml"))\n}\n', encoding="utf-8"
    )
    return evaluate(terraform, folder, expression)


def _values_come_back(terraform: str, folder: Path, strings: list[str]) -> dict[str, str]:
    data = {"values": {str(i): s for i, s in enumerate(strings)}}
    found = _yamldecode(
        terraform, folder, data, "{ for i, s in local.data.values : i => base64encode(s) }"
    )
    return {i: _text(s) for i, s in found.items()}


def _keys_come_back(terraform: str, folder: Path, strings: list[str]) -> dict[str, str]:
    data = {"keys": {s: str(i) for i, s in enumerate(strings)}}
    found = _yamldecode(
        terraform, folder, data, "{ for k, i in local.data.keys : i => base64encode(k) }"
    )
    return {i: _text(k) for i, k in found.items()}


def _distinct_in_nfc(strings: list[str]) -> list[str]:
    # Two keys that differ only in normalisation are one key to Terraform.
    return list({nfc(s): s for s in strings}.values())


@pytest.mark.integration
def test_every_corpus_string_comes_back_from_yamldecode_as_its_nfc_form(
    terraform: str, tmp_path: Path
) -> None:
    found = _values_come_back(terraform, tmp_path, list(CORPUS))
    assert found == {str(i): nfc(s) for i, s in enumerate(CORPUS)}


@pytest.mark.integration
def test_every_corpus_string_as_a_map_key_comes_back_as_its_nfc_form(
    terraform: str, tmp_path: Path
) -> None:
    keys = _distinct_in_nfc(list(CORPUS))
    found = _keys_come_back(terraform, tmp_path, keys)
    assert found == {str(i): nfc(s) for i, s in enumerate(keys)}


@pytest.mark.integration
def test_a_decomposed_name_comes_back_composed_because_terraform_normalises_to_nfc(
    terraform: str, tmp_path: Path
) -> None:
    found = _values_come_back(terraform, tmp_path, ["Jose\u0301", "\u212bngstro\u0308m"])
    assert found == {"0": "Jos\u00e9", "1": "\u00c5ngstr\u00f6m"}


@pytest.mark.integration
def test_thousands_of_random_hostile_strings_come_back_exactly_in_nfc(
    terraform: str, tmp_path: Path
) -> None:
    strings = random_strings(4000, seed=7)
    found = _values_come_back(terraform, tmp_path, strings)
    assert found == {str(i): nfc(s) for i, s in enumerate(strings)}


@pytest.mark.integration
def test_thousands_of_random_hostile_keys_come_back_exactly_in_nfc(
    terraform: str, tmp_path: Path
) -> None:
    keys = _distinct_in_nfc(random_strings(4000, seed=11))
    found = _keys_come_back(terraform, tmp_path, keys)
    assert found == {str(i): nfc(s) for i, s in enumerate(keys)}


@pytest.mark.integration
def test_every_assigned_character_comes_back_at_the_start_after_an_escape_and_after_a_letter(
    terraform: str, tmp_path: Path
) -> None:
    # Unassigned and private-use characters are escaped like any other unprintable character.
    chars = [
        chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) not in ("Cn", "Co", "Cs")
    ]
    strings = [f"{c}\n{c}e{c}" for c in chars]
    data = {"values": strings}
    found = _yamldecode(terraform, tmp_path, data, "[for s in local.data.values : base64encode(s)]")
    wrong = [
        f"U+{ord(c):04X}"
        for c, s, got in zip(chars, strings, found, strict=True)
        if _text(got) != nfc(s)
    ]
    assert wrong == []


@pytest.mark.integration
def test_keys_too_long_for_an_implicit_key_are_read_back(terraform: str, tmp_path: Path) -> None:
    keys = ["k" * 1000, "k" * 1001, "k" * 5000]  # the last implicit key, the first explicit ones
    data = {"block": dict.fromkeys(keys, "v"), "flow": yamltext.Flow(dict.fromkeys(keys, "w"))}
    found = _yamldecode(terraform, tmp_path, data, "local.data")
    assert found == {"block": dict.fromkeys(keys, "v"), "flow": dict.fromkeys(keys, "w")}


@pytest.mark.integration
def test_numbers_booleans_null_and_empty_collections_keep_their_types(
    terraform: str, tmp_path: Path
) -> None:
    numbers: dict[str, float] = {
        "int": 7,
        "float": 12.5,
        "big": 1e16,
        "bigger": 1.5e16,
        "small": 1e-05,
        "zero": 0.0,
    }
    data: dict[str, Any] = {
        **numbers,
        "yes": True,
        "no": False,
        "none": None,
        "list": [],
        "map": {},
    }
    found = _yamldecode(terraform, tmp_path, data, "local.data")
    assert found == {**numbers, "yes": True, "no": False, "none": None, "list": [], "map": {}}


HOSTILE_POLICY = """\
version: 1
litellm: {enterprise: true}
defaults:
  models: ["N", "1e3", "gpt-4o"]
  max_budget: 12.5
  budget_duration: 30d
  metadata: {"N": "08", "~": "0o17", "on": "- a", "e\\u0301": "\\n\\u0301"}
preset:
  name: entra_groups_also_create_orgs
  select: {regex: '(?s).+'}
output: {format: yaml}
"""
UPNS = ("N", "08", "+.5", "1e3", "0o17", "y", "a\n\u0301@contoso.test", "~@contoso.test")


def _hostile_run(tmp_path: Path) -> Report:
    """A fresh YAML run over a tenant whose group names and UPNs are the hostile strings."""
    users = [user(f"u{i}", userPrincipalName=upn, mail=None) for i, upn in enumerate(UPNS)]
    names = dict.fromkeys(s for s in (*CORPUS, *random_strings(300, seed=3)) if s.strip())
    groups = [
        group(f"g{i}", displayName=name, users=(f"u{i % len(UPNS)}", f"u{i % 3}"))
        for i, name in enumerate(names)
    ]
    policy = tmp_path / "entraform.yaml"
    policy.write_text(HOSTILE_POLICY, encoding="utf-8")
    return build(policy, directory(tenant(groups, users)), tmp_path / "out", "yaml")


def _locals_only(main_tf: str) -> str:
    # Evaluating resources would need `terraform init` and the provider; the locals do not.
    match = re.search(r"^locals \{\n.*?^\}\n", main_tf, re.MULTILINE | re.DOTALL)
    assert match is not None
    return match.group(0)


_MEMBER = "base64encode(m.{owner}), base64encode(m.user_id), base64encode(m.user_email), m.role"
READ_BACK = " ".join(
    [
        "{ organizations = { for id, o in local.organizations :",
        "base64encode(id) => base64encode(o.alias) },",
        "teams = { for id, t in local.teams : base64encode(id) => {",
        "alias = base64encode(t.alias), organization_id = base64encode(t.organization_id),",
        "models = [for m in t.models : base64encode(m)], max_budget = t.max_budget,",
        "metadata = { for k, v in t.metadata : base64encode(k) => base64encode(v) } } },",
        "team_members = { for k, m in local.team_members : base64encode(k) => [",
        _MEMBER.format(owner="team_id") + "] },",
        "organization_members = { for k, m in local.organization_members : base64encode(k) => [",
        _MEMBER.format(owner="organization_id") + "] } }",
    ]
)


def _decoded(found: dict[str, Any]) -> dict[str, Any]:
    teams = {
        _text(i): {
            "alias": _text(t["alias"]),
            "organization_id": _text(t["organization_id"]),
            "models": [_text(m) for m in t["models"]],
            "max_budget": t["max_budget"],
            "metadata": {_text(k): _text(v) for k, v in t["metadata"].items()},
        }
        for i, t in found["teams"].items()
    }
    members = {
        kind: {_text(k): [*map(_text, m[:3]), m[3]] for k, m in found[kind].items()}
        for kind in ("team_members", "organization_members")
    }
    organizations = {_text(i): _text(a) for i, a in found["organizations"].items()}
    return {"organizations": organizations, "teams": teams, **members}


def _expected(state: DesiredState) -> dict[str, Any]:
    def members(owner: str, ms: tuple[Membership, ...]) -> dict[str, list[str]]:
        return {f"{owner}/{m.key}": [owner, nfc(m.user_id), nfc(m.user_email), m.role] for m in ms}

    teams = {
        t.id: {
            "alias": nfc(t.alias),
            "organization_id": t.organization_id,
            "models": [nfc(m) for m in t.settings.models or ()],
            "max_budget": t.settings.max_budget,
            "metadata": {nfc(k): nfc(v) for k, v in t.settings.metadata or ()},
        }
        for t in state.teams
    }
    return {
        "organizations": {o.id: nfc(o.alias) for o in state.organizations},
        "teams": teams,
        "team_members": {k: v for t in state.teams for k, v in members(t.id, t.members).items()},
        "organization_members": {
            k: v for o in state.organizations for k, v in members(o.id, o.members).items()
        },
    }


@pytest.mark.integration
def test_a_tenant_with_hostile_names_reads_back_through_the_rendered_main_tf(
    terraform: str, tmp_path: Path
) -> None:
    result = _hostile_run(tmp_path)
    root = tmp_path / "root"
    root.mkdir()
    for name, text in result.files.items():
        if name.endswith(".yaml"):
            (root / name).write_text(text, encoding="utf-8")
    (root / "main.tf").write_text(_locals_only(result.files["main.tf"]), encoding="utf-8")
    state = result.outcome.state
    assert len(state.teams) > 300
    assert _decoded(evaluate(terraform, root, READ_BACK)) == _expected(state)


def test_the_previous_run_of_a_hostile_tenant_reads_back_as_the_state_it_rendered(
    tmp_path: Path,
) -> None:
    result = _hostile_run(tmp_path)
    writes.write(tmp_path / "out", result.file_changes)
    assert read(tmp_path / "out", legacy.read).state == result.outcome.state
