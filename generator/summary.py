"""The change summary for reviewers: Markdown for the pull request, JSON for policy tools."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from typing import Any

from generator.pipeline import Result
from generator.plan import MemberChange

KINDS = (("organization", "Organizations"), ("team", "Teams"))


def markdown(result: Result, *, removals_allowed: bool = False) -> str:
    """Return the Markdown change summary: counts, every member change by email, warnings."""
    changes = result.plan.changes
    lines = ["## entraform: LiteLLM access changes", ""]
    if changes.empty:
        lines += ["No change to organizations, teams or memberships.", ""]
    lines += [
        "| | added | removed | renamed | changed |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {title} | {changes.count(kind, 'added')} | {changes.count(kind, 'removed')} "
            f"| {changes.count(kind, 'renamed')} | {changes.count(kind, 'changed')} |"
            for kind, title in KINDS
        ),
        f"| Memberships | {changes.count('member', 'added')} "
        f"| {changes.count('member', 'removed')} | – | {changes.count('member', 'role')} |",
        "",
    ]
    renames = [o for o in changes.objects if o.action == "renamed"]
    if renames:
        lines += ["### Renamed", ""]
        lines += [
            f"- {o.kind} `{_code(o.alias)}` (was {o.detail.removeprefix('from ')})" for o in renames
        ]
        lines.append("")
    for action, title in (("added", "Added"), ("removed", "Removed"), ("changed", "Changed")):
        found = [o for o in changes.objects if o.action == action]
        if found:
            lines += [f"### {title}", ""]
            lines += [f"- {o.kind} `{_code(o.alias)}` ({o.id}){_detail(o.detail)}" for o in found]
            lines.append("")
    lines += _members(changes.members)
    lines += _warnings(result, removals_allowed)
    return "\n".join(lines).rstrip("\n") + "\n"


def report(result: Result, *, removals_allowed: bool = False) -> dict[str, Any]:
    """Return the same facts as a JSON-ready dict."""
    changes = result.plan.changes
    findings = result.outcome.findings
    return {
        "changed_files": [{"name": f.name, "action": f.action} for f in result.plan.files],
        "objects": [asdict(o) for o in changes.objects],
        "members": [asdict(m) for m in changes.members],
        "refusals": list(result.plan.refusals),
        "removals_allowed": removals_allowed,
        "warnings": list(findings.warnings),
        "skipped_members": dict(findings.skipped_members),
        "excluded_users": dict(findings.excluded_users),
    }


def _detail(text: str) -> str:
    return f": {text}" if text else ""


def _code(text: str) -> str:
    # Display names are untrusted: keep them from breaking out of inline code.
    return "".join(c if c.isprintable() else " " for c in text).replace("`", "'")


def _members(members: tuple[MemberChange, ...]) -> list[str]:
    by_scope: dict[tuple[str, str, str], list[MemberChange]] = defaultdict(list)
    for change in members:
        by_scope[(change.kind, change.scope_alias, change.scope_id)].append(change)
    lines: list[str] = []
    if by_scope:
        lines += ["### Memberships", ""]
    for (kind, alias, _), found in sorted(by_scope.items()):
        added = sum(1 for c in found if c.action == "added")
        removed = sum(1 for c in found if c.action == "removed")
        lines.append(f"**{kind} `{_code(alias)}`**: +{added} −{removed}")
        lines.append("")
        for c in found:
            if c.action == "role":
                lines.append(f"- role of {_code(c.user_email)}: {c.old_role} → {c.role}")
            else:
                sign = "+" if c.action == "added" else "−"
                lines.append(f"- {sign} {_code(c.user_email)} ({c.role})")
        lines.append("")
    return lines


def _warnings(result: Result, removals_allowed: bool) -> list[str]:
    findings = result.outcome.findings
    warnings = list(findings.warnings)
    for kind, count in findings.skipped_members.items():
        warnings.append(f"{count} {kind} member(s) ignored (only users become LiteLLM members)")
    for reason, count in findings.excluded_users.items():
        warnings.append(f"{count} user(s) left out: {reason}")
    removed = [o for o in result.plan.changes.objects if o.action == "removed"]
    for o in removed:
        if o.kind == "organization":
            warnings.append(
                f"organization `{_code(o.alias)}` is no longer selected: deleting a LiteLLM "
                "organization deletes its teams and keys (see removed.tf / the safety settings)"
            )
        else:
            warnings.append(f"team `{_code(o.alias)}` is no longer selected: its keys go with it")
    if result.plan.refusals and removals_allowed:
        warnings += [
            f"allowed past the guard (--allow-removals): {r}" for r in result.plan.refusals
        ]
    elif result.plan.refusals:
        warnings += [f"REFUSED: {r}" for r in result.plan.refusals]
    if not warnings:
        return []
    return ["### Warnings", "", *(f"- {_code(w)}" for w in warnings), ""]
