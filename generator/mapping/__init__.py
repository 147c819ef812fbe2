"""Apply the policy to a directory: the only code that speaks both Entra and LiteLLM."""

from __future__ import annotations

from generator.directory import Directory
from generator.mapping.findings import (
    DISABLED,
    GRAPH_ATTRIBUTES,
    GUEST,
    NO_IDENTITY,
    UNKNOWN,
    WHY,
    Findings,
    LeftOut,
    Outcome,
    Provenance,
    excluded_because,
)
from generator.mapping.resolve import Mapper
from generator.policy import Policy
from generator.state import Organization, Team, named, validate

__all__ = [
    "DISABLED",
    "GRAPH_ATTRIBUTES",
    "GUEST",
    "NO_IDENTITY",
    "UNKNOWN",
    "WHY",
    "Findings",
    "LeftOut",
    "Outcome",
    "Provenance",
    "apply",
    "excluded_because",
]


def apply(policy: Policy, directory: Directory) -> Outcome:
    """Map the directory through the policy into a validated desired state."""
    mapper = Mapper(policy, directory)
    state = mapper.state()
    provenance = mapper.provenance()

    def where(scoped: Organization | Team) -> str:
        # Two groups may share a display name: the id, rule and line tell them apart.
        found = provenance.teams if isinstance(scoped, Team) else provenance.organizations
        match = found.get(policy.ids.group_of(scoped.id))
        if match is None:
            return named(scoped)
        return f"{named(scoped)}, rule {match.rule.name!r} at {policy.path}:{match.rule.line}"

    validate(state, where)
    return Outcome(state, mapper.findings(), provenance)
