"""What a previous run left in the output folder: its files, their format, labels and state.

Reading is cheap on purpose. Labels and forgotten addresses come from a scan of resource
headers; the manifest proves every file is byte for byte what entraform wrote; and the state
is parsed only from the files a run is about to change, since an unchanged file describes
unchanged objects.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator import hcl, manifest
from generator.addresses import Forgotten, Labels
from generator.errors import OutputError
from generator.policy import TERRAFORM, YAML
from generator.render import (
    MOVED_FILE,
    PRUNED_BY_HAND,
    REMOVED_FILE,
    YAML_DATA_FILES,
    is_generated,
)
from generator.state import DesiredState, Membership, Organization, Settings, Team

# Our own resource headers and the id attribute the templates always write first.
_OBJECT = re.compile(
    r'resource "litellm_(organization|team)" "([\w-]+)" \{\n'
    r'  (?:organization|team)_id +=  ?("(?:[^"\\\n]|\\.)*")$',
    re.MULTILINE,
)
_HEADER = 'resource "litellm_'
# Every `from = …` line of removed.tf; people prune this file by hand, and may leave a comment.
_TOMBSTONE = re.compile(r"^\s*from\s*=\s*(.*?)\s*(?:(?:#|//).*)?$", re.MULTILINE)
# libyaml when PyYAML has it: the YAML route's member files are large.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Existing:
    """The generated files in a folder (by digest), the format they are in, and their labels.

    Texts are read again only when needed: for the files a run changes, which is what keeps a
    run over a large, unchanged output small in memory.
    """

    folder: Path
    digests: Mapping[str, str] = field(default_factory=dict)
    labels: Labels = field(default_factory=Labels)
    format: str | None = None
    # False for output of an entraform that wrote no manifest: nothing proves it unedited.
    verified: bool = True
    # The id scheme the files were written with, as the manifest records it.
    ids: str = manifest.DEFAULT_IDS

    def text(self, name: str) -> str:
        """The text of one generated file."""
        return _read(self.folder / name)

    def state(self, names: Collection[str] | None = None) -> DesiredState:
        """The state the named files describe (every file when None); parsed on demand."""
        try:
            if self.format == YAML:
                # An object's YAML is spread over the four data files: read all or none.
                wanted = names is None or set(YAML_DATA_FILES) & set(names)
                return _from_yaml(self._texts(YAML_DATA_FILES)) if wanted else _EMPTY
            chosen = self.digests.keys() if names is None else set(names)
            org_ids = {label: i for i, label in self.labels.organizations.items()}
            objects = sorted(n for n in chosen if _holds_objects(n))
            return _from_terraform(list(self._texts(objects).values()), org_ids)
        except (ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
            raise OutputError(
                f"cannot read the generated files ({exc}); restore them from version control, "
                "or delete them to start afresh"
            ) from exc

    def _texts(self, names: Collection[str]) -> dict[str, str]:
        return {n: self.text(n) for n in names if n in self.digests}


_EMPTY = DesiredState()


def _holds_objects(name: str) -> bool:
    # `moved` and `removed` blocks, provider versions and the manifest describe no object.
    return name.endswith(".tf") and name not in (*PRUNED_BY_HAND, "versions.tf")


def read(out: Path) -> Existing:
    """Read entraform's own files in `out`, refusing any that were changed by hand."""
    written = _read(out / manifest.NAME) if (out / manifest.NAME).is_file() else None
    recorded = None if written is None else _recorded(out, written)
    digests: dict[str, str] = {}
    edited: list[str] = []
    labels = _Labels()
    for name, text in _generated_files(out):
        digests[name] = manifest.digest(text)
        if (
            recorded is not None
            and name not in PRUNED_BY_HAND
            and recorded.get(name) != digests[name]
        ):
            edited.append(name)  # refused below; what a hand edit holds is not read
            continue
        try:
            labels.scan(name, text)
        except ValueError as exc:
            raise OutputError(
                f"{out / name}: {exc}; restore it from version control, or delete it"
            ) from exc
    if edited:
        _refuse_edited(out, edited)
    on_disk = _format(digests)
    verified = recorded is not None or not digests
    ids = manifest.DEFAULT_IDS
    if written is not None:
        digests[manifest.NAME] = manifest.digest(written)
        ids = manifest.ids_of(written)
    return Existing(out, digests, labels.found(), on_disk, verified, ids)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"cannot read {path}: {exc}") from exc


