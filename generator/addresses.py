"""Terraform addresses of rendered objects in either output format, and moves between them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from generator import hcl
from generator.render import YAML, Labels
from generator.state import DesiredState


@dataclass(frozen=True, order=True)
class Move:
    """One `moved` block: the address an object had and the one it has now."""

    source: str
    target: str
    kind: str = field(default="", compare=False)


class Addresses:
    """Where each organization, team and membership lives in the rendered configuration."""

    def __init__(self, labels: Labels, output_format: str) -> None:
        self.labels = labels
        self.yaml = output_format == YAML

    def organization(self, org_id: str) -> str:
        """The organization resource."""
        if self.yaml:
            return f"litellm_organization.this[{hcl.quote(org_id)}]"
        return f"litellm_organization.{self.labels.organizations[org_id]}"

    def organization_member(self, org_id: str, key: str) -> str:
        """One organization membership instance."""
        if self.yaml:
            return f"litellm_organization_member.this[{hcl.quote(f'{org_id}/{key}')}]"
        label = self.labels.organizations[org_id]
        return f"litellm_organization_member.{label}[{hcl.quote(key)}]"

    def team(self, team_id: str) -> str:
        """The team resource."""
        if self.yaml:
            return f"litellm_team.this[{hcl.quote(team_id)}]"
        return f"litellm_team.{self.labels.teams[team_id]}"

    def team_member(self, team_id: str, key: str) -> str:
        """One team membership instance."""
        if self.yaml:
            return f"litellm_team_member.this[{hcl.quote(f'{team_id}/{key}')}]"
        return f"litellm_team_member.{self.labels.teams[team_id]}[{hcl.quote(key)}]"

    def of(self, state: DesiredState) -> Iterator[tuple[tuple[str, ...], str]]:
        """Every object of a state with its address, keyed by (kind, ids...)."""
        for org in state.organizations:
            yield ("organization", org.id), self.organization(org.id)
            for m in org.members:
                yield (
                    ("organization member", org.id, m.key),
                    self.organization_member(org.id, m.key),
                )
        for team in state.teams:
            yield ("team", team.id), self.team(team.id)
            for m in team.members:
                yield ("team member", team.id, m.key), self.team_member(team.id, m.key)


def moves(
    old: DesiredState, before: Addresses, new: DesiredState, after: Addresses
) -> tuple[Move, ...]:
    """A move for every object both states hold whose address differs."""
    targets = dict(after.of(new))
    found = (
        Move(source, targets[key], key[0])
        for key, source in before.of(old)
        if key in targets and targets[key] != source
    )
    return tuple(sorted(found))
