"""An explanation as people read it (text) and as tools read it (JSON, a documented shape)."""

from __future__ import annotations

from typing import Any

from generator.directory import Group
from generator.mapping.trace import Absence, Access, Explanation, Grant, Reason

# Bumped only when a key changes meaning or disappears; new keys may be added.
JSON_VERSION = 1


def text(explanation: Explanation) -> str:
    """The explanation as lines for a terminal; every name from Entra is quoted."""
    person = explanation.person
    shown = ", ".join(repr(n) for n in (person.display_name, person.user_principal_name) if n)
    lines = [f"person {shown} ({person.id})"]
    if explanation.excluded:
        lines.append(f"  left out of everything: {explanation.excluded.text}")
    asked = explanation.asked
    if isinstance(asked, Absence):
        group = asked.group
        named = f"{group.display_name!r} ({group.id})"
        if asked.alias is not None:
            # By its alias, as asked and as LiteLLM shows it, with its group beside.
            named = f"{asked.alias!r} ({asked.id}), group {group.display_name!r}"
        lines += ["", f"not in {asked.kind} {named}:"]
        for reason in asked.reasons:
            lines += [f"  {reason.code}: {reason.text}", *(f"    {d}" for d in reason.details)]
    elif asked is not None:
        lines += _access(asked, explanation.origin)
    else:
        for access in explanation.organizations + explanation.teams:
            lines += _access(access, explanation.origin)
        if not explanation.organizations and not explanation.teams:
            lines.append("  gets no organization and no team")
    return "\n".join(lines) + "\n"


def report(explanation: Explanation) -> dict[str, Any]:
    """The explanation as JSON data for tools (see docs/explain.md for the shape)."""
    person = explanation.person
    asked = explanation.asked
    return {
        "version": JSON_VERSION,
        "person": {
            "id": person.id,
            "display_name": person.display_name,
            "user_principal_name": person.user_principal_name,
            "mail": person.mail,
            "account_enabled": person.account_enabled,
            "user_type": person.user_type,
        },
        "excluded": _reason(explanation.excluded) if explanation.excluded else None,
        "organizations": [_access_data(a, explanation.origin) for a in explanation.organizations],
        "teams": [_access_data(a, explanation.origin) for a in explanation.teams],
        "asked": None if asked is None else _asked_data(asked, explanation.origin),
    }


def _access(access: Access, origin: str) -> list[str]:
    where = ""
    if access.organization is not None:
        where = f" in organization {access.organization.alias!r}"
    rule = access.match.rule
    lines = [
        "",
        f"{access.kind} {access.alias!r} ({access.id}){where}: {access.role}",
        f"  group {access.match.group.display_name!r}, selected by rule {rule.name!r} "
        f"({origin}:{rule.line})",
    ]
    width = max(len(g.role) for g in access.grants) if access.grants else 0
    lines += [f"  {g.role.ljust(width)}  {_grant(g)}" for g in access.grants]
    if not access.complete:
        lines.append("  (more nesting chains grant this than are shown)")
    return lines


def _grant(grant: Grant) -> str:
    if grant.team is not None:
        return f"member of its team {grant.team.alias!r}"
    if grant.via == "owner":
        return f"owner of {grant.groups[0].display_name!r}"
    top, *below = (repr(g.display_name) for g in grant.groups)
    kind = "admin group " if grant.via == "admin_group" else ""
    if not below:
        return f"direct member of {kind}{top}"
    return f"member of {kind}{top} through {' > '.join(below)}"


def _access_data(access: Access, origin: str) -> dict[str, Any]:
    organization = access.organization
    return {
        "kind": access.kind,
        "member": True,
        "id": access.id,
        "alias": access.alias,
        "role": access.role,
        "organization": None
        if organization is None
        else {"id": organization.id, "alias": organization.alias},
        "group": _group(access.match.group),
        "rule": {"name": access.match.rule.name, "file": origin, "line": access.match.rule.line},
        "grants": [_grant_data(g) for g in access.grants],
        "complete": access.complete,
    }


def _grant_data(grant: Grant) -> dict[str, Any]:
    team = grant.team
    return {
        "role": grant.role,
        "via": grant.via,
        "groups": [_group(g) for g in grant.groups],
        "team": None if team is None else {"id": team.id, "alias": team.alias},
    }


def _asked_data(asked: Access | Absence, origin: str) -> dict[str, Any]:
    if isinstance(asked, Access):
        return _access_data(asked, origin)
    return {
        "kind": asked.kind,
        "member": False,
        "id": asked.id,
        "alias": asked.alias,
        "group": _group(asked.group),
        "reasons": [_reason(r) for r in asked.reasons],
    }


def _group(group: Group) -> dict[str, str]:
    return {"id": group.id, "display_name": group.display_name}


def _reason(reason: Reason) -> dict[str, Any]:
    return {"code": reason.code, "text": reason.text, "details": list(reason.details)}
