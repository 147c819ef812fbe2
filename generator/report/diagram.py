"""Pictures of what entraform manages: organizations → teams → the groups they come from."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from generator.plan import ChangeSet
from generator.report.mermaid import Chart, Shape, Style, short
from generator.state import DesiredState, Organization, Scoped, Team

# In order of precedence: a box shows the first that applies, its words say every one.
ADDED = Style("added", "fill:#dafbe1,stroke:#1a7f37,color:#1f2328", "added")
REMOVED = Style(
    "removed", "fill:#ffebe9,stroke:#cf222e,stroke-dasharray:5 5,color:#1f2328", "removed"
)
MOVED = Style("moved", "fill:#fbefff,stroke:#8250df,color:#1f2328", "moved")
RENAMED = Style("renamed", "fill:#ddf4ff,stroke:#0969da,color:#1f2328", "renamed")
MEMBERS = Style("members", "fill:#fff8c5,stroke:#9a6700,color:#1f2328", "members changed")
SETTINGS = Style("settings", "fill:#eaeef2,stroke:#57606a,color:#1f2328", "settings changed")
PRECEDENCE = (ADDED, REMOVED, MOVED, RENAMED, MEMBERS, SETTINGS)


def organization(state: DesiredState, org: Organization) -> Chart:
    """One organization, its teams, and the group behind each."""
    chart = Chart()
    root = _object(chart, "organization", org, (_members(org),))
    for team in _by_alias(state.teams_by_organization.get(org.id, ())):
        chart.link(root, _object(chart, "team", team, (_members(team),)))
    return chart


def standalone(state: DesiredState) -> Chart:
    """The teams outside any organization, and the group behind each."""
    chart = Chart()
    for team in _by_alias(state.teams_by_organization.get(None, ())):
        _object(chart, "team", team, (_members(team),))
    return chart


@dataclass
class _Marks:
    """What happened to one organization or team in this run."""

    styles: list[Style] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, style: Style, note: str) -> None:
        self.styles.append(style)
        self.notes.append(note)


def changes(previous: DesiredState, current: DesiredState, changeset: ChangeSet) -> Chart:
    """The organizations and teams this run changes, each marked by how, under its organization.

    `previous` holds the objects as they were (at least every changed one), `current` the
    whole new state.
    """
    marks = _marks(previous, current, changeset)
    chart = Chart()
    for (kind, object_id), mark in sorted(marks.items()):
        found = _find(kind, object_id, current, previous)
        style = min(mark.styles, key=PRECEDENCE.index)
        kept = _lookup(kind, object_id, current) is not None
        # A removed object's group is not known any more: the old files hold only its alias.
        node = _object(chart, kind, found, tuple(mark.notes), style, group=kept)
        if isinstance(found, Team):
            if found.organization_id is not None:
                chart.link(_parent(chart, found.organization_id, current, previous), node)
            old = previous.teams_by_id.get(object_id)
            if old is not None and old.organization_id is not None and _moved(old, found):
                parent = _parent(chart, old.organization_id, current, previous)
                chart.link(parent, node, "moved out", dotted=True)
    used = {s for mark in marks.values() for s in mark.styles}
    chart.legend(tuple(s for s in PRECEDENCE if s in used))
    return chart


def _marks(
    previous: DesiredState, current: DesiredState, changeset: ChangeSet
) -> dict[tuple[str, str], _Marks]:
    marks: dict[tuple[str, str], _Marks] = {}
    # Users are no boxes of the structure: their changes are listed in words only.
    for change in (o for o in changeset.objects if o.kind != "user"):
        mark = marks.setdefault((change.kind, change.id), _Marks())
        before = _lookup(change.kind, change.id, previous)
        after = _lookup(change.kind, change.id, current)
        if change.action == "added":
            mark.add(ADDED, "added")
        elif change.action == "removed":
            mark.add(REMOVED, f"removed, {change.detail}")
        elif change.action == "renamed" and before is not None:
            mark.add(RENAMED, f"renamed from {short(before.alias)}")
        elif change.action == "changed" and before is not None and after is not None:
            if _moved(before, after):
                old_org = before.organization_id if isinstance(before, Team) else None
                mark.add(MOVED, f"moved from {_alias(old_org, current, previous)}")
            if before.settings != after.settings:
                mark.add(SETTINGS, "settings changed")
    counts = Counter((m.kind, m.scope_id, m.action) for m in changeset.members)
    for kind, scope_id in dict.fromkeys((m.kind, m.scope_id) for m in changeset.members):
        added, removed = counts[(kind, scope_id, "added")], counts[(kind, scope_id, "removed")]
        roles = counts[(kind, scope_id, "role")]
        note = f"+{added} −{removed} members" + (f", {roles} roles changed" if roles else "")
        mark = marks.setdefault((kind, scope_id), _Marks())
        if ADDED not in mark.styles:  # every member of a new object is new: no news
            mark.add(MEMBERS, note)
    return {key: mark for key, mark in marks.items() if mark.styles}


def _object(
    chart: Chart,
    kind: str,
    found: Scoped,
    notes: tuple[str, ...],
    style: Style | None = None,
    *,
    group: bool = True,
) -> str:
    lines = (short(found.alias), f"{kind} · {'; '.join(notes)}")
    shape: Shape = "organization" if kind == "organization" else "team"
    # Entra allows two groups one name: the chart adds the id to boxes that would look alike.
    node = chart.box(f"{kind}/{found.id}", lines, shape, style, ident=found.id)
    if group:
        source = chart.box(f"group/{found.id}", (short(found.group_name),), "group", ident=found.id)
        chart.link(node, source, dotted=True)
    return node


def _parent(chart: Chart, org_id: str, current: DesiredState, previous: DesiredState) -> str:
    org = _lookup("organization", org_id, current) or _lookup("organization", org_id, previous)
    alias = org.alias if org is not None else org_id
    lines = (short(alias), "organization")
    return chart.box(f"organization/{org_id}", lines, "organization", ident=org_id)


def _alias(org_id: str | None, current: DesiredState, previous: DesiredState) -> str:
    if org_id is None:
        return "no organization"
    org = _lookup("organization", org_id, current) or _lookup("organization", org_id, previous)
    return short(org.alias if org is not None else org_id)


def _moved(before: Scoped, after: Scoped) -> bool:
    return (
        isinstance(before, Team)
        and isinstance(after, Team)
        and before.organization_id != after.organization_id
    )


def _by_alias(teams: tuple[Team, ...]) -> list[Team]:
    return sorted(teams, key=lambda t: (t.alias, t.id))


def _members(scoped: Scoped) -> str:
    count = len(scoped.members)
    return f"{count} member" + ("" if count == 1 else "s")


def _lookup(kind: str, object_id: str, state: DesiredState) -> Scoped | None:
    if kind == "organization":
        return state.organizations_by_id.get(object_id)
    return state.teams_by_id.get(object_id)


def _find(kind: str, object_id: str, current: DesiredState, previous: DesiredState) -> Scoped:
    found = _lookup(kind, object_id, current) or _lookup(kind, object_id, previous)
    assert found is not None, f"{kind} {object_id} changed but is in neither state"
    return found
