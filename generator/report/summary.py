"""The change summary for reviewers: Markdown for the pull request, JSON for policy tools."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from generator.mapping import LeftOut
from generator.plan import MemberChange, ObjectChange
from generator.policy import PER_ORGANIZATION
from generator.render import HEADER_MARK, MOVED_FILE, TRANSFERS_FILE
from generator.report import diagram
from generator.report.mermaid import MAX_BOXES, Chart
from generator.run import Result
from generator.state import DesiredState, Team
from generator.workspace import roots

KINDS = (("organization", "Organizations"), ("team", "Teams"), ("user", "Users"))
# Longer lists of left-out users are folded so the changes stay the first thing a reviewer sees.
FOLD_AFTER = 10


def markdown(result: Result, *, removals_allowed: bool = False) -> str:
    """Return the Markdown change summary: counts, every member change by email, warnings."""
    changes = result.plan.changes
    lines = ["## entraform: LiteLLM access changes", ""]
    lines += _switch(result)
    lines += _roots(result)
    lines += _ids_migration(result)
    if changes.empty:
        lines += ["No change to organizations, teams or memberships.", ""]
    lines += [
        "| | added | removed | renamed | changed |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {title} | {changes.count(kind, 'added')} | {changes.count(kind, 'removed')} "
            f"| {changes.count(kind, 'renamed')} | {changes.count(kind, 'changed')} |"
            for kind, title in KINDS
            if kind != "user" or result.outcome.state.users or _touches_users(changes.objects)
        ),
        f"| Memberships | {changes.count('member', 'added')} "
        f"| {changes.count('member', 'removed')} | – | {changes.count('member', 'role')} |",
        "",
    ]
    lines += _picture(result)
    renames = [o for o in changes.objects if o.action == "renamed"]
    if renames:
        lines += ["### Renamed", ""]
        lines += [
            f"- {o.kind} `{_code(o.alias)}` ({o.id}), was {_code(o.detail.removeprefix('from '))}"
            for o in renames
        ]
        lines.append("")
    for action, title in (("added", "Added"), ("removed", "Removed"), ("changed", "Changed")):
        # Added users are the members listed below; a first run would list everyone twice.
        found = [o for o in changes.objects if o.action == action]
        found = [o for o in found if o.kind != "user" or action != "added"]
        if found:
            lines += [f"### {title}", ""]
            lines += [f"- {o.kind} `{_code(o.alias)}` ({o.id}){_detail(o)}" for o in found]
            lines.append("")
    lines += _members(changes.members)
    lines += _left_out(result.outcome.findings.excluded_users)
    lines += _warnings(result, removals_allowed)
    return "\n".join(lines).rstrip("\n") + "\n"


def report(result: Result, *, removals_allowed: bool = False) -> dict[str, Any]:
    """Return the same facts as a JSON-ready dict."""
    changes = result.plan.changes
    findings = result.outcome.findings
    return {
        "changed_files": [{"name": f.name, "action": f.action} for f in result.plan.files],
        "objects": [asdict(o) for o in changes.objects],
        "members": [m._asdict() for m in changes.members],
        "refusals": list(result.plan.refusals),
        "switched_from": result.switched_from,
        "ids_migrated": None if result.ids_switch is None else list(result.ids_switch),
        "moves": [asdict(m) for m in result.moves],
        "layout": result.layout,
        "relaid_from": result.relaid_from,
        "changed_roots": [roots.shown(r) for r in result.changed_roots],
        "transfers": [
            {"kind": kind, "id": object_id, "from": roots.shown(was), "to": roots.shown(now)}
            for kind, object_id, was, now in result.transfers.objects
        ],
        "removals_allowed": removals_allowed,
        "warnings": list(findings.warnings),
        "skipped_members": dict(findings.skipped_members),
        "excluded_users": {
            reason: [asdict(user) for user in users]
            for reason, users in findings.excluded_users.items()
        },
    }


def _touches_users(objects: tuple[ObjectChange, ...]) -> bool:
    return any(o.kind == "user" for o in objects)


def _detail(change: ObjectChange) -> str:
    if change.action == "removed":
        return f": {_FATES.get(change.detail, change.detail)}"
    return f": {_code(change.detail)}" if change.detail else ""


_FATES = {
    "forgotten": "forgotten by Terraform (a `removed` block); it stays in LiteLLM",
    "deleted": "deleted from LiteLLM by the next apply",
}


def _left_out(excluded: Mapping[str, tuple[LeftOut, ...]]) -> list[str]:
    users = [(reason, u) for reason, found in excluded.items() for u in found]
    if not users:
        return []
    rows = [f"- {_plain(u.name)} ({u.id}): {reason}" for reason, u in users]
    lines = ["### Left out", ""]
    if len(rows) > FOLD_AFTER:
        summary = f"{len(rows)} users the policy selects are left out"
        return [
            *lines,
            "<details>",
            f"<summary>{summary}</summary>",
            "",
            *rows,
            "",
            "</details>",
            "",
        ]
    return [*lines, *rows, ""]


def _code(text: str) -> str:
    """Untrusted text (names from Entra) made safe inside an inline code span: one line, no `."""
    return "".join(c if c.isprintable() else " " for c in text).replace("`", "'")


