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

from generator.errors import OutputError
from generator.policy import PER_ORGANIZATION, SINGLE, TERRAFORM, YAML, Layout
from generator.render import (
    MOVED_FILE,
    PRUNED_BY_HAND,
    REMOVED_FILE,
    YAML_DATA_FILES,
    hcl,
    is_generated,
)
from generator.state import DesiredState, Membership, Organization, Settings, Team, User
from generator.workspace import manifest, roots
from generator.workspace.labels import CHUNK_MARK, KINDS, Forgotten, Kind, Labels

# Our own resource headers and the id attribute the templates always write first.
_OBJECT = re.compile(
    r'resource "litellm_(organization|team|user)" "([\w-]+)" \{\n'
    r'  (?:organization|team|user)_id +=  ?("(?:[^"\\\n]|\\.)*")$',
    re.MULTILINE,
)
# Membership resource headers, which carry the chunk level (see addresses) of the map.
_MEMBERS = re.compile(
    r'resource "litellm_(organization|team|user)(?:_member)?" "([\w-]+)" \{$', re.MULTILINE
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

    @property
    def layout(self) -> Layout | None:
        """Where the objects are: in the folder itself, or one folder down (None: no objects)."""
        found = {roots.root_of(n) for n in self.digests if _holds_objects(n)}
        if not found:
            return None
        return SINGLE if found == {roots.TOP} else PER_ORGANIZATION

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
            user_ids = {label: i for i, label in self.labels.users.items()}
            return _from_terraform(list(self._texts(objects).values()), org_ids, user_ids)
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
    base = roots.base_name(name)
    return base.endswith((".tf", ".yaml")) and base not in (*PRUNED_BY_HAND, "versions.tf")


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
            and roots.base_name(name) not in PRUNED_BY_HAND
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
    return TERRAFORM if any(roots.base_name(n) != MOVED_FILE for n in files) else None


class _Labels:
    """Labels and forgotten addresses, gathered file by file as the folder is read."""

    def __init__(self) -> None:
        self.labels: dict[str, dict[str, str]] = {"organization": {}, "team": {}, "user": {}}
        self.tombstones: list[Forgotten] = []
        self.levels: dict[tuple[Kind, str], int] = {}
        self.roots: dict[tuple[Kind, str], str] = {}

    def scan(self, name: str, text: str) -> None:
        base, root = roots.base_name(name), roots.root_of(name)
        if base == REMOVED_FILE:
            # An address it cannot read would silently lose its block, and Terraform would then
            # destroy what the block forgot: Forgotten.parse refuses it instead.
            self.tombstones += (Forgotten.parse(a, root) for a in _TOMBSTONE.findall(text))
        elif base.endswith(".tf") and base not in PRUNED_BY_HAND:
            for found in _headers(text):
                kind: Kind = KINDS[found[1]]
                if found.re is _OBJECT:
                    self.labels[kind][hcl.unquote(found[3])] = found[2]
                    self.roots[kind, found[2]] = root
                else:
                    label, _, chunk = found[2].partition(CHUNK_MARK)
                    self.levels[kind, label] = len(chunk)

    def found(self) -> Labels:
        return Labels(
            self.labels["organization"],
            self.labels["team"],
            tuple(sorted(self.tombstones)),
            levels=self.levels,
            roots=self.roots,
            users=self.labels["user"],
        )


def _headers(text: str) -> Iterator[re.Match[str]]:
    # A plain substring search finds the few headers among half a million member lines
    # several times faster than a line-anchored regular expression.
    start = text.find(_HEADER)
    while start != -1:
        if start == 0 or text[start - 1] == "\n":
            found = _OBJECT.match(text, start) or _MEMBERS.match(text, start)
            if found:
                yield found
        start = text.find(_HEADER, start + 1)


def _generated_files(out: Path) -> Iterator[tuple[str, str]]:
    # The folder itself and the root folders the per-organization layout writes one level
    # down; any other folder (Terraform's .terraform, a backup copy, another tool's) is not ours.
    if not out.is_dir():
        return
    organization = roots.organization_root("")  # the start of every organization's folder
    for path in sorted(out.iterdir()):
        if not path.is_dir():
            yield from _generated(path, path.name)
        elif path.name == roots.STANDALONE or path.name.startswith(organization):
            for inner in sorted(path.iterdir()):
                yield from _generated(inner, f"{path.name}/{inner.name}")


def _generated(path: Path, name: str) -> Iterator[tuple[str, str]]:
    if path.is_file() and path.suffix in (".tf", ".yaml"):
        text = _read(path)
        if is_generated(text):
            yield name, text


def _memberships(
    entries: Mapping[str, Mapping[str, Any]], user_ids: Mapping[str, str] | None = None
) -> tuple[Membership, ...]:
    def user_id(key: str, found: Any) -> str:
        # Left out where it is the key (the object id); a reference to the user's resource
        # where users are managed.
        if found is None:
            return key
        return (user_ids or {})[found.label] if isinstance(found, hcl.Ref) else str(found)

    return tuple(
        sorted(
            Membership(k, user_id(k, v.get("user_id")), v["user_email"], v["role"])
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
    users = (
        User(k, v.get("user_id", k), v["user_email"], v["role"])
        for k, v in section("users").items()
    )
    return DesiredState(
        tuple(sorted(organizations, key=lambda o: o.id)),
        tuple(sorted(teams, key=lambda t: t.id)),
        tuple(sorted(users)),
    )


def _from_terraform(
    texts: list[str], org_ids: Mapping[str, str], user_ids: Mapping[str, str]
) -> DesiredState:
    resources: dict[str, dict[str, hcl.Block]] = {}
    user_keys: dict[str, str] = {}
    for text in texts:
        for block in hcl.read(text):
            if block.type == "resource":
                resources.setdefault(block.labels[0], {})[block.labels[1]] = block
            elif block.type == "locals":
                # users.tf maps each member key to its user's resource, which lacks the key.
                ids = block.attributes.get("litellm_user_ids", {})
                user_keys.update({ref.label: key for key, ref in ids.items()})
    org_members = _chunks_joined(resources, "litellm_organization_member")
    team_members = _chunks_joined(resources, "litellm_team_member")
    organizations = []
    for label, block in _of(resources, "litellm_organization"):
        a = block.attributes
        members = _memberships(org_members.get(label, {}), user_ids)
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
        members = _memberships(team_members.get(label, {}), user_ids)
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
        tuple(sorted(organizations, key=lambda o: o.id)),
        tuple(sorted(teams, key=lambda t: t.id)),
        _users(resources, user_keys),
    )


def _chunks_joined(
    resources: Mapping[str, Mapping[str, hcl.Block]], kind: str
) -> dict[str, dict[str, Any]]:
    joined: dict[str, dict[str, Any]] = {}
    for label, block in _of(resources, kind):
        joined.setdefault(label.partition(CHUNK_MARK)[0], {}).update(block.attributes["for_each"])
    return joined


def _users(
    resources: Mapping[str, Mapping[str, hcl.Block]], keys: Mapping[str, str]
) -> tuple[User, ...]:
    found = (
        User(
            keys[label],
            b.attributes["user_id"],
            b.attributes["user_email"],
            b.attributes["user_role"],
        )
        for label, b in _of(resources, "litellm_user")
    )
    return tuple(sorted(found))


def _of(resources: Mapping[str, Mapping[str, hcl.Block]], kind: str) -> list[tuple[str, hcl.Block]]:
    return sorted(resources.get(kind, {}).items())
