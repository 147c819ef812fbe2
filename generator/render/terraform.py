"""The Terraform format: one resource per object, members in `for_each` maps, one line each."""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any, NamedTuple, TypeVar, cast

from generator import hcl
from generator.errors import Refusal
from generator.render import fork, templates
from generator.render.addresses import Addresses, chunk, digest
from generator.render.templates import RenderOptions
from generator.state import DesiredState, Kind, LiteLLMUser, Membership
from generator.workspace import roots
from generator.workspace.labels import Labels, chunk_label, chunk_names

NAME = "terraform"
TEAMS_FILE = "teams.tf"
USERS_FILE = "users.tf"
# The resource of the users' map; labels of users and groups end in an id, so none is this.
USERS = "users"
_Person = TypeVar("_Person", Membership, LiteLLMUser)


class TerraformAddresses(Addresses):
    """Each object a resource of its own, labelled; members by object id in their chunk."""

    def organization(self, org_id: str) -> str:
        """The organization resource."""
        return f"litellm_organization.{self.labels.organizations[org_id]}"

    def team(self, team_id: str) -> str:
        """The team resource."""
        return f"litellm_team.{self.labels.teams[team_id]}"

    def member(self, kind: Kind, scope_id: str, key: str) -> str:
        """One membership instance, keyed by the user's object id."""
        labels = self.labels.organizations if kind == "organization" else self.labels.teams
        return self.chunked(kind, labels[scope_id], key, key)

    def user(self, user: LiteLLMUser) -> str:
        """The user instance in its chunk; a resource of its own in a folder written before."""
        if ("user", USERS) not in self.labels.levels:
            return f"litellm_user.{self.labels.users[user.user_id]}"
        name = chunk(user.key, self.labels.level("user", USERS))
        return f"litellm_user.{chunk_label(USERS, name)}[{hcl.quote(user.key)}]"


class Terraform:
    """Terraform for the ncecere/litellm provider, one file per organization."""

    name = NAME

    def refusal(self, layout: str) -> Refusal | None:
        """Every layout suits this format."""
        return None

    def addresses(self, labels: Labels) -> Addresses:
        """Where each object of a state is."""
        return TerraformAddresses(labels)

    def map_sizes(self, state: DesiredState, labels: Labels) -> dict[tuple[Kind, str], int]:
        """Each team's and organization's membership map, by its resource label; the users'."""
        sizes: dict[tuple[Kind, str], int] = (
            {("user", USERS): len(state.users)} if state.users else {}
        )
        for org in state.organizations:
            sizes["organization", labels.organizations[org.id]] = len(org.members)
        for team in state.teams:
            sizes["team", labels.teams[team.id]] = len(team.members)
        return sizes

    def root(
        self, state: DesiredState, labels: Labels, options: RenderOptions, top: bool
    ) -> dict[str, str]:
        """The files of one root module."""
        return files(state, labels, options)

    def forget_note(self, kind: Kind, object_id: str) -> str | None:
        """Nothing to add: a `removed` block forgets what leaves."""
        return None


def files(state: DesiredState, labels: Labels, options: RenderOptions) -> dict[str, str]:
    """One root's Terraform files; a root left with only `removed` blocks in either format."""
    chunks = _MemberChunks(labels, users=bool(state.users))
    # A template's context lives on in reference cycles, and a run leaves the collector off:
    # through a proxy, the lines of every member are freed when this returns.
    common = {"team_labels": labels.teams, "member_chunks": weakref.proxy(chunks)}
    emptied = not state.organizations and not state.teams
    # Each file: its name, template, context and member lines (what it costs to render).
    jobs: list[tuple[str, str, dict[str, Any], int]] = [
        ("versions.tf", "terraform/versions.tf.j2", {"emptied": emptied}, 0)
    ]
    for org in state.organizations:
        label = labels.organizations[org.id]
        teams = state.teams_by_organization.get(org.id, ())
        context = {**common, "org": org, "label": label, "teams": teams}
        lines = len(org.members) + sum(len(t.members) for t in teams)
        jobs.append((organization_file(label), "terraform/organization.tf.j2", context, lines))
    standalone = state.teams_by_organization.get(None, ())
    if standalone:
        context = {**common, "teams": standalone}
        lines = sum(len(t.members) for t in standalone)
        jobs.append((TEAMS_FILE, "terraform/teams.tf.j2", context, lines))
    if state.users:
        context = {
            **common,
            "users": state.users,
            "users_label": USERS,
            "forget_users": options.forget_users,
        }
        jobs.append((USERS_FILE, "terraform/users.tf.j2", context, len(state.users)))

    def rendered(part: Sequence[tuple[str, str, dict[str, Any], int]]) -> dict[str, str]:
        return {
            name: chunks.splice(hcl.align(templates.text(template, context, options)))
            for name, template, context, _ in part
        }

    found = fork.spread(rendered, jobs, [lines for *_, lines in jobs])
    if labels.tombstones:
        found[roots.REMOVED_FILE] = removed_file(labels, options)
    return found


def removed_file(labels: Labels, options: RenderOptions) -> str:
    """The `removed` blocks that forget, without destroying, what a root no longer declares."""
    context = {
        "forgotten": [t for t in labels.tombstones if not t.moved],
        "leaving": any(t.was for t in labels.tombstones),
        "moved": [t for t in labels.tombstones if t.moved],
    }
    return hcl.align(templates.text("terraform/removed.tf.j2", context, options))


def organization_file(label: str) -> str:
    """The file of one organization, with its teams."""
    return f"org_{label}.tf"


def by_email(members: Iterable[_Person]) -> list[_Person]:
    """Members in the order reviewers read them: email without case, then object id."""
    return sorted(members, key=lambda m: (m.user_email.casefold(), m.key))


