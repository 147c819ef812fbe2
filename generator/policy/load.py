"""The policy file: read entraform.yaml strictly, with file, key path, line and column in errors."""

from __future__ import annotations

import re
import shlex
import string
from pathlib import Path
from typing import Any

from generator.errors import ConfigError, refuse
from generator.policy import (
    TEMPLATE_FIELDS,
    Admins,
    Checks,
    Identity,
    LiteLLM,
    NamedAdmin,
    Output,
    Place,
    Policy,
    Rule,
    Safety,
    Users,
    compiled,
    edition,
    fields_of,
)
from generator.policy import file as policy_file
from generator.policy.file import KeyPath, Locator
from generator.policy.ids import DEFAULT_PREFIX, Ids
from generator.sources import GroupSelector
from generator.state import ORGANIZATION_ADMIN, TEAM_ADMIN, Settings


def load_policy(path: Path) -> Policy:
    """Read, validate and build the policy from a YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        init = f"entraform init -o {shlex.quote(str(path))}"
        raise ConfigError(
            f"no policy file {path}: write a first one with {init}, or give another with --config"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"cannot read policy {path}: {why}") from exc
    return parse_policy(text, str(path))


def parse_policy(text: str, origin: str) -> Policy:
    """Validate policy text against the schema and the rules the schema cannot express."""
    data, where = policy_file.read(text, origin)
    policy_file.check(data, where)
    policy = _build(data, where)
    refuse(edition.refusals(data, where))
    errors = _unknown_organization_keys(policy, where)
    if errors:
        raise ConfigError("\n".join(errors))
    return policy


def _build(data: dict[str, Any], where: Locator) -> Policy:
    defaults = Settings.from_mapping(data.get("defaults", {}))
    organizations = [
        _rule(r, ("organizations", i), defaults, where, "internal_user")
        for i, r in enumerate(data.get("organizations", []))
    ]
    teams = [
        _rule(r, ("teams", i), defaults, where, "user") for i, r in enumerate(data.get("teams", []))
    ]
    if preset := data.get("preset"):
        organizations_, teams_ = _preset(preset, defaults, where)
        organizations += organizations_
        teams += teams_
    _unique_rule_names(organizations, "organizations", where)
    _unique_rule_names(teams, "teams", where)
    source = data.get("source", {})
    return Policy(
        path=where.origin,
        organizations=tuple(organizations),
        teams=tuple(teams),
        membership=data.get("membership", "transitive"),
        identity=Identity(**data.get("identity", {})),
        safety=Safety(**data.get("safety", {})),
        output=Output(**data.get("output", {})),
        litellm=LiteLLM(**data.get("litellm", {})),
        users=_users(data.get("users", {}), where),
        ids=_ids(data.get("ids", {}), where),
        service_principal_id=source.get("service_principal_id"),
        group_filter=source.get("filter"),
        checks=_checks(data, where, (*organizations, *teams)),
    )


def _checks(data: dict[str, Any], where: Locator, rules: tuple[Rule, ...]) -> Checks:
    item: dict[str, Any] = data.get("checks", {})
    if "min_admins" in item:
        # A check that cannot hold would fail every run: say so once, at the policy.
        if not data.get("litellm", {}).get("enterprise", False):
            raise where.error(
                ("checks", "min_admins"),
                "an open-source LiteLLM has no team admins, so this check could never hold; "
                "set litellm: {enterprise: true} if the proxy has the licence, or remove it",
            )
        admin = (TEAM_ADMIN, ORGANIZATION_ADMIN)
        if without := [r for r in rules if r.admins is None and r.member_role not in admin]:
            # The preset makes an organizations rule and a teams rule of one name.
            named = ", ".join(dict.fromkeys(f"{r.name!r} (line {r.line})" for r in without))
            raise where.error(
                ("checks", "min_admins"),
                f"the rules {named} name no admins (admins: or member_role), so their "
                "organizations and teams could never have any",
            )
    return Checks(
        min_admins=item.get("min_admins"),
        no_guest_admins=item.get("no_guest_admins", False),
        max_members=item.get("max_members"),
        member_domains=tuple(d.casefold() for d in item.get("member_domains", ())),
        lines=tuple((name, where.line(("checks", name))) for name in item),
    )


def _users(item: dict[str, Any], where: Locator) -> Users:
    if item.get("admins") and not item.get("manage"):
        # Without managed users no user is rendered, so the named admins would be ignored.
        raise where.error(
            ("users", "admins"),
            "named admins take effect only with users.manage: true; set it, or remove admins",
        )
    admins = tuple(
        sorted(
            NamedAdmin(name, role, where.line(("users", "admins", name)))
            for name, role in item.get("admins", {}).items()
        )
    )
    return Users(
        manage=item.get("manage", False),
        role=item.get("role", "internal_user"),
        removed=item.get("removed", "delete"),
        admins=admins,
    )


def _ids(item: dict[str, Any], where: Locator) -> Ids:
    scheme = item.get("scheme", "group_id")
    if "prefix" in item and scheme != "prefixed":
        raise where.error(
            ("ids", "prefix"),
            "a prefix applies only to `scheme: prefixed`; add that, or drop the prefix",
        )
    return Ids(scheme, item.get("prefix", DEFAULT_PREFIX))


def _preset(
    preset: dict[str, Any], defaults: Settings, where: Locator
) -> tuple[list[Rule], list[Rule]]:
    # LiteLLM's requested SSO extension: one organization and one team per group, same id.
    path: KeyPath = ("preset", "select")
    selector = _selector(preset["select"], path, where)
    line = where.line(("preset",))
    name = preset["name"]
    organization = Rule(name, selector, member_role="internal_user", settings=defaults, line=line)
    team = Rule(name, selector, settings=defaults, placement=Place("same_group"), line=line)
    return [organization], [team]


def _rule(
    item: dict[str, Any], path: KeyPath, defaults: Settings, where: Locator, role: str
) -> Rule:
    selector = _selector(item["select"], (*path, "select"), where)
    captures = _captures(selector)
    for key in ("alias", "key"):
        if key in item:
            _check_template(item[key], captures, (*path, key), where)
    admins = None
    if "admins" in item:
        admins = Admins(
            owners=item["admins"].get("owners", False), group=item["admins"].get("group")
        )
        if admins.group:
            _check_template(admins.group, captures, (*path, "admins", "group"), where)
    return Rule(
        name=item["rule"],
        selector=selector,
        alias=item.get("alias", "{displayName}"),
        key=item.get("key", "{displayName}"),
        member_role=item.get("member_role", role),
        admins=admins,
        settings=defaults.merged(Settings.from_mapping(item.get("settings", {}))),
        placement=_placement(item.get("organization"), captures, (*path, "organization"), where),
        line=where.line(path),
    )


def _selector(item: dict[str, Any], path: KeyPath, where: Locator) -> GroupSelector:
    if "regex" in item:
        try:
            compiled(item["regex"])
        except re.error as exc:
            raise where.error((*path, "regex"), f"not a valid regular expression: {exc}") from exc
    return GroupSelector(
        names=tuple(item.get("names", ())),
        ids=tuple(item.get("ids", ())),
        prefix=item.get("prefix"),
        regex=item.get("regex"),
    )


def _placement(item: Any, captures: set[str], path: KeyPath, where: Locator) -> Place:
    if item is None:
        return Place()
    if isinstance(item, str):
        return Place(item)  # type: ignore[arg-type]  # the schema allows only the two literals
    kind, value = next(iter(item.items()))
    if kind == "capture" and value not in captures:
        known = ", ".join(sorted(captures)) or "none: select by regex with (?P<name>...) groups"
        raise where.error((*path, "capture"), f"no named capture {value!r} (captures: {known})")
    if kind in ("key", "group"):
        _check_template(value, captures, (*path, kind), where)
    return Place(kind, value)


def _captures(selector: GroupSelector) -> set[str]:
    pattern = None if selector.regex is None else compiled(selector.regex)
    return set(pattern.groupindex) if pattern else set()


def _check_template(template: str, captures: set[str], path: KeyPath, where: Locator) -> None:
    allowed = set(TEMPLATE_FIELDS) | captures
    try:
        names = fields_of(template)
    except ValueError as exc:
        raise where.error(path, f"bad template {template!r}: {exc}") from exc
    for name in names:
        if name not in allowed:
            known = ", ".join("{" + n + "}" for n in sorted(allowed))
            raise where.error(path, f"unknown placeholder {{{name}}} in {template!r}; use {known}")


def _unique_rule_names(rules: list[Rule], kind: str, where: Locator) -> None:
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        if rule.name in seen:
            raise where.error((kind, index, "rule"), f"rule name {rule.name!r} is used twice")
        seen.add(rule.name)


def _unknown_organization_keys(policy: Policy, where: Locator) -> list[str]:
    """Find teams placed by a literal organization key that no organizations rule can produce."""
    # A key template with placeholders is read as a pattern: its literal parts must match and each
    # placeholder matches anything, so only keys that no template could ever produce are errors.
    templates = sorted({rule.key for rule in policy.organizations})
    patterns = [_template_pattern(t) for t in templates]
    found = []
    for index, rule in enumerate(policy.teams):
        key = rule.placement.value or ""
        if (
            rule.placement.kind != "key"
            or fields_of(key)
            or any(p.fullmatch(key) for p in patterns)
        ):
            continue
        known = ", ".join(map(repr, templates)) or "none: there are no organizations rules"
        found.append(
            where.message(
                ("teams", index, "organization", "key"),
                f"teams rule {rule.name!r} places its teams in the organization with key {key!r}, "
                f"which no organizations rule produces (organization keys: {known}). Use one of "
                f"those keys, or give the intended organizations rule key: {key!r}.",
            )
        )
    return found


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = string.Formatter().parse(template)
    return re.compile(
        "".join(re.escape(text) + ("" if name is None else ".*") for text, name, _, _ in parts),
        re.DOTALL,
    )
