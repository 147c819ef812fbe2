"""The manifest: everything the last run wrote, so that the next run reads nothing else back.

It records the format, layout and id scheme, a digest of every file (a hand edit is caught
exactly), each object as it was rendered with its label and root, the chunk level of each
membership map, and the `moved`, `import` and `removed` blocks still waiting for an apply.
One member is one line, so a membership change is one changed line here too (a role change,
two: members are listed by role).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from json.encoder import encode_basestring
from operator import attrgetter
from typing import Any, TypeVar

from generator.state import (
    DesiredState,
    Kind,
    LiteLLMUser,
    Membership,
    Organization,
    Settings,
    Team,
)
from generator.workspace import shape
from generator.workspace.blocks import Import, Move
from generator.workspace.labels import KINDS, Forgotten, Labels

NAME = "entraform-manifest.json"
VERSION = 2
DEFAULT_IDS = "group_id"
Item = TypeVar("Item")
_NOTE = "entraform: do not edit; it records what the last run wrote"
_ESCAPED = re.compile(r'["\\\x00-\x1f]')  # what JSON escapes when it keeps the rest as it is


@dataclass(frozen=True)
class Manifest:
    """What one run wrote into the output folder."""

    format: str
    layout: str
    ids: str = DEFAULT_IDS
    # Digest of every file written, by path relative to the output folder.
    files: Mapping[str, str] = field(default_factory=dict)
    state: DesiredState = field(default_factory=DesiredState)
    labels: Labels = field(default_factory=Labels)
    # Blocks still waiting for an apply, by root.
    moves: Mapping[str, tuple[Move, ...]] = field(default_factory=dict)
    imports: Mapping[str, tuple[Import, ...]] = field(default_factory=dict)


def digest(text: str) -> str:
    """The SHA-256 of a file's text as written (UTF-8)."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def version(text: str) -> int | None:
    """The version a manifest says it is in; None when the text is not a manifest of ours."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    found = data.get("version") if isinstance(data, dict) else None
    return found if isinstance(found, int) and "files" in data else None


def v1_files(text: str) -> dict[str, str] | None:
    """The file digests a version 1 manifest (entraform 0.1) records; None when unreadable."""
    try:
        found = json.loads(text)["files"]
    except (ValueError, KeyError, TypeError):
        return None
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else None


def dumps(manifest: Manifest, bulk: Sequence[str] | None = None) -> str:
    """The manifest's text: sorted, one file, member, user and block per line.

    `bulk`: what `bulk_of` returns for its state and labels, when written already.
    """
    labels = manifest.labels
    head = {
        "generated_by": _NOTE,
        "version": VERSION,
        "format": manifest.format,
        "layout": manifest.layout,
        "ids": manifest.ids,
    }
    # Pieces of one text, joined once: the members of a large tenant make tens of megabytes.
    out = ["{\n", *(f"  {_json(k)}: {_json(v)},\n" for k, v in head.items())]
    out += ['  "files": ', _lines(manifest.files), ",\n  "]
    out += bulk_of(manifest.state, labels) if bulk is None else bulk
    forgotten = _by_root((t.root, t.recorded) for t in labels.tombstones if not t.moved)
    out += [',\n  "forgotten": ', *_objects((r, _json(_sorted(a))) for r, a in forgotten)]
    if moved_away := _by_root((t.root, t.recorded) for t in labels.tombstones if t.moved):
        out += [',\n  "moved_away": ', *_objects((r, _json(_sorted(a))) for r, a in moved_away)]
    moves = (
        (r, [[m.source, m.target, m.kind] for m in found])
        for r, found in sorted(manifest.moves.items())
        if found
    )
    out += [',\n  "moves": ', *_objects((r, _json(found)) for r, found in moves)]
    imports = (
        (r, [[i.address, i.id, i.kind] for i in found])
        for r, found in sorted(manifest.imports.items())
        if found
    )
    out += [',\n  "imports": ', *_objects((r, _json(found)) for r, found in imports), "\n}\n"]
    return "".join(out)


def bulk_of(state: DesiredState, labels: Labels) -> list[str]:
    """The pieces of the bulk of a manifest: objects, people and chunk levels, from these two."""
    emails, user_ids = _people(state)
    plain = not _ESCAPED.search("".join(emails.keys()))  # every member's key: any to escape?
    out = ['"organizations": ']
    out += _objects(_object(o, labels, "organization", plain) for o in state.organizations)
    out += [',\n  "teams": ', *_objects(_object(t, labels, "team", plain) for t in state.teams)]
    users = ((u.key, {"label": labels.users[u.user_id], "role": u.role}) for u in state.users)
    out += [',\n  "users": ', *_objects((key, _json(value)) for key, value in users)]
    out += [',\n  "emails": ', _lines(emails), ',\n  "user_ids": ', _lines(user_ids)]
    levels = ((kind, _lines(found, 6, 4)) for kind, found in _levels(labels).items())
    out += [',\n  "levels": ', *_objects(levels)]
    return out


def _people(state: DesiredState) -> tuple[dict[str, str], dict[str, str]]:
    """Each person's email, and their user id where it is not their key."""
    # Mapping shares one Membership per person and role: each distinct one is read once.
    every = list(state.memberships())
    people: dict[str, Membership | LiteLLMUser] = {
        m.key: m for m in dict(zip(map(id, every), every, strict=True)).values()
    }
    people |= {u.key: u for u in state.users}
    emails = {key: p.user_email for key, p in people.items()}
    return emails, {key: p.user_id for key, p in people.items() if p.user_id != key}


