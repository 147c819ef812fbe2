"""One error hierarchy; the CLI maps it to exit codes in one place."""

from __future__ import annotations

# Exit codes are part of the public contract (README, CI recipes).
EXIT_DRIFT = 1
EXIT_USAGE = 2
EXIT_RUNTIME = 3
EXIT_UNSAFE = 4
EXIT_SECURITY = 5


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


class UnsafePlanError(EntraformError):
    """The change set trips a safety guard; the message says what to review and how to proceed."""

    exit_code = EXIT_UNSAFE


class ChangesFound(EntraformError):
    """Not a failure: `--check` found files to change, or `drift` found differences."""

    exit_code = EXIT_DRIFT


class SecurityFindings(ChangesFound):
    """`drift` found members in LiteLLM whom the policy leaves out (whatever else it found)."""

    exit_code = EXIT_SECURITY
