"""The outcome of one `generate` run, and the exit code that follows from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from generator.errors import EXIT_CHECKS, ChangesFound, Refusal, refuse
from generator.mapping import Outcome
from generator.plan import ALLOW_REMOVALS, ChangeSet
from generator.state import DesiredState
from generator.workspace import manifest, roots
from generator.workspace.blocks import Move
from generator.workspace.labels import Labels
from generator.workspace.roots import Transfer
from generator.workspace.writes import FileChange


@dataclass(frozen=True, kw_only=True)
class Report:
    """What one run would change, in the folder and in LiteLLM, and what refuses it."""

    out: Path
    outcome: Outcome
    # The objects the last run wrote, under this run's ids: what the changes are measured from.
    previous: DesiredState
    labels: Labels
    files: Mapping[str, str]
    file_changes: tuple[FileChange, ...]
    changes: ChangeSet
    refusals: tuple[Refusal, ...]
    # The options given that accept a refusal's risk (--allow-removals, --migrate-...).
    overrides: frozenset[str]
    format: str
    layout: str
    switched_from: str | None = None
    relaid_from: str | None = None
    ids_switch: tuple[str, str] | None = None
    moves: tuple[Move, ...] = ()
    transfers: tuple[Transfer, ...] = ()
    warnings: tuple[str, ...] = ()
    check: bool = False
    # The command that writes what --check finds stale.
    command: str = "entraform generate"
    # The policy's checks this run proved; none when one broke (a refusal then says where).
    checks: tuple[str, ...] = ()

    @property
    def blocking(self) -> tuple[Refusal, ...]:
        """The refusals no option given overrides: any of them stops the run."""
        return tuple(r for r in self.refusals if r.override not in self.overrides)

    @property
    def told(self) -> tuple[Refusal, ...]:
        """The refusals a reviewer is told of: the guards', allowed or not, and any that blocks."""
        return tuple(r for r in self.refusals if r.override == ALLOW_REMOVALS or r in self.blocking)

    @property
    def allowed(self) -> tuple[Refusal, ...]:
        """The guards' refusals --allow-removals lets through, to be said aloud."""
        return tuple(r for r in self.told if r not in self.blocking)

    @property
    def changed(self) -> bool:
        """True when any file would be created, updated or deleted."""
        return bool(self.file_changes)

    @property
    def changed_roots(self) -> list[str]:
        """The root modules whose files change: the ones to plan and apply."""
        return roots.changed(f.name for f in self.file_changes if f.name != manifest.NAME)

    def refuse_but_guards(self) -> None:
        """Raise the blocking refusals but the removal guards', for adopt and drift."""
        # adopt and drift name objects by the folder's labels, roots and addresses: a switch of
        # the layout, the ids or the format would name them as no file of the folder does.
        switch = [] if self.switched_from is None else [self._format_switch()]
        # The checks judge what generate would write, not what adopt and drift read.
        blocking = [
            r for r in self.blocking if r.override != ALLOW_REMOVALS and r.exit_code != EXIT_CHECKS
        ]
        refuse(tuple(_by_generate(r) for r in (*blocking, *switch)))

    def _format_switch(self) -> Refusal:
        return Refusal(
            f"{self.out} holds the {self.switched_from} format and this run asks for {self.format}",
            advice=f"Pass --format {self.switched_from}, or switch the folder first with "
            f"entraform generate --format {self.format}.",
        )

    def finish(self) -> None:
        """Raise what the exit code says: the refusals, or the files --check found stale."""
        refuse(self.blocking)
        if self.check and self.changed:
            stale = len(self.file_changes)
            raise ChangesFound(
                f"{stale} file(s) in {self.out} are out of date; update them with: {self.command}"
            )


def _by_generate(refusal: Refusal) -> Refusal:
    """The refusal as adopt and drift say it: the option it names belongs to generate."""
    if not (refusal.override or "").startswith("--"):
        return refusal
    advice = (
        f"Run entraform generate with {refusal.override} first and apply what it writes, "
        "then this command again"
    )
    otherwise = f"; or {refusal.otherwise}" if refusal.otherwise else ""
    return replace(refusal, advice=f"{advice}{otherwise}.")