def loads(text: str, known: Iterable[Membership] = ()) -> Manifest:
    """Read a manifest of this version; ValueError says what is wrong with any other text.

    A member equal to one of `known` is that very object: two states that share them compare
    by identity, which matters when each holds half a million.
    """
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"not a version {VERSION} manifest")
        return _manifest(data, known)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"unreadable: {exc!r}") from exc


def _manifest(data: dict[str, Any], known: Iterable[Membership]) -> Manifest:
    shape.check(data)
    emails: dict[str, str] = data["emails"]
    user_ids: dict[str, str] = data["user_ids"]
    # One Membership per person and role, as the mapping makes them: a large tenant has half a
    # million memberships and a fraction of that in people. The known ones are the mapping's
    # own objects, shared already: each distinct object is looked at once.
    shared: dict[str, dict[str, Membership]] = {}
    for m in {id(m): m for m in known}.values():
        if m.user_id == user_ids.get(m.key, m.key) and m.user_email == emails.get(m.key):
            shared.setdefault(m.role, {})[m.key] = m

    def members(roster: Mapping[str, list[str]]) -> tuple[Membership, ...]:
        found: list[Membership] = []
        for role, keys in roster.items():
            pool = shared.setdefault(role, {})
            get = pool.get
            for key in keys:
                member = get(key)
                if member is None:
                    member = pool[key] = Membership(key, user_ids.get(key, key), emails[key], role)
                found.append(member)
        # Each role's keys are sorted; only members of several roles need merging.
        return tuple(found) if len(roster) < 2 else tuple(sorted(found))

    organizations, teams = data["organizations"], data["teams"]
    users = data["users"]
    state = DesiredState(
        tuple(
            Organization(i, o["alias"], o["group"], _settings(o), members(o["members"]))
            for i, o in sorted(organizations.items())
        ),
        tuple(
            Team(i, t["alias"], t["group"], t["organization"], _settings(t), members(t["members"]))
            for i, t in sorted(teams.items())
        ),
        tuple(
            sorted(
                LiteLLMUser(k, user_ids.get(k, k), emails[k], u["role"]) for k, u in users.items()
            )
        ),
    )
    roots: dict[tuple[Kind, str], str] = {}
    for kind, objects in (("organization", organizations), ("team", teams)):
        roots |= {(KINDS[kind], o["label"]): o["root"] for o in objects.values() if o.get("root")}
    labels = Labels(
        {i: o["label"] for i, o in organizations.items()},
        {i: t["label"] for i, t in teams.items()},
        tuple(sorted(_tombstones(data["forgotten"]) + _tombstones(data.get("moved_away"), True))),
        levels={(KINDS[k], label): n for k, v in data["levels"].items() for label, n in v.items()},
        roots=roots,
        users={user_ids.get(k, k): u["label"] for k, u in users.items()},
    )
    return Manifest(
        data["format"],
        data["layout"],
        data["ids"],
        {str(k): str(v) for k, v in data["files"].items()},
        state,
        labels,
        {r: tuple(Move(*m) for m in found) for r, found in data["moves"].items()},
        {r: tuple(Import(*i) for i in found) for r, found in data["imports"].items()},
    )