def _recorded(out: Path, text: str) -> dict[str, str]:
    recorded = manifest.loads(text)
    if recorded is None:
        raise OutputError(
            f"{out / manifest.NAME} is not a manifest entraform wrote; restore it from version "
            "control, or delete it (entraform then trusts the generated files as they are)"
        )
    return recorded


def _refuse_edited(out: Path, edited: list[str]) -> None:
    shown = ", ".join(str(out / n) for n in edited)
    raise OutputError(
        f"{shown}: changed since entraform wrote it (it no longer matches "
        f"{manifest.NAME}). entraform does not overwrite hand edits: restore the file "
        "from version control (git checkout -- FILE), or delete it to have it written afresh"
    )


def _format(files: Collection[str]) -> str | None:
    # The YAML route always writes main.tf and its data files; the Terraform route never does.
    if "main.tf" in files or any(name.endswith(".yaml") for name in files):
        return YAML
    return TERRAFORM if set(files) - {MOVED_FILE} else None


class _Labels:
    """Labels and forgotten addresses, gathered file by file as the folder is read."""

    def __init__(self) -> None:
        self.labels: dict[str, dict[str, str]] = {"organization": {}, "team": {}}
        self.tombstones: list[Forgotten] = []

    def scan(self, name: str, text: str) -> None:
        if name == REMOVED_FILE:
            # An address it cannot read would silently lose its block, and Terraform would then
            # destroy what the block forgot: Forgotten.parse refuses it instead.
            self.tombstones += map(Forgotten.parse, _TOMBSTONE.findall(text))
        elif name.endswith(".tf") and name != MOVED_FILE:
            for kind, label, quoted in _headers(text):
                self.labels[kind][hcl.unquote(quoted)] = label

    def found(self) -> Labels:
        return Labels(
            self.labels["organization"], self.labels["team"], tuple(sorted(self.tombstones))
        )


def _headers(text: str) -> Iterator[tuple[str, str, str]]:
    # A plain substring search finds the few headers among half a million member lines
    # several times faster than a line-anchored regular expression.
    start = text.find(_HEADER)
    while start != -1:
        if start == 0 or text[start - 1] == "\n":
            found = _OBJECT.match(text, start)
            if found:
                yield found.group(1), found.group(2), found.group(3)
        start = text.find(_HEADER, start + 1)


def _generated_files(out: Path) -> Iterator[tuple[str, str]]:
    if not out.is_dir():
        return
    for path in sorted(out.iterdir()):
        if not path.is_file() or path.suffix not in (".tf", ".yaml"):
            continue
        text = _read(path)
        if is_generated(text):
            yield path.name, text


def _memberships(entries: Mapping[str, Mapping[str, str]]) -> tuple[Membership, ...]:
    return tuple(
        # A line leaves the user id out where it is the key (the object id).
        sorted(
            Membership(k, v.get("user_id", k), v["user_email"], v["role"])
            for k, v in entries.items()
        )
    )


def _from_yaml(files: Mapping[str, str]) -> DesiredState:
    def section(name: str) -> dict[str, Any]:
        text = files.get(f"{name}.yaml")
        loaded = yaml.load(text, Loader=_YAML_LOADER) if text else None
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


def _from_terraform(texts: list[str], org_ids: Mapping[str, str]) -> DesiredState:
    resources: dict[str, dict[str, hcl.Block]] = {}
    for text in texts:
        for block in hcl.read(text):
            if block.type == "resource":
                resources.setdefault(block.labels[0], {})[block.labels[1]] = block
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
    return DesiredState(
        tuple(sorted(organizations, key=lambda o: o.id)), tuple(sorted(teams, key=lambda t: t.id))
    )


def _of(resources: Mapping[str, Mapping[str, hcl.Block]], kind: str) -> list[tuple[str, hcl.Block]]:
    return sorted(resources.get(kind, {}).items())
