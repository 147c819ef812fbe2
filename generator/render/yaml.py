"""The YAML format: the objects as data files, and one main.tf that reads them with yamldecode."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator import hcl
from generator.errors import EXIT_USAGE, Refusal
from generator.render import templates, terraform, yamltext
from generator.render.addresses import Addresses, chunk
from generator.render.templates import RenderOptions
from generator.state import DesiredState, Kind, LiteLLMUser, Membership, Settings
from generator.workspace import roots
from generator.workspace.labels import Labels, chunk_label, chunk_names

NAME = "yaml"
# The resources of this format: one set for the whole tenant.
LABEL = "this"
_KINDS: tuple[Kind, ...] = ("organization", "team", "user")


class YamlAddresses(Addresses):
    """Tenant-wide resources keyed by object id; members by `scope/user` in their chunk."""

    def organization(self, org_id: str) -> str:
        """The organization instance."""
        return f"litellm_organization.{LABEL}[{hcl.quote(org_id)}]"

    def team(self, team_id: str) -> str:
        """The team instance."""
        return f"litellm_team.{LABEL}[{hcl.quote(team_id)}]"

    def member(self, kind: Kind, scope_id: str, key: str) -> str:
        """One membership instance: a chunk holds only its users' chunk."""
        return self.chunked(kind, LABEL, f"{scope_id}/{key}", key)

    def user(self, user: LiteLLMUser) -> str:
        """The user instance, in its chunk."""
        name = chunk(user.key, self.labels.level("user", LABEL))
        return f"litellm_user.{chunk_label(LABEL, name)}[{hcl.quote(user.key)}]"


class Yaml:
    """YAML data files beside one main.tf, for people who review data rather than HCL."""

    name = NAME

    def refusal(self, layout: str) -> Refusal | None:
        """One root only: shared resources cannot hand an instance to another root."""
        if layout == roots.SINGLE:
            return None
        return Refusal(
            f"output.layout {layout} needs format terraform: the YAML route keeps a root's "
            "objects in shared resources, and Terraform cannot hand one instance of a resource "
            "from one root module to another",
            exit_code=EXIT_USAGE,
        )

    def addresses(self, labels: Labels) -> Addresses:
        """Where each object of a state is."""
        return YamlAddresses(labels)

    def map_sizes(self, state: DesiredState, labels: Labels) -> dict[tuple[Kind, str], int]:
        """The three tenant-wide maps: organization members, team members, users."""
        return {
            ("organization", LABEL): sum(len(o.members) for o in state.organizations),
            ("team", LABEL): sum(len(t.members) for t in state.teams),
            ("user", LABEL): len(state.users),
        }

    def root(
        self, state: DesiredState, labels: Labels, options: RenderOptions, top: bool
    ) -> dict[str, str]:
        """The data files and main.tf; another root holds only `removed` blocks, in Terraform."""
        return files(state, labels, options) if top else terraform.files(state, labels, options)

    def forget_note(self, kind: Kind, object_id: str) -> str | None:
        """An organization: prevent_destroy stops the plan, and `terraform state rm` forgets.

        A user is moved out of their map and forgotten by removed.tf, as in Terraform.
        """
        if kind == "user":
            return None
        return (
            "it is protected by prevent_destroy, so terraform plan stops; forget it with "
            "`terraform state rm` (it then stays in LiteLLM)"
        )


def files(state: DesiredState, labels: Labels, options: RenderOptions) -> dict[str, str]:
    """The data files and the main.tf that reads them."""
    data: dict[str, dict[str, Any]] = {
        "organizations": {o.id: _object(o.alias, None, o.settings) for o in state.organizations},
        "teams": {t.id: _object(t.alias, t.organization_id, t.settings) for t in state.teams},
        "organization_members": {
            o.id: _commented(_members(o.members), "Organization", o.alias)
            for o in state.organizations
        },
        "team_members": {
            t.id: _commented(_members(t.members), "Team", t.alias) for t in state.teams
        },
    }
    if state.users:
        data["users"] = yamltext.Ordered(
            (u.key, yamltext.Flow(_fields(u))) for u in terraform.by_email(state.users)
        )
    found = {
        f"{name}.yaml": templates.text("yaml/data.yaml.j2", {"data": {name: value}}, options)
        for name, value in data.items()
    }
    levels = {kind: labels.level(kind, LABEL) for kind in _KINDS}
    users = levels["user"] if state.users else None
    chunks = {
        kind: [
            (chunk_label(LABEL, n), n, user_chunks(n, levels[kind], users))
            for n in chunk_names(levels[kind])
        ]
        for kind in _KINDS
    }
    context: dict[str, Any] = {
        "forget_organizations": options.forget_organizations,
        "forget_teams": options.forget_teams,
        "forget_users": options.forget_users,
        "users": bool(state.users),
        "settings": Settings.names(),
        "levels": levels,
        "chunks": chunks,
    }
    found["main.tf"] = hcl.align(templates.text("yaml/main.tf.j2", context, options))
    if labels.tombstones:
        # Forgotten under the Terraform format, still owed their `removed` blocks after a switch.
        found[roots.REMOVED_FILE] = terraform.removed_file(labels, options)
    return found


def user_chunks(name: str, level: int, user_level: int | None) -> list[str]:
    """The user resources a membership chunk waits for: those whose keys can fall in it."""
    if user_level is None:
        return []
    if user_level <= level:
        return [chunk_label(LABEL, name[:user_level])]
    return [chunk_label(LABEL, name + n) for n in chunk_names(user_level - level)]


def _object(alias: str, organization_id: str | None, settings: Settings) -> dict[str, Any]:
    data: dict[str, Any] = {"alias": alias}
    if organization_id is not None:
        data["organization_id"] = organization_id
    data.update(settings.as_dict())
    if "models" in data:
        data["models"] = list(data["models"])
    return data


def _members(members: tuple[Membership, ...]) -> yamltext.Ordered:
    # As in the Terraform format: by email, and no user id where it is the key.
    return yamltext.Ordered((m.key, yamltext.Flow(_fields(m))) for m in terraform.by_email(members))


def _fields(m: Membership | LiteLLMUser) -> dict[str, str]:
    fields = {"user_email": m.user_email, "role": m.role}
    return fields if m.user_id == m.key else {"user_id": m.user_id, **fields}


def _commented(members: yamltext.Ordered, kind: str, alias: str) -> Mapping[str, Any]:
    # A member's line holds only ids: the comment tells a reviewer whose roster a hunk is in.
    return yamltext.Commented(members, f"{kind} {templates.visible(alias)}") if members else members