def _object(scope: Organization | Team, labels: Labels, kind: Kind, plain: bool) -> tuple[str, str]:
    label = labels.organizations[scope.id] if kind == "organization" else labels.teams[scope.id]
    fields: dict[str, Any] = {"label": label, "alias": scope.alias, "group": scope.group_name}
    if root := labels.roots.get((kind, label)):
        fields["root"] = root
    if isinstance(scope, Team):
        fields["organization"] = scope.organization_id
    fields["settings"] = scope.settings.as_dict()
    return scope.id, _json(fields)[:-1] + f', "members": {_roster(scope.members, plain)}}}'


def _roster(members: Sequence[Membership], plain: bool) -> str:
    """Member keys by role, one per line as JSON; `plain`: none to escape, so joined as they are."""
    roles = sorted(set(map(attrgetter("role"), members)))
    rows = []
    for role in roles:
        chosen = members if len(roles) == 1 else [m for m in members if m.role == role]
        keys = sorted(map(attrgetter("key"), chosen))
        listed = (
            '"' + '",\n        "'.join(keys) + '"'
            if plain
            else ",\n        ".join(map(encode_basestring, keys))
        )
        rows.append(f"      {_json(role)}: [\n        {listed}\n      ]")
    return "{\n" + ",\n".join(rows) + "\n    }" if rows else "{}"


def _settings(found: Mapping[str, Any]) -> Settings:
    return Settings.from_mapping(found["settings"])


def _sorted(recorded: list[Any]) -> list[Any]:
    """Tombstones by address, each recorded as its address or [address, instance]."""
    return sorted(recorded, key=lambda r: r if isinstance(r, str) else r[0])


def _tombstones(
    by_root: Mapping[str, list[str | list[str]]] | None, moved: bool = False
) -> list[Forgotten]:
    found = [Forgotten.parse(a, r) for r, addresses in (by_root or {}).items() for a in addresses]
    return [replace(f, moved=True) for f in found] if moved else found


def _levels(labels: Labels) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for (kind, label), level in labels.levels.items():
        found.setdefault(kind, {})[label] = level
    return found


def _by_root(pairs: Iterable[tuple[str, Item]]) -> list[tuple[str, list[Item]]]:
    grouped: dict[str, list[Item]] = {}
    for root, item in pairs:
        grouped.setdefault(root, []).append(item)
    return sorted(grouped.items())


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _lines(entries: Mapping[str, Any], inner: int = 4, outer: int = 2) -> str:
    """A JSON object of plain values, one entry per line, written by the C encoder."""
    if not entries:
        return "{}"
    separators = (",\n" + " " * inner, ": ")
    body = json.dumps(entries, ensure_ascii=False, sort_keys=True, separators=separators)
    return "{\n" + " " * inner + body[1:-1] + "\n" + " " * outer + "}"


def _objects(entries: Iterable[tuple[str, str]]) -> list[str]:
    """The pieces of a JSON object whose values are JSON texts already, one entry per line."""
    rows = [f"    {_json(key)}: {text}" for key, text in sorted(entries)]
    return ["{\n", ",\n".join(rows), "\n  }"] if rows else ["{}"]
