"""The map of the whole structure (`entraform map`): Mermaid diagrams in Markdown."""

from __future__ import annotations

from generator.render.templates import visible
from generator.report import diagram
from generator.report.markdown import code, fenced
from generator.report.mermaid import MAX_BOXES, Chart
from generator.state import DesiredState, Team
from generator.workspace.folder import GENERATED


def structure(state: DesiredState, regenerate: str) -> str:
    """Return the map: one Mermaid diagram per organization, one for the standalone teams."""
    # One line of an HTML comment, which `-->` would end.
    command = visible(regenerate).replace("-->", "- ->")
    standalone = state.teams_by_organization.get(None, ())
    lines = [
        f"<!-- {GENERATED} from Microsoft Entra ID groups. Do not edit: the next run "
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
        lines += [f"## Organization {code(org.alias)} ({org.id})", ""]
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
        return [*fenced(text), ""]
    ordered = sorted(teams, key=lambda t: (t.alias, t.id))
    rows = [f"- {code(t.alias)} ({t.id}): {len(t.members)} member(s)" for t in ordered]
    return [
        f"Too large for one diagram ({chart.boxes} boxes, at most {MAX_BOXES}); its teams:",
        "",
        *rows,
        "",
    ]
