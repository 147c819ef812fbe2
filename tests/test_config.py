"""The policy file: strict validation, errors that name file, key path and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generator import config
from generator.errors import ConfigError
from generator.source import GroupSelector
from tests.conftest import EXAMPLES


def parse(text: str) -> config.Policy:
    return config.parse(textwrap.dedent(text), "entraform.yaml")


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    return str(caught.value)


def test_the_example_policy_is_valid() -> None:
    policy = config.load(EXAMPLES / "entraform.yaml")
    assert [r.name for r in policy.organizations] == [
        "business-units",
        "entra_groups_also_create_orgs",
    ]
    assert policy.safety.organizations_removed == "forget"


def test_an_unknown_key_is_an_error_with_line_and_path() -> None:
    message = error_of(
        """\
        version: 1
        teams:
          - rule: a
            select: {prefix: "x"}
            budget: 3
        """
    )
    assert message.startswith("entraform.yaml:3: teams[0]:")
    assert "'budget' was unexpected" in message


def test_a_wrong_type_names_the_nested_key_and_its_line() -> None:
    message = error_of(
        """\
        version: 1
        defaults:
          models: [a]
          max_budget: lots
        """
    )
    assert message.startswith("entraform.yaml:4: defaults.max_budget:")


def test_a_selector_takes_exactly_one_kind() -> None:
    message = error_of(
        """\
        version: 1
        organizations:
          - rule: a
            select: {prefix: "x", names: ["y"]}
        """
    )
    assert "entraform.yaml:4: organizations[0].select:" in message


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
    assert message.startswith("entraform.yaml:5: teams[0].select.regex: not a valid regular")


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
    assert "entraform.yaml:5: teams[0].alias: unknown placeholder {team}" in message


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
    assert message == "entraform.yaml:3: duplicate key 'membership'"


def test_rule_names_are_unique_per_kind() -> None:
    message = error_of(
        """\
        version: 1
        teams:
          - {rule: a, select: {prefix: "x"}}
          - {rule: a, select: {prefix: "y"}}
        """
    )
    assert "entraform.yaml:4: teams[1].rule: rule name 'a' is used twice" in message


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
    with pytest.raises(ConfigError, match="cannot read policy"):
        config.load(tmp_path / "nope.yaml")
