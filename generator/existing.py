"""What a previous run left in the output folder: its files, desired state and labels."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator import hcl
from generator.errors import OutputError
from generator.render import MOVED_FILE, TERRAFORM, YAML, Labels, is_generated
from generator.state import DesiredState, Membership, Organization, Settings, Team


@dataclass(frozen=True)
class Existing:
    """The generated files on disk, the format they are in, and the state they describe."""

    files: Mapping[str, str] = field(default_factory=dict)
    state: DesiredState = field(default_factory=DesiredState)
    labels: Labels = field(default_factory=Labels)
    format: str | None = None


def read(out: Path) -> Existing:
    """Read entraform's own files in `out`, in whichever format they are; others are left alone."""
    files = dict(_generated_files(out))
    on_disk = _format(files)
    try:
        if on_disk == YAML:
            state, labels = _from_yaml(files), Labels(tombstones=_tombstones(files))
        else:
            state, labels = _from_terraform(files)
    except (ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        raise OutputError(
            f"cannot read the generated files in {out} ({exc}); were they edited by hand? "
            "Restore them from version control, or delete them to start afresh"
        ) from exc
    return Existing(files, state, labels, on_disk)


def _format(files: Mapping[str, str]) -> str | None:
    # The YAML route always writes main.tf and its data files; the Terraform route never does.
    if "main.tf" in files or any(name.endswith(".yaml") for name in files):
        return YAML
    return TERRAFORM if set(files) - {MOVED_FILE} else None


def _tombstones(files: Mapping[str, str]) -> tuple[str, ...]:
    text = files.get("removed.tf", "")
    return tuple(sorted(b.attributes["from"].path for b in hcl.read(text) if b.type == "removed"))


def _generated_files(out: Path) -> Iterator[tuple[str, str]]:
    if not out.is_dir():
        return
    for path in sorted(out.iterdir()):
        if not path.is_file() or path.suffix not in (".tf", ".yaml"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise OutputError(f"cannot read {path}: {exc}") from exc
        if is_generated(text):
            yield path.name, text


def _memberships(entries: Mapping[str, Mapping[str, str]]) -> tuple[Membership, ...]:
    return tuple(
        sorted(Membership(k, v["user_id"], v["user_email"], v["role"]) for k, v in entries.items())
    )


def _from_yaml(files: Mapping[str, str]) -> DesiredState:
    def section(name: str) -> dict[str, Any]:
        text = files.get(f"{name}.yaml")
        loaded = yaml.safe_load(text) if text else None
        return (loaded or {}).get(name) or {}

    org_members = section("organization_members")
    team_members = section("team_members")
    organizations = [
        Organization(
            i,
            d["alias"],
            d["alias"],
            Settings.from_mapping(d),
            _memberships(org_members.get(i, {})),
        )
        for i, d in section("organizations").items()
    ]
    teams = [
        Team(
            i,
            d["alias"],
            d["alias"],
            d.get("organization_id"),
            Settings.from_mapping(d),
            _memberships(team_members.get(i, {})),
        )
        for i, d in section("teams").items()
    ]
    return DesiredState(
        tuple(sorted(organizations, key=lambda o: o.id)), tuple(sorted(teams, key=lambda t: t.id))
    )


def _from_terraform(files: Mapping[str, str]) -> tuple[DesiredState, Labels]:
    resources: dict[str, dict[str, hcl.Block]] = {}
    tombstones: list[str] = []
    for name, text in files.items():
        if name == MOVED_FILE:  # its addresses are indexed references, not ours to read back
            continue
        for block in hcl.read(text):
            if block.type == "resource":
                resources.setdefault(block.labels[0], {})[block.labels[1]] = block
            elif block.type == "removed":
                tombstones.append(block.attributes["from"].path)
    org_labels = {
        b.attributes["organization_id"]: lbl for lbl, b in _of(resources, "litellm_organization")
    }
    team_labels = {b.attributes["team_id"]: lbl for lbl, b in _of(resources, "litellm_team")}
    org_ids = {lbl: i for i, lbl in org_labels.items()}
    org_members = {
        lbl: b.attributes["for_each"] for lbl, b in _of(resources, "litellm_organization_member")
    }
    team_members = {
        lbl: b.attributes["for_each"] for lbl, b in _of(resources, "litellm_team_member")
    }
    organizations = []
    for label, block in _of(resources, "litellm_organization"):
        a = block.attributes
        members = _memberships(org_members.get(label, {}))
        organizations.append(
            Organization(
                a["organization_id"],
                a["organization_alias"],
                a["organization_alias"],
                Settings.from_mapping(a),
                members,
            )
        )
    teams = []
    for label, block in _of(resources, "litellm_team"):
        a = block.attributes
        org_ref = a.get("organization_id")
        org_id = org_ids[org_ref.label] if isinstance(org_ref, hcl.Ref) else org_ref
        members = _memberships(team_members.get(label, {}))
        teams.append(
            Team(
                a["team_id"],
                a["team_alias"],
                a["team_alias"],
                org_id,
                Settings.from_mapping(a),
                members,
            )
        )
    state = DesiredState(
        tuple(sorted(organizations, key=lambda o: o.id)), tuple(sorted(teams, key=lambda t: t.id))
    )
    return state, Labels(org_labels, team_labels, tuple(sorted(tombstones)))


def _of(resources: Mapping[str, Mapping[str, hcl.Block]], kind: str) -> list[tuple[str, hcl.Block]]:
    return sorted(resources.get(kind, {}).items())
