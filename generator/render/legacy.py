"""A folder an earlier release wrote (manifest version 1, or none): read once, by real parsers.

Such a folder's manifest records only file digests, so the objects, labels, chunk levels and
pending blocks come from the files: HCL through python-hcl2, YAML through PyYAML. The run that
reads them writes a version 2 manifest, and no later run reads them back. A group's name was
never written, so it comes back as the alias until the next run records it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from generator.errors import OutputError
from generator.policy.ids import Ids
from generator.render import hclread
from generator.render import yaml as yaml_format
from generator.render.terraform import NAME as TERRAFORM
from generator.state import (
    DesiredState,
    Kind,
    LiteLLMUser,
    Membership,
    Organization,
    Settings,
    Team,
)
from generator.workspace import manifest, roots
from generator.workspace.blocks import Import, Move
from generator.workspace.labels import CHUNK_MARK, KINDS, Forgotten, Labels, allocate
from generator.workspace.manifest import Manifest

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OBJECTS = {"litellm_organization": "organization", "litellm_team": "team"}


def read(out: Path, digests: Mapping[str, str], v1: str | None) -> Manifest:
    """The manifest an earlier release would have written for the files of ours in `out`."""
    from lark.exceptions import LarkError  # what python-hcl2's parser raises

    try:
        ids = v1_ids(v1) if v1 else manifest.DEFAULT_IDS
        Ids.parse(ids)  # a scheme this release does not know is a ValueError here, not later
        return _Folder(out, digests).manifest(ids)
    except (
        ImportError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        OSError,
        yaml.YAMLError,
        LarkError,
    ) as exc:
        raise OutputError(
            f"cannot read the files an earlier entraform wrote in {out} ({exc!r}); restore them "
            "from version control, or delete them to start afresh"
        ) from exc


def v1_ids(text: str) -> str:
    """The id scheme a version 1 manifest records (the default when it records none)."""
    try:
        found = json.loads(text).get("ids")
    except (ValueError, AttributeError):
        return manifest.DEFAULT_IDS
    return found if isinstance(found, str) else manifest.DEFAULT_IDS


class _Folder:
    """The files of one folder, parsed as Terraform and YAML read them."""

    def __init__(self, out: Path, digests: Mapping[str, str]) -> None:
        import hcl2  # only an upgrade from an earlier release parses HCL

        self.digests = digests
        self.yaml = "main.tf" in digests or any(n.endswith(".yaml") for n in digests)
        self.parsed = {
            name: hcl2.loads((out / name).read_text(encoding="utf-8"))
            for name in digests
            if name.endswith(".tf")
        }
        self.texts = {
            name: (out / name).read_text(encoding="utf-8")
            for name in digests
            if name.endswith(".yaml")
        }

    def manifest(self, ids: str) -> Manifest:
        labels: dict[str, dict[str, str]] = {"organization": {}, "team": {}, "user": {}}
        found_roots: dict[tuple[Kind, str], str] = {}
        levels: dict[tuple[Kind, str], int] = {}
        tombstones: list[Forgotten] = []
        moves: dict[str, list[Move]] = {}
        imports: dict[str, list[Import]] = {}
        for name, parsed in self.parsed.items():
            root = roots.root_of(name)
            for kind, label, attributes in hclread.resources(parsed):
                if kind in _OBJECTS and not self.yaml:
                    key = KINDS[_OBJECTS[kind]]
                    labels[key][hclread.text(attributes[f"{key}_id"])] = label
                    found_roots[key, label] = root
                mapped = "for_each" in attributes
                if kind == "litellm_user" and not mapped:
                    labels["user"][hclread.text(attributes["user_id"])] = label  # a resource each
                if kind.endswith("_member") or (kind == "litellm_user" and mapped):
                    scope = KINDS[kind.removeprefix("litellm_").removesuffix("_member")]
                    base, _, chunk = label.partition(CHUNK_MARK)
                    levels[scope, base] = len(chunk)
            forgets = [hclread.address(b["from"]) for b in hclread.blocks(parsed, "removed")]
            found = [
                Move(hclread.address(b["from"]), hclread.address(b["to"]))
                for b in hclread.blocks(parsed, "moved")
            ]
            # A move to what a removed block forgets is how a user leaves their map.
            leaving = {m.target: m.source for m in found if m.target in forgets}
            tombstones += (
                Forgotten.parse([a, leaving[a]] if a in leaving else a, root) for a in forgets
            )
            moves.setdefault(root, []).extend(m for m in found if m.target not in leaving)
            imports.setdefault(root, []).extend(
                Import(hclread.address(b["to"]), hclread.text(b["id"]))
                for b in hclread.blocks(parsed, "import")
            )
        state = self._yaml_state() if self.yaml else self._terraform_state(labels)
        # Users in maps have no label in the files: the one a run gives them names a forgotten
        # user's own resource, so each needs one, as the run that wrote the files had.
        reserved = [t.label for t in tombstones]
        in_maps = (
            (u.user_id, u.user_email) for u in state.users if u.user_id not in labels["user"]
        )
        labels["user"] |= allocate(in_maps, labels["user"], reserved)
        held = {roots.root_of(n) for n in self.digests if _holds_objects(n)}
        return Manifest(
            yaml_format.NAME if self.yaml else TERRAFORM,
            roots.SINGLE if held <= {roots.TOP} else roots.PER_ORGANIZATION,
            ids,
            dict(self.digests),
            state,
            Labels(
                labels["organization"],
                labels["team"],
                tuple(sorted(tombstones)),
                levels=levels,
                roots={at: root for at, root in found_roots.items() if root},
                users=labels["user"],
            ),
            {r: tuple(found) for r, found in moves.items() if found},
            {r: tuple(found) for r, found in imports.items() if found},
        )

    def _terraform_state(self, labels: Mapping[str, Mapping[str, str]]) -> DesiredState:
        resources: dict[str, dict[str, dict[str, Any]]] = {}
        user_keys: dict[str, str] = {}
        for parsed in self.parsed.values():
            for kind, label, attributes in hclread.resources(parsed):
                resources.setdefault(kind, {})[label] = attributes
            for block in hclread.blocks(parsed, "locals"):
                # users.tf maps each member key to its user's resource, which lacks the key.
                found = block.get("litellm_user_ids", {})
                user_keys |= {
                    hclread.label_in(ref): hclread.text(key) for key, ref in found.items()
                }
        org_ids = {label: i for i, label in labels["organization"].items()}
        user_ids = {label: i for i, label in labels["user"].items()}

        def members(kind: str, label: str) -> tuple[Membership, ...]:
            entries: dict[str, Any] = {}
            for chunk_label, attributes in resources.get(kind, {}).items():
                if chunk_label.partition(CHUNK_MARK)[0] == label:
                    entries |= attributes["for_each"]
            return _memberships(_entries(entries), user_ids)

        organizations = [
            Organization(
                hclread.text(a["organization_id"]),
                hclread.text(a["organization_alias"]),
                hclread.text(a["organization_alias"]),
                hclread.settings(a),
                members("litellm_organization_member", label),
            )
            for label, a in resources.get("litellm_organization", {}).items()
        ]
        teams = []
        for label, a in resources.get("litellm_team", {}).items():
            parent = a.get("organization_id")
            teams.append(
                Team(
                    hclread.text(a["team_id"]),
                    hclread.text(a["team_alias"]),
                    hclread.text(a["team_alias"]),
                    None if parent is None else org_ids[hclread.label_in(parent)],
                    hclread.settings(a),
                    members("litellm_team_member", label),
                )
            )
        users = [
            LiteLLMUser(
                user_keys[label],
                hclread.text(a["user_id"]),
                hclread.text(a["user_email"]),
                hclread.text(a["user_role"]),
            )
            for label, a in resources.get("litellm_user", {}).items()
            if "for_each" not in a
        ]
        maps = (
            a["for_each"] for a in resources.get("litellm_user", {}).values() if "for_each" in a
        )
        users += [u for found in maps for u in _users(found)]
        return DesiredState(
            tuple(sorted(organizations, key=lambda o: o.id)),
            tuple(sorted(teams, key=lambda t: t.id)),
            tuple(sorted(users)),
        )

    def _yaml_state(self) -> DesiredState:
        def section(name: str) -> dict[str, Any]:
            text = self.texts.get(f"{name}.yaml")
            loaded = yaml.load(text, Loader=_LOADER) if text else None
            return (loaded or {}).get(name) or {}

        org_members, team_members = section("organization_members"), section("team_members")
        organizations = [
            Organization(
                i,
                d["alias"],
                d["alias"],
                Settings.from_mapping(d),
                _members(org_members.get(i, {})),
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
                _members(team_members.get(i, {})),
            )
            for i, d in section("teams").items()
        ]
        users = _users(section("users"))
        return DesiredState(
            tuple(sorted(organizations, key=lambda o: o.id)),
            tuple(sorted(teams, key=lambda t: t.id)),
            tuple(sorted(users)),
        )


def _entries(found: Mapping[str, Any]) -> list[tuple[str, Any, Any, Any]]:
    """The lines of a `for_each` map of people: key, user id if written, email and role."""
    return [
        (hclread.text(k), v.get("user_id"), v["user_email"], v["role"]) for k, v in found.items()
    ]


def _users(found: Mapping[str, Any]) -> list[LiteLLMUser]:
    """The users of a map keyed by object id, read as the members of a map are."""
    return [LiteLLMUser(m.key, m.user_id, m.user_email, m.role) for m in _members(found)]


def _members(found: Mapping[str, Any]) -> tuple[Membership, ...]:
    """The members of a map, whose lines write a user id only where it is not the key."""
    return _memberships(_entries(found), {})


def _memberships(
    entries: Iterable[tuple[str, Any, Any, Any]], user_ids: Mapping[str, str]
) -> tuple[Membership, ...]:
    def user_id(key: str, found: Any) -> str:
        # Left out where it is the key; a reference to the user's resource where users are managed.
        if found is None:
            return key
        text = str(found)
        return user_ids[hclread.label_in(text)] if text.startswith("${") else hclread.text(text)

    return tuple(
        sorted(
            Membership(k, user_id(k, i), hclread.text(e), hclread.text(r)) for k, i, e, r in entries
        )
    )


def _holds_objects(name: str) -> bool:
    # `moved` and `removed` blocks, provider versions and the manifest describe no object.
    base = roots.base_name(name)
    return base.endswith((".tf", ".yaml")) and base not in (*roots.PRUNED_BY_HAND, "versions.tf")
