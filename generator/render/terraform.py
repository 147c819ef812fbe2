"""The Terraform format: one resource per object, members in `for_each` maps, one line each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from generator import hcl
from generator.errors import Refusal
from generator.render import templates
from generator.render.addresses import Addresses, chunk
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
    common = {
        "team_labels": labels.teams,
        "member_chunks": _MemberChunks(labels, users=bool(state.users)),
    }
    emptied = not state.organizations and not state.teams
    found = {
        "versions.tf": templates.text("terraform/versions.tf.j2", {"emptied": emptied}, options)
    }
    for org in state.organizations:
        label = labels.organizations[org.id]
        teams = state.teams_by_organization.get(org.id, ())
        context = {**common, "org": org, "label": label, "teams": teams}
        found[organization_file(label)] = templates.text(
            "terraform/organization.tf.j2", context, options
        )
    standalone = state.teams_by_organization.get(None, ())
    if standalone:
        context = {**common, "teams": standalone}
        found[TEAMS_FILE] = templates.text("terraform/teams.tf.j2", context, options)
    if state.users:
        context = {
            **common,
            "users": state.users,
            "users_label": USERS,
            "forget_users": options.forget_users,
        }
        found[USERS_FILE] = templates.text("terraform/users.tf.j2", context, options)
    aligned = {name: hcl.align(text) for name, text in found.items()}
    if labels.tombstones:
        aligned[roots.REMOVED_FILE] = removed_file(labels, options)
    return aligned


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


@dataclass(frozen=True)
class _Chunk:
    """One map resource: its label, `for_each` map body, user id, and the users it waits for."""

    label: str
    lines: str
    user_id: str
    waits: tuple[str, ...] = ()


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
    The hot path of a large tenant, so plain Python. Mapping shares one Membership per user
    and role across every group, so each is quoted once per render, found by identity: the
    state holds every member for the whole render, so no identity is reused meanwhile.
    """

    def __init__(self, labels: Labels, users: bool = False) -> None:
        self.labels = labels
        self.users = users
        self.quoted: dict[tuple[int, bool], tuple[str, str]] = {}
        self.user_chunks: dict[str, str] = {}

    def __call__(self, kind: Kind, label: str, members: Sequence[_Person]) -> list[_Chunk]:
        keyed = all(m.user_id == m.key for m in members)
        user_id = "each.key" if keyed else "each.value.user_id"
        level = self.labels.level(kind, label)
        split: dict[str, list[_Person]] = {name: [] for name in chunk_names(level)}
        for m in by_email(members):
            split[chunk(m.key, level)].append(m)
        quoted = self.quoted
        return [
            _Chunk(
                chunk_label(label, name),
                hcl.entries(
                    [quoted.get((id(m), keyed)) or self._quote(m, keyed) for m in part], "    "
                ),
                user_id,
                self._waits(part) if kind != "user" else (),
            )
            for name, part in split.items()
        ]

    def _waits(self, members: Sequence[_Person]) -> tuple[str, ...]:
        if not self.users or not members:
            return ()
        level = self.labels.level("user", USERS)
        if not level:
            return (f"litellm_user.{USERS}",)
        # A person is in several maps: their chunk is hashed once.
        known = self.user_chunks
        names = {known.get(m.key) or known.setdefault(m.key, chunk(m.key, level)) for m in members}
        return tuple(f"litellm_user.{chunk_label(USERS, n)}" for n in sorted(names))

    def _quote(self, m: _Person, keyed: bool) -> tuple[str, str]:
        user_id = "" if keyed else f"user_id = {hcl.quote(m.user_id)}, "
        value = f"{{ {user_id}user_email = {hcl.quote(m.user_email)}, role = {hcl.quote(m.role)} }}"
        self.quoted[(id(m), keyed)] = (hcl.quote(m.key), value)
        return self.quoted[(id(m), keyed)]