class _Chunk(NamedTuple):
    """One map resource: its label, a mark for its `for_each` body, user id, users it waits for."""

    label: str
    lines: str
    user_id: str
    waits: tuple[str, ...] = ()


class _Line(NamedTuple):
    """A person's line in a map, worked out once however many maps hold them."""

    order: tuple[str, str]
    digest: str
    width: int
    keyed: bool
    # The whole line in a map keyed by user id whose keys need no padding: nearly every map.
    plain: str
    person: Membership | LiteLLMUser


_ORDER = attrgetter("order")
_WIDTH = attrgetter("width")
_KEYED = attrgetter("keyed")
_PLAIN = attrgetter("plain")
# A line of its own in the templates' output, where nothing else can hold a NUL: text is escaped.
_MARK = re.compile("^\x00([0-9]+)$", re.M)


class _MemberChunks:
    """The map resources of one team, organization or the users: one aligned line per person.

    A large map is split into chunks by a hash of the key (see addresses), every chunk written
    even when empty so that a member joining changes one line, never adds a block. Lines go by
    email (case-insensitive, then object id), the order a reviewer scans in. When every user id
    is its object id, which is the key, the line leaves it out (`each.key`). When users are
    managed, a membership chunk waits (`depends_on`) for the chunks of users its members are
    in (a member in a chunk not named yet adds one): created after them, deleted before them,
    and planned at the cost of an edge per chunk (a reference per line costs each instance a
    look at its user's whole chunk).
    The hot path of a large tenant, so plain Python, and each pass over the members counts:
    mapping shares one Membership per user and role across every group, so its line is worked
    out once, found by identity (the state holds every member for the whole render, so no
    identity is reused meanwhile). The bodies, half a million lines, are aligned and canonical
    as written: the templates print a mark instead, and `splice` puts them in at the end.
    """

    def __init__(self, labels: Labels, users: bool = False) -> None:
        self.labels = labels
        self.users = users
        self.known: dict[int, _Line] = {}
        # Whether every line made so far leaves the user id out, and the key widths met so far.
        self.keyed = True
        self.widths: set[int] = set()
        # A person's order, hash, key width and line up to the role, shared by each role's line.
        self.people: dict[tuple[str, str], tuple[tuple[str, str], str, int, str]] = {}
        self.roles: dict[str, str] = {}
        self.bodies: list[tuple[list[_Line], bool, bool]] = []

    def __call__(self, kind: Kind, label: str, members: Sequence[_Person]) -> list[_Chunk]:
        found = list(map(self.known.get, map(id, members)))
        if None in found:
            found = [line or self._line(m) for line, m in zip(found, members, strict=True)]
        lines = cast("list[_Line]", found)  # every None is made now
        lines.sort(key=_ORDER)
        # Looked at line by line only when some line so far has a user id or another width.
        keyed = self.keyed or all(map(_KEYED, lines))
        # Keys of one length need no padding: object ids from Graph are.
        even = len(self.widths) < 2 or len(set(map(_WIDTH, lines))) < 2
        level = self.labels.level(kind, label)
        split: dict[str, list[_Line]] = {name: [] for name in chunk_names(level)}
        if level:
            for line in lines:
                split[line.digest[:level]].append(line)
        else:
            split[""] = lines
        return [
            _Chunk(
                chunk_label(label, name),
                self._mark(part, keyed, even),
                "each.key" if keyed else "each.value.user_id",
                self._waits(part) if kind != "user" else (),
            )
            for name, part in split.items()
        ]

    def splice(self, text: str) -> str:
        """The rendered text with each map's body in place of its mark."""
        return _MARK.sub(lambda mark: self._body(*self.bodies[int(mark[1])]), text)

    def _mark(self, part: list[_Line], keyed: bool, even: bool) -> str:
        if not part:
            return ""
        self.bodies.append((part, keyed, even))
        return f"\x00{len(self.bodies) - 1}"

    def _body(self, part: list[_Line], keyed: bool, even: bool) -> str:
        if keyed and even:
            return "\n".join(map(_PLAIN, part))
        pairs = [(hcl.quote(n.person.key), _value(n.person, keyed)) for n in part]
        return hcl.entries(pairs, "    ")

    def _waits(self, part: list[_Line]) -> tuple[str, ...]:
        if not self.users or not part:
            return ()
        level = self.labels.level("user", USERS)
        if not level:
            return (f"litellm_user.{USERS}",)
        names = {line.digest[:level] for line in part}
        return tuple(f"litellm_user.{chunk_label(USERS, n)}" for n in sorted(names))

    def _line(self, m: _Person) -> _Line:
        person = self.people.get((m.key, m.user_email))
        if person is None:
            key = hcl.quote(m.key)
            head = f"    {key} = {{ user_email = {hcl.quote(m.user_email)}, role = "
            person = ((m.user_email.casefold(), m.key), digest(m.key), len(key), head)
            self.people[m.key, m.user_email] = person
        order, hashed, width, head = person
        role = self.roles.get(m.role) or self.roles.setdefault(m.role, hcl.quote(m.role))
        keyed = m.user_id == m.key
        self.keyed = self.keyed and keyed
        self.widths.add(width)
        line = _Line(order, hashed, width, keyed, f"{head}{role} }}", m)
        self.known[id(m)] = line
        return line


def _value(m: Membership | LiteLLMUser, keyed: bool) -> str:
    """A line's object: the user id unless it is the key, the email and the role."""
    user_id = "" if keyed else f"user_id = {hcl.quote(m.user_id)}, "
    return f"{{ {user_id}user_email = {hcl.quote(m.user_email)}, role = {hcl.quote(m.role)} }}"