def _plain(text: str) -> str:
    """Untrusted text made safe as plain Markdown: no links, HTML, emphasis or @mentions."""
    escaped = html.escape(_code(text), quote=False)
    escaped = _MARKDOWN.sub(r"\\\1", escaped)
    # A zero-width space after a leading @ keeps GitHub from notifying a user or team.
    return _MENTION.sub("\\1@\u200b", escaped)


_MARKDOWN = re.compile(r"([\\*_\[\]#|~!])")
_MENTION = re.compile(r"(^|[^\w.])@(?=\w)")


def _switch(result: Result) -> list[str]:
    if result.switched_from is None:
        return []
    objects = [m for m in result.moves if not m.kind.endswith("member")]
    lines = [
        "### Format switched",
        "",
        f"The output format switched from {result.switched_from} to {result.output_format}. "
        f"{len(result.moves)} `moved` block(s) in {MOVED_FILE} give every kept object its new "
        "address, so terraform plan moves objects instead of destroying and re-creating them.",
        "",
        *(f"- `{_code(m.source)}` → `{_code(m.target)}`" for m in objects),
    ]
    if len(result.moves) > len(objects):
        lines.append(f"- and {len(result.moves) - len(objects)} membership(s), one block each")
    return [*lines, ""]


def _roots(result: Result) -> list[str]:
    if result.layout != PER_ORGANIZATION and result.relaid_from is None:
        return []
    changed = ", ".join(f"`{_code(roots.shown(r))}`" for r in result.changed_roots) or "none"
    lines = [f"Root modules to plan and apply: {changed}.", ""]
    if result.relaid_from is not None:
        lines += [
            "### Layout changed",
            "",
            f"The output moves from the {result.relaid_from} layout to {result.layout}. Every "
            f"new root module imports what it takes over ({TRANSFERS_FILE}); every old one "
            "forgets it with `removed` blocks, destroying nothing; the roots apply in any order.",
            "",
        ]
    moved = result.transfers.objects if result.relaid_from is None else ()
    if moved:
        lines += ["### Moved between root modules", ""]
        lines += [
            f"- {kind} {object_id}: `{_code(roots.shown(was))}` → `{_code(roots.shown(now))}`"
            for kind, object_id, was, now in moved
        ]
        lines += [
            "",
            f"The new root imports each ({TRANSFERS_FILE}) and the old one forgets it "
            "(`removed`), so nothing is destroyed whichever root applies first.",
            "",
        ]
    return lines


def _ids_migration(result: Result) -> list[str]:
    if result.ids_switch is None:
        return []
    old, new = result.ids_switch
    state = result.outcome.state
    return [
        "### Ids migrated",
        "",
        f"Organization and team ids change from `{_code(old)}` to `{_code(new)}` "
        "(--migrate-ids). `team_id` and `organization_id` force "
        f"replacement: terraform apply **deletes** {len(state.teams)} team(s) and "
        f"{len(state.organizations)} organization(s) — with every key issued for them — and "
        "creates them again under the new ids, with the same members. Users need new "
        "team keys afterwards.",
        "",
    ]


def _removal_warning(change: ObjectChange, output_format: str) -> str:
    if change.kind == "user":
        return _user_removal_warning(change, output_format)
    name = f"{change.kind} `{_code(change.alias)}` is no longer selected"
    if change.detail == "forgotten" and output_format == "yaml":
        return (
            f"{name}: it is protected by prevent_destroy, so terraform plan stops; forget it with "
            "`terraform state rm` (it then stays in LiteLLM)"
        )
    if change.detail == "forgotten":
        return f"{name}: Terraform forgets it and LiteLLM keeps it, with its teams and keys"
    if change.kind == "organization":
        return f"{name}: apply deletes it, and LiteLLM deletes its teams and keys with it"
    return f"{name}: apply deletes it, and its keys go with it"


def _user_removal_warning(change: ObjectChange, output_format: str) -> str:
    name = f"user `{_code(change.alias)}` is in no selected group any more"
    if change.detail == "forgotten" and output_format == "yaml":
        return (
            f"{name}: it is protected by prevent_destroy, so terraform plan stops; forget it with "
            f"`terraform state rm 'litellm_user.this[\"{change.id}\"]'` (it then stays in LiteLLM)"
        )
    if change.detail == "forgotten":
        return f"{name}: Terraform forgets the user and LiteLLM keeps it, with its personal keys"
    return (
        f"{name}: apply deletes the LiteLLM user with all their keys (personal and team) and "
        "their place in every team and organization, managed or not"
    )


