"""The policy file: strict validation, errors that name file, key path and line."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.errors import ConfigError, EntraformError
from generator.policy import Place, Policy
from generator.policy.load import load_policy, parse_policy
from generator.sources import GroupSelector
from generator.state import Settings
from tests.conftest import EXAMPLES, ROOT


def parse(text: str) -> Policy:
    return parse_policy(textwrap.dedent(text), "entraform.yaml")


def error_of(text: str) -> str:
    with pytest.raises(EntraformError) as caught:
        parse(text)
    assert caught.value.exit_code == 2
    return str(caught.value)


def test_the_example_policy_is_valid_and_says_it_targets_enterprise() -> None:
    policy = load_policy(EXAMPLES / "entraform.yaml")
    assert [r.name for r in policy.organizations] == [
        "business-units",
        "entra_groups_also_create_orgs",
    ]
    assert policy.safety.organizations_removed == "forget"
    assert policy.litellm.enterprise is True


def test_an_unknown_top_level_key_is_reported_at_its_own_line_and_column() -> None:
    message = error_of("version: 1\nbudgt: 3\n")
    assert message.startswith("entraform.yaml:2:1: budgt: unknown key 'budgt'")


def test_an_unknown_key_in_a_rule_is_reported_at_its_own_line() -> None:
    message = error_of(
        """\
        version: 1
        teams:
          - rule: a
            select: {prefix: "x"}
            budget: 3
        """
    )
    assert message.startswith("entraform.yaml:5:5: teams[0].budget: unknown key 'budget'")


def test_a_typo_under_identity_is_reported_at_its_own_line_not_its_parents() -> None:
    message = error_of(
        """\
        version: 1
        identity:
          user_id: id
          user_emial: mail
        """
    )
    assert message.startswith("entraform.yaml:4:3: identity.user_emial:")


def test_an_unknown_key_suggests_the_nearest_valid_key() -> None:
    message = error_of("version: 1\nmembershp: direct\n")
    assert message.endswith("unknown key 'membershp'; did you mean 'membership'?")


def test_an_unknown_key_far_from_every_valid_key_lists_the_valid_keys() -> None:
    message = error_of("version: 1\nsafety: {zzz: 1}\n")
    assert message.endswith(
        "unknown key 'zzz'; valid keys: max_removed, max_removed_percent, min_existing, "
        "organizations_removed, teams_removed"
    )


def test_a_mistyped_value_suggests_the_nearest_allowed_value() -> None:
    message = error_of("version: 1\nmembership: transitiv\n")
    assert message == (
        "entraform.yaml:2:1: membership: 'transitiv' is not one of transitive, direct; "
        "did you mean 'transitive'?"
    )


def test_a_bad_budget_duration_is_described_in_words_not_as_a_regex() -> None:
    message = error_of("version: 1\ndefaults: {budget_duration: 30days}\n")
    assert "defaults.budget_duration: must be a duration like 30d, 1mo, 24h" in message
    assert "'30days'" in message
    assert "[0-9]" not in message


def test_every_pattern_in_the_schema_has_words_for_its_error_message() -> None:
    schema = json.loads((ROOT / "generator" / "policy.schema.json").read_text(encoding="utf-8"))
    patterns = list(_with_key(schema, "pattern"))
    assert patterns, "the schema has patterns to describe"
    assert all(p.get("description") for p in patterns)


def _with_key(node: Any, key: str) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if key in node:
            yield node
        for value in node.values():
            yield from _with_key(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _with_key(value, key)


def test_a_placement_mapping_is_checked_as_a_mapping_not_as_the_keyword_choice() -> None:
    message = error_of(
        """\
        version: 1
        teams:
          - rule: a
            select: {prefix: "x"}
            organization: {kee: o}
        """
    )
    assert message == (
        "entraform.yaml:5:20: teams[0].organization.kee: unknown key 'kee'; did you mean 'key'?"
    )


def test_a_wrong_type_names_the_nested_key_and_its_line() -> None:
    message = error_of(
        """\
        version: 1
        defaults:
          models: [a]
          max_budget: lots
        """
    )
    assert message == "entraform.yaml:4:3: defaults.max_budget: must be a number, not 'lots'"


def test_a_selector_takes_exactly_one_kind() -> None:
    message = error_of(
        """\
        version: 1
        organizations:
          - rule: a
            select: {prefix: "x", names: ["y"]}
        """
    )
    assert message == (
        "entraform.yaml:4:5: organizations[0].select: give exactly one of names, ids, prefix, "
        "regex, not prefix, names"
    )


def test_a_bad_regex_is_reported_at_its_line() -> None:
    message = error_of(
        """\
        version: 1
        teams:
          - rule: a
            select:
              regex: "(unclosed"
        """
    )
    assert message.startswith("entraform.yaml:5:7: teams[0].select.regex: not a valid regular")


def test_an_unknown_template_placeholder_is_an_error() -> None:
    message = error_of(
        """\
        version: 1
        teams:
          - rule: a
            select: {prefix: "LLM-"}
            alias: "{team}"
        """
    )
    assert "entraform.yaml:5:5: teams[0].alias: unknown placeholder {team}" in message


def test_a_capture_placement_needs_that_named_group() -> None:
    message = error_of(
        """\
        version: 1
        teams:
          - rule: a
            select: {regex: 'LLM-(?P<org>\\w+)'}
            organization: {capture: unit}
        """
    )
    assert "teams[0].organization.capture: no named capture 'unit' (captures: org)" in message


def test_duplicate_keys_are_an_error_not_silently_merged() -> None:
    message = error_of(
        """\
        version: 1
        membership: direct
        membership: transitive
        """
    )
    assert message == "entraform.yaml:3:1: duplicate key 'membership'"


def test_rule_names_are_unique_per_kind() -> None:
    message = error_of(
        """\
        version: 1
        teams:
          - {rule: a, select: {prefix: "x"}}
          - {rule: a, select: {prefix: "y"}}
        """
    )
    assert "entraform.yaml:4:6: teams[1].rule: rule name 'a' is used twice" in message


def test_invalid_yaml_names_the_line() -> None:
    message = error_of("version: 1\nteams: [\n")
    assert message.startswith("entraform.yaml:")
    assert "not valid YAML" in message


def test_the_version_is_required() -> None:
    assert "'version' is a required property" in error_of("membership: direct\n")


def test_defaults_apply_to_rules_and_rules_override_them() -> None:
    policy = parse(
        """\
        version: 1
        defaults: {models: [a, b], max_budget: 10, metadata: {team: x}}
        teams:
          - rule: t
            select: {prefix: "T-"}
            settings: {max_budget: 5}
        """
    )
    settings = policy.teams[0].settings
    assert settings.models == ("a", "b")
    assert settings.max_budget == 5
    assert settings.metadata == (("team", "x"),)


def test_needs_ask_only_for_what_the_rules_use() -> None:
    policy = parse(
        """\
        version: 1
        membership: direct
        litellm: {enterprise: true}
        source: {service_principal_id: sp-1, filter: "securityEnabled eq true"}
        teams:
          - {rule: a, select: {prefix: "LLM-"}, admins: {owners: true}}
          - {rule: b, select: {names: [X]}, admins: {group: "Admins"}}
          - {rule: c, select: {names: [Y]}, admins: {group: "Admins-{displayName}"}}
        """
    )
    needs = policy.needs()
    assert needs.selectors == (
        GroupSelector(prefix="LLM-"),
        GroupSelector(names=("X",)),
        GroupSelector(names=("Y",)),
        GroupSelector(names=("Admins",)),
        GroupSelector(prefix="Admins-"),
    )
    assert needs.owners is True
    assert needs.transitive is False
    assert needs.service_principal_id == "sp-1"
    assert needs.group_filter == "securityEnabled eq true"


def test_a_missing_policy_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no policy file .*nope\.yaml: write a first one with"):
        load_policy(tmp_path / "nope.yaml")


def test_the_target_is_an_open_source_litellm_unless_the_policy_says_enterprise() -> None:
    assert parse("version: 1\n").litellm.enterprise is False


def test_without_enterprise_an_organizations_rule_is_an_error_naming_rule_licence_and_fix() -> None:
    message = error_of(
        """\
        version: 1
        organizations:
          - {rule: units, select: {prefix: "Org-"}}
        """
    )
    assert message.startswith("entraform.yaml:3:5: organizations[0]: organizations rule 'units'")
    assert "LITELLM_LICENSE" in message
    assert "Use teams rules only" in message
    assert "set litellm: {enterprise: true}" in message


def test_without_enterprise_the_preset_is_an_error_that_offers_a_teams_rule() -> None:
    message = error_of(
        """\
        version: 1
        preset: {name: entra_groups_also_create_orgs, select: {prefix: "App-"}}
        """
    )
    assert message.startswith(
        "entraform.yaml:2:1: preset: preset 'entra_groups_also_create_orgs': the organizations"
    )
    assert "LITELLM_LICENSE" in message
    assert "Use a teams rule with the same select instead" in message


def test_without_enterprise_team_admins_from_a_rule_are_an_error_naming_the_rule() -> None:
    message = error_of(
        """\
        version: 1
        teams:
          - rule: apps
            select: {prefix: "App-"}
            admins: {owners: true}
        """
    )
    assert message.startswith("entraform.yaml:5:5: teams[0].admins: teams rule 'apps'")
    assert '"premium feature"' in message
    assert "LITELLM_LICENSE" in message
    assert "every member gets the role user" in message


def test_without_enterprise_member_role_admin_is_an_error_that_offers_the_user_role() -> None:
    message = error_of(
        """\
        version: 1
        teams:
          - {rule: apps, select: {prefix: "App-"}, member_role: admin}
        """
    )
    assert message.startswith("entraform.yaml:3:44: teams[0].member_role: teams rule 'apps'")
    assert "Use member_role: user" in message


def test_without_enterprise_a_team_placed_in_an_organization_is_an_error() -> None:
    message = error_of(
        """\
        version: 1
        teams:
          - {rule: apps, select: {prefix: "App-"}, organization: nested}
        """
    )
    assert message.startswith("entraform.yaml:3:44: teams[0].organization: teams rule 'apps'")
    assert "Remove organization: to make standalone teams" in message


def test_without_enterprise_every_refused_rule_is_listed_at_once() -> None:
    message = error_of(
        """\
        version: 1
        organizations:
          - {rule: units, select: {prefix: "Org-"}}
        teams:
          - {rule: apps, select: {prefix: "App-"}, admins: {owners: true}}
        """
    )
    assert [line.split(": ")[1] for line in message.splitlines()] == [
        "organizations[0]",
        "teams[0].admins",
    ]


def test_with_enterprise_organizations_the_preset_and_team_admins_are_accepted() -> None:
    policy = parse(
        """\
        version: 1
        litellm: {enterprise: true}
        organizations:
          - {rule: units, select: {prefix: "Org-"}, admins: {owners: true}}
        teams:
          - {rule: apps, select: {prefix: "App-"}, organization: nested, member_role: admin}
          - {rule: labs, select: {prefix: "Lab-"}, admins: {group: "Admins"}}
        preset: {name: entra_groups_also_create_orgs, select: {prefix: "LLM-"}}
        """
    )
    assert policy.litellm.enterprise is True
    assert [r.name for r in policy.teams] == ["apps", "labs", "entra_groups_also_create_orgs"]


def test_a_literal_organization_key_no_rule_produces_is_an_error_listing_the_keys() -> None:
    message = error_of(
        """\
        version: 1
        litellm: {enterprise: true}
        organizations:
          - {rule: units, select: {prefix: "Org-"}, key: finance}
          - {rule: labs, select: {prefix: "Lab-"}, key: "lab-{displayName}"}
        teams:
          - rule: apps
            select: {prefix: "App-"}
            organization: {key: fiance}
        """
    )
    assert message == (
        "entraform.yaml:9:20: teams[0].organization.key: teams rule 'apps' places its teams in "
        "the organization with key 'fiance', which no organizations rule produces (organization "
        "keys: 'finance', 'lab-{displayName}'). Use one of those keys, or give the intended "
        "organizations rule key: 'fiance'."
    )


def test_a_literal_organization_key_that_fits_a_key_template_is_accepted() -> None:
    policy = parse(
        """\
        version: 1
        litellm: {enterprise: true}
        organizations:
          - {rule: labs, select: {prefix: "Lab-"}, key: "lab-{displayName}"}
        teams:
          - {rule: apps, select: {prefix: "App-"}, organization: {key: lab-Physics}}
        """
    )
    assert policy.teams[0].placement == Place("key", "lab-Physics")


def test_an_organization_key_without_any_organizations_rule_says_there_are_none() -> None:
    message = error_of(
        """\
        version: 1
        litellm: {enterprise: true}
        teams:
          - {rule: apps, select: {prefix: "App-"}, organization: {key: finance}}
        """
    )
    assert "(organization keys: none: there are no organizations rules)" in message


def test_the_schema_allows_exactly_the_settings_the_model_declares() -> None:
    schema = json.loads((ROOT / "generator" / "policy.schema.json").read_text(encoding="utf-8"))
    assert tuple(schema["$defs"]["settings"]["properties"]) == Settings.names()
