"""One error hierarchy, and refusals as values; the CLI maps errors to exit codes in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

# Exit codes are part of the public contract (README, docs/ci.md).
EXIT_DRIFT = 1
EXIT_USAGE = 2
EXIT_RUNTIME = 3
EXIT_UNSAFE = 4
EXIT_SECURITY = 5
EXIT_CHECKS = 6


CHECKS_FAILED = (
    "The policy's checks do not hold; nothing was written. Correct the groups in Entra, or the "
    "policy (a check has no option that overrides it)."
)


class EntraformError(Exception):
    """Base of every error entraform reports to its user."""

    exit_code = EXIT_RUNTIME


class ConfigError(EntraformError):
    """The policy file, a snapshot or an option is invalid."""

    exit_code = EXIT_USAGE


class PolicyError(ConfigError):
    """The policy cannot be applied to this directory (conflicting rules, LiteLLM rules broken)."""


class SourceError(EntraformError):
    """Reading the tenant failed (Graph, snapshot I/O)."""


class OutputError(EntraformError):
    """The output folder cannot be read or written safely."""


class ChangesFound(EntraformError):
    """Not a failure: `--check` found files to change, or `drift` found differences."""

    exit_code = EXIT_DRIFT


class SecurityFindings(ChangesFound):
    """`drift` found members in LiteLLM whom the policy leaves out (whatever else it found)."""

    exit_code = EXIT_SECURITY


@dataclass(frozen=True)
class Refusal:
    """A reason not to go ahead, and what goes ahead anyway.

    `override` is the option (or policy setting) that accepts the risk, None when only a
    change of input helps; `advice` says what to do, as a sentence; `otherwise` what helps
    without the override, in any command. A configuration refusal (the edition, a layout a
    format cannot hold) exits 2, an unsafe change 4.
    """

    reason: str
    override: str | None = None
    advice: str = ""
    exit_code: int = EXIT_UNSAFE
    otherwise: str = ""


class Refused(EntraformError):
    """The run refused to go ahead; nothing was written."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        self.refusals = tuple(refusals)
        self.exit_code = max(r.exit_code for r in self.refusals)
        super().__init__(_told(self.refusals))


def refuse(refusals: Sequence[Refusal]) -> None:
    """Raise Refused for the refusals given, if any: the one place a refusal stops a run."""
    if refusals:
        raise Refused(refusals)


def refused(refusal: Refusal) -> NoReturn:
    """Raise Refused for one refusal."""
    raise Refused((refusal,))


def _told(refusals: tuple[Refusal, ...]) -> str:
    # Refusals located in the policy file go one per line, each with its fix; the others in
    # one sentence with what overrides them.
    located = [r for r in refusals if r.exit_code in (EXIT_USAGE, EXIT_CHECKS)]
    others = [r for r in refusals if r not in located]
    lines = []
    if others:
        advice = " ".join(dict.fromkeys(r.advice for r in others if r.advice))
        reasons = "; ".join(r.reason for r in others)
        lines.append(f"refused: {reasons}. Nothing was written." + (f" {advice}" if advice else ""))
    lines += [" ".join(filter(None, (r.reason, r.advice))) for r in located]
    if any(r.exit_code == EXIT_CHECKS for r in located):
        lines.append(CHECKS_FAILED)
    return "\n".join(lines)
