"""The LiteLLM edition a policy targets, and what an open-source proxy would refuse."""

from __future__ import annotations

from typing import Any

from generator.errors import EXIT_USAGE, Refusal
from generator.policy.file import KeyPath, Locator

# Observed on LiteLLM without LITELLM_LICENSE: /organization/* is 403, team role admin is 400.
NO_ORGANIZATIONS = "answers every /organization/* call with 403"
NO_ADMINS = 'refuses the team role admin (400 "premium feature")'
ENTERPRISE = "litellm: {enterprise: true}"


def refusals(data: dict[str, Any], where: Locator) -> list[Refusal]:
    """Say which rules an open-source LiteLLM would refuse, and what to write instead."""
    if data.get("litellm", {}).get("enterprise", False):
        return []
    found = [
        _refused(
            where,
            ("organizations", i),
            f"organizations rule {item['rule']!r}: organizations",
            NO_ORGANIZATIONS,
            "Use teams rules only (standalone teams) instead.",
        )
        for i, item in enumerate(data.get("organizations", []))
    ]
    if preset := data.get("preset"):
        found.append(
            _refused(
                where,
                ("preset",),
                f"preset {preset['name']!r}: the organizations it creates",
                NO_ORGANIZATIONS,
                "Use a teams rule with the same select instead: one team per group, with the "
                "group's id as team id, as LiteLLM's own SSO sync makes.",
            )
        )
    for i, item in enumerate(data.get("teams", [])):
        found += _team_refusals(item, ("teams", i), where)
    return found


def _team_refusals(item: dict[str, Any], path: KeyPath, where: Locator) -> list[Refusal]:
    name = f"teams rule {item['rule']!r}"
    found = []
    if "organization" in item:
        found.append(
            _refused(
                where,
                (*path, "organization"),
                f"{name}: organizations (organization:)",
                NO_ORGANIZATIONS,
                "Remove organization: to make standalone teams.",
            )
        )
    if "admins" in item:
        found.append(
            _refused(
                where,
                (*path, "admins"),
                f"{name}: team admins (admins:)",
                NO_ADMINS,
                "Remove admins: so that every member gets the role user.",
            )
        )
    if item.get("member_role") == "admin":
        found.append(
            _refused(
                where,
                (*path, "member_role"),
                f"{name}: team admins (member_role: admin)",
                NO_ADMINS,
                "Use member_role: user (the default).",
            )
        )
    return found


def _refused(where: Locator, path: KeyPath, feature: str, refusal: str, instead: str) -> Refusal:
    reason = where.message(
        path,
        f"{feature} need a LiteLLM Enterprise licence (LITELLM_LICENSE); a proxy without one "
        f"{refusal}, and this policy targets such a proxy (litellm: {{enterprise: false}}, the "
        f"default). {instead}",
    )
    advice = f"If the proxy has the licence, set {ENTERPRISE}."
    return Refusal(reason, ENTERPRISE, advice, EXIT_USAGE)
