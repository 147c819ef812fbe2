"""The change summary for reviewers: Markdown for the pull request body."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from generator import render
from generator.mapping import LeftOut
from generator.plan import MemberChange, ObjectChange
from generator.report import diagram
from generator.report.markdown import code, folded, plain
from generator.report.mermaid import MAX_BOXES
from generator.report.outcome import Report
from generator.workspace import roots
from generator.workspace.roots import MOVED_FILE, TRANSFERS_FILE

KINDS = (("organization", "Organizations"), ("team", "Teams"), ("user", "Users"))
# Longer lists of left-out users are folded so the changes stay the first thing a reviewer sees.
FOLD_AFTER = 10


def markdown(report: Report) -> str:
    """Return the Markdown change summary: counts, every member change by email, warnings."""
    changes = report.changes
    lines = ["## entraform: LiteLLM access changes", ""]
    lines += _switch(report)
    lines += _roots(report)
    lines += _ids_migration(report)
    if changes.empty:
        lines += ["No change to organizations, teams or memberships.", ""]
    lines += [
        "| | added | removed | renamed | changed |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {title} | {changes.count(kind, 'added')} | {changes.count(kind, 'removed')} "
            f"| {changes.count(kind, 'renamed')} | {changes.count(kind, 'changed')} |"
            for kind, title in KINDS
            if kind != "user" or report.outcome.state.users or _touches_users(changes.objects)
        ),
        f"| Memberships | {changes.count('member', 'added')} "
        f"| {changes.count('member', 'removed')} | – | {changes.count('member', 'role')} |",
        "",
    ]
    if report.checks:
        # Empty when any check broke: the violations are then among the refusals (exit 6).
        lines += [f"Checks passed: {', '.join(code(c) for c in report.checks)}.", ""]
    lines += _picture(report)
    renames = [o for o in changes.objects if o.action == "renamed"]
    if renames:
        lines += ["### Renamed", ""]
        lines += [
            f"- {o.kind} {code(o.alias)} ({o.id}), was {_old_alias(o, report)}" for o in renames
        ]
        lines.append("")
    for action, title in (("added", "Added"), ("removed", "Removed"), ("changed", "Changed")):
        # Added users are the members listed below; a first run would list everyone twice.
        found = [o for o in changes.objects if o.action == action]
        found = [o for o in found if o.kind != "user" or action != "added"]
        if found:
            lines += [f"### {title}", ""]
            lines += [f"- {o.kind} {code(o.alias)} ({o.id}){_detail(o)}" for o in found]
            lines.append("")
    lines += _members(changes.members)
    lines += _left_out(report.outcome.findings.excluded_users)
    lines += _warnings(report)
    return "\n".join(lines).rstrip("\n") + "\n"


def _old_alias(change: ObjectChange, report: Report) -> str:
    previous = report.previous
    by_id = previous.organizations_by_id if change.kind == "organization" else previous.teams_by_id
    found = by_id.get(change.id)
    return code(found.alias) if found is not None else plain(change.detail.removeprefix("from "))


def _touches_users(objects: tuple[ObjectChange, ...]) -> bool:
    return any(o.kind == "user" for o in objects)


def _detail(change: ObjectChange) -> str:
    if change.action == "removed":
        return f": {_FATES.get(change.detail, change.detail)}"
    # Details quote names and values as the plan writes them (old → new): text, not code.
    return f": {plain(change.detail)}" if change.detail else ""


_FATES = {
    "forgotten": "forgotten by Terraform (a `removed` block); it stays in LiteLLM",
    "deleted": "deleted from LiteLLM by the next apply",
}


def _left_out(excluded: Mapping[str, tuple[LeftOut, ...]]) -> list[str]:
    users = [(reason, u) for reason, found in excluded.items() for u in found]
    if not users:
        return []
    rows = [f"- {code(u.name)} ({u.id}): {reason}" for reason, u in users]
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


def _switch(report: Report) -> list[str]:
    if report.switched_from is None:
        return []
    objects = [m for m in report.moves if not m.kind.endswith("member")]
    lines = [
        "### Format switched",
        "",
        f"The output format switched from {report.switched_from} to {report.format}. "
        f"{len(report.moves)} `moved` block(s) in {MOVED_FILE} give every kept object its new "
        "address, so terraform plan moves objects instead of destroying and re-creating them.",
        "",
        *(f"- {code(m.source)} → {code(m.target)}" for m in objects),
    ]
    if len(report.moves) > len(objects):
        lines.append(f"- and {len(report.moves) - len(objects)} membership(s), one block each")
    return [*lines, ""]


def _roots(report: Report) -> list[str]:
    if report.layout != roots.PER_ORGANIZATION and report.relaid_from is None:
        return []
    changed = ", ".join(code(roots.shown(r)) for r in report.changed_roots) or "none"
    lines = [f"Root modules to plan and apply: {changed}.", ""]
    if report.relaid_from is not None:
        lines += [
            "### Layout changed",
            "",
            f"The output moves from the {report.relaid_from} layout to {report.layout}. Every "
            f"new root module imports what it takes over ({TRANSFERS_FILE}); every old one "
            "forgets it with `removed` blocks, destroying nothing; the roots apply in any order.",
            "",
        ]
    moved = report.transfers if report.relaid_from is None else ()
    if moved:
        lines += ["### Moved between root modules", ""]
        lines += [
            f"- {kind} {object_id}: {code(roots.shown(was))} → {code(roots.shown(now))}"
            for kind, object_id, was, now in ((t.kind, t.id, t.source, t.target) for t in moved)
        ]
        lines += [
            "",
            f"The new root imports each ({TRANSFERS_FILE}) and the old one forgets it "
            "(`removed`), so nothing is destroyed whichever root applies first.",
            "",
        ]
    return lines


def _ids_migration(report: Report) -> list[str]:
    if report.ids_switch is None:
        return []
    old, new = report.ids_switch
    state = report.outcome.state
    return [
        "### Ids migrated",
        "",
        f"Organization and team ids change from {code(old)} to {code(new)} "
        "(--migrate-ids). `team_id` and `organization_id` force "
        f"replacement: terraform apply **deletes** {len(state.teams)} team(s) and "
        f"{len(state.organizations)} organization(s) — with every key issued for them — and "
        "creates them again under the new ids, with the same members. Users need new "
        "team keys afterwards.",
        "",
    ]


def _removal_warning(change: ObjectChange, report: Report) -> str:
    forgotten = change.detail == "forgotten"
    note = render.named(report.format).forget_note(change.kind, change.id) if forgotten else None
    # Two objects may share a name (Entra allows it): the id says which one leaves.
    named = f"{change.kind} {code(change.alias)} ({code(change.id)})"
    if change.kind == "user":
        name = f"{named} is in no selected group any more"
        return f"{name}: {note or _user_fate(forgotten)}"
    name = f"{named} is no longer selected"
    if note is not None:
        return f"{name}: {note}"
    if forgotten:
        return f"{name}: Terraform forgets it and LiteLLM keeps it, with its teams and keys"
    if change.kind == "organization":
        return f"{name}: apply deletes it, and LiteLLM deletes its teams and keys with it"
    return f"{name}: apply deletes it, and its keys go with it"


def _user_fate(forgotten: bool) -> str:
    if forgotten:
        return "Terraform forgets the user and LiteLLM keeps it, with its personal keys"
    return (
        "apply deletes the LiteLLM user with all their keys (personal and team) and their "
        "place in every team and organization, managed or not"
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
        lines.append(f"**{kind} {code(alias)}** ({scope_id}): +{added} −{removed}")
        lines.append("")
        for c in found:
            if c.action == "role":
                lines.append(f"- role of {code(c.user_email)}: {c.old_role} → {c.role}")
            else:
                sign = "+" if c.action == "added" else "−"
                lines.append(f"- {sign} {code(c.user_email)} ({c.role})")
        lines.append("")
    return lines


def _warnings(report: Report) -> list[str]:
    findings = report.outcome.findings
    # Warnings of other steps are text that quotes names; this module's are Markdown already.
    texts = [*report.warnings, *findings.warnings]
    for kind, count in findings.skipped_members.items():
        texts.append(f"{count} {kind} member(s) ignored (only users become LiteLLM members)")
    for reason, users in findings.excluded_users.items():
        texts.append(f"{len(users)} user(s) left out: {reason} (listed above)")
    warnings = [plain(w) for w in texts]
    removed = [o for o in report.changes.objects if o.action == "removed"]
    warnings += [_removal_warning(o, report) for o in removed]
    warnings += [
        plain(f"allowed past the guard ({r.override}): {r.reason}") for r in report.allowed
    ]
    warnings += [plain(f"REFUSED: {r.reason}") for r in report.blocking]
    if not warnings:
        return []
    return ["### Warnings", "", *(f"- {w}" for w in warnings), ""]


def _picture(report: Report) -> list[str]:
    changes = report.changes
    if changes.empty:
        return []
    chart = diagram.changes(report.previous, report.outcome.state, changes)
    text = chart.text()
    if text is None:
        return [
            f"The diagram of the changes is left out: it would need {chart.boxes} boxes, more "
            f"than the {MAX_BOXES} a readable diagram holds; the lists below name every change.",
            "",
        ]
    return folded("Diagram of the changes", text)
