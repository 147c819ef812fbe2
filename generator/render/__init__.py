"""Renderers: the output formats, each one module behind one small protocol, listed in FORMATS.

A format renders one root module's part of the desired state, says where each object lives
(its addresses, and the membership maps that are split as they grow) and what it cannot do.
Nothing outside this package asks which format it is.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import Protocol

from generator.errors import EXIT_USAGE, Refusal, refused
from generator.render import fork
from generator.render.addresses import Addresses
from generator.render.templates import RenderOptions
from generator.render.terraform import Terraform
from generator.render.yaml import Yaml
from generator.state import DesiredState, Kind
from generator.workspace import roots
from generator.workspace.labels import Forgotten, Labels
from generator.workspace.roots import Roots


class Format(Protocol):
    """One output format."""

    @property
    def name(self) -> str:
        """The name `--format` and `output.format` give it."""
        ...

    def refusal(self, layout: str) -> Refusal | None:
        """Why this format cannot write a layout, if it cannot."""
        ...

    def addresses(self, labels: Labels) -> Addresses:
        """Where each object of a state lives under these labels."""
        ...

    def map_sizes(self, state: DesiredState, labels: Labels) -> dict[tuple[Kind, str], int]:
        """The size of each membership map, by kind and resource label, for its chunk level."""
        ...

    def root(
        self, state: DesiredState, labels: Labels, options: RenderOptions, top: bool
    ) -> dict[str, str]:
        """The files of one root module (`top`: the output folder itself), by name."""
        ...

    def forget_note(self, kind: Kind, object_id: str) -> str | None:
        """What a reviewer must do when this format forgets an object, if anything."""
        ...


FORMATS: dict[str, Format] = {f.name: f for f in (Terraform(), Yaml())}
DEFAULT = "terraform"


def named(name: str) -> Format:
    """The format of a name; an unknown one is a configuration error."""
    found = FORMATS.get(name)
    if found is None:
        known = ", ".join(sorted(FORMATS))
        refused(Refusal(f"unknown output format {name!r} (formats: {known})", exit_code=EXIT_USAGE))
    return found


def render(
    state: DesiredState,
    labels: Labels,
    output: Format,
    options: RenderOptions,
    layout: str,
    held: Collection[str] = (),
) -> dict[str, str]:
    """Return file path (relative to the output folder) → content, root module by root module.

    `held` names the roots the folder had: one left without objects is still written, so
    that terraform apply there deletes what its state holds.
    """
    parts = Roots(layout, labels).split(state)
    for root in (*held, *(t.root for t in labels.tombstones)):
        parts.setdefault(root, DesiredState())
    at = output.addresses(labels)
    jobs = sorted(parts.items())

    def rendered(some: Sequence[tuple[str, DesiredState]]) -> dict[str, str]:
        files: dict[str, str] = {}
        for root, part in some:
            kept = replace(labels, tombstones=tombstones_of(labels, root, part, at))
            found = output.root(part, kept, options, root == roots.TOP)
            files.update((roots.path(root, name), text) for name, text in found.items())
        return files

    # Roots in folders of their own are shared between two cores here; one root's files, by its
    # format.
    return fork.spread(rendered, jobs, [part.lines for _, part in jobs])


def tombstones_of(
    labels: Labels, root: str, part: DesiredState, at: Addresses
) -> tuple[Forgotten, ...]:
    """The `removed` blocks a root is written with: its own, for what it no longer declares."""
    declared = {("organization", labels.organizations[o.id]) for o in part.organizations}
    declared |= {("team", labels.teams[t.id]) for t in part.teams}
    declared |= {("user", labels.users[u.user_id]) for u in part.users}
    # A removed block and a resource at one address of one root would be a Terraform error, as
    # would a move out of an instance declared again (a forgotten user who came back).
    back = {at.user(u) for u in part.users} if any(t.was for t in labels.tombstones) else set()
    return tuple(
        t
        for t in labels.tombstones
        if t.root == root and (t.kind, t.label) not in declared and t.was not in back
    )