def _members(members: tuple[MemberChange, ...]) -> list[str]:
    by_scope: dict[tuple[str, str, str], list[MemberChange]] = defaultdict(list)
    for change in members:
        by_scope[(change.kind, change.scope_alias, change.scope_id)].append(change)
    lines: list[str] = []
    if by_scope:
        lines += ["### Memberships", ""]
    for (kind, alias, scope_id), found in sorted(by_scope.items()):
        added = sum(1 for c in found if c.action == "added")
        removed = sum(1 for c in found if c.action == "removed")
        lines.append(f"**{kind} `{_code(alias)}`** ({scope_id}): +{added} −{removed}")
        lines.append("")
        for c in found:
            if c.action == "role":
                lines.append(f"- role of {_plain(c.user_email)}: {c.old_role} → {c.role}")
            else:
                sign = "+" if c.action == "added" else "−"
                lines.append(f"- {sign} {_plain(c.user_email)} ({c.role})")
        lines.append("")
    return lines


def _warnings(result: Result, removals_allowed: bool) -> list[str]:
    findings = result.outcome.findings
    warnings = list(findings.warnings)
    for kind, count in findings.skipped_members.items():
        warnings.append(f"{count} {kind} member(s) ignored (only users become LiteLLM members)")
    for reason, users in findings.excluded_users.items():
        warnings.append(f"{len(users)} user(s) left out: {reason} (listed above)")
    removed = [o for o in result.plan.changes.objects if o.action == "removed"]
    for o in removed:
        warnings.append(_removal_warning(o, result.output_format))
    if result.plan.refusals and removals_allowed:
        warnings += [
            f"allowed past the guard (--allow-removals): {r}" for r in result.plan.refusals
        ]
    elif result.plan.refusals:
        warnings += [f"REFUSED: {r}" for r in result.plan.refusals]
    if not warnings:
        return []
    return ["### Warnings", "", *(f"- {_plain(w)}" for w in warnings), ""]


def _picture(result: Result) -> list[str]:
    changes = result.plan.changes
    if changes.empty:
        return []
    chart = diagram.changes(result.previous, result.outcome.state, changes)
    text = chart.text()
    if text is None:
        return [
            f"The diagram of the changes is left out: it would need {chart.boxes} boxes, more "
            f"than the {MAX_BOXES} a readable diagram holds; the lists below name every change.",
            "",
        ]
    return _folded("Diagram of the changes", text)


def _folded(title: str, mermaid: str) -> list[str]:
    return ["<details>", f"<summary>{title}</summary>", "", *_fenced(mermaid), "", "</details>", ""]


def _fenced(mermaid: str) -> list[str]:
    return ["```mermaid", *mermaid.splitlines(), "```"]


def structure(state: DesiredState, regenerate: str) -> str:
    """Return the map: one Mermaid diagram per organization, one for the standalone teams."""
    command = _code(regenerate).replace("-->", "- ->")
    standalone = state.teams_by_organization.get(None, ())
    lines = [
        f"<!-- {HEADER_MARK} from Microsoft Entra ID groups. Do not edit: the next run "
        "overwrites it. -->",
        f"<!-- Regenerate with: {command} -->",
        "",
        "# LiteLLM structure",
        "",
        f"{len(state.organizations)} organization(s), {len(state.teams)} team(s), "
        f"{len(standalone)} of them standalone. Boxes are organizations and teams with their "
        "member counts; rounded boxes are the Entra groups they come from.",
        "",
    ]
    organizations = sorted(state.organizations, key=lambda o: (o.alias, o.id))
    for org in organizations:
        teams = state.teams_by_organization.get(org.id, ())
        lines += [f"## Organization {_plain(org.alias)} ({org.id})", ""]
        lines += _drawn(diagram.organization(state, org), teams)
    if standalone:
        lines += ["## Standalone teams", ""]
        lines += _drawn(diagram.standalone(state), standalone)
    if not organizations and not standalone:
        lines += ["The policy selects no groups.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _drawn(chart: Chart, teams: tuple[Team, ...]) -> list[str]:
    text = chart.text()
    if text is not None:
        return [*_fenced(text), ""]
    ordered = sorted(teams, key=lambda t: (t.alias, t.id))
    rows = [f"- {_plain(t.alias)} ({t.id}): {len(t.members)} member(s)" for t in ordered]
    return [
        f"Too large for one diagram ({chart.boxes} boxes, at most {MAX_BOXES}); its teams:",
        "",
        *rows,
        "",
    ]
