"""The change set as JSON, for policy tools and CI (`generate --report`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from generator.plan import ALLOW_REMOVALS
from generator.report.outcome import Report
from generator.workspace import roots


def facts(report: Report) -> dict[str, Any]:
    """The summary's facts as a JSON-ready dict."""
    changes = report.changes
    findings = report.outcome.findings
    return {
        "changed_files": [{"name": f.name, "action": f.action} for f in report.file_changes],
        "objects": [asdict(o) for o in changes.objects],
        "members": [m._asdict() for m in changes.members],
        # The guards' refusals, allowed or not, and any other that stops the run.
        "refusals": [r.reason for r in report.told],
        "switched_from": report.switched_from,
        "ids_migrated": None if report.ids_switch is None else list(report.ids_switch),
        "moves": [asdict(m) for m in report.moves],
        "layout": report.layout,
        "relaid_from": report.relaid_from,
        "changed_roots": [roots.shown(r) for r in report.changed_roots],
        "transfers": [
            {"kind": t.kind, "id": t.id, "from": roots.shown(t.source), "to": roots.shown(t.target)}
            for t in report.transfers
        ],
        "removals_allowed": ALLOW_REMOVALS in report.overrides,
        # The policy's checks when all held; none when one broke (its violations are refusals).
        "checks_passed": list(report.checks),
        "warnings": [*report.warnings, *findings.warnings],
        "skipped_members": dict(findings.skipped_members),
        "excluded_users": {
            reason: [asdict(user) for user in users]
            for reason, users in findings.excluded_users.items()
        },
    }
