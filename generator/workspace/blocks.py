"""The `moved`, `import` and `removed` blocks a root keeps until people delete them after apply.

The manifest records every block a run wrote. People delete blocks (or whole files) once
`terraform apply` has run with them, so a later run keeps only the recorded blocks still in the
file, and refuses a file that holds a block it did not write: dropping that block could let
apply destroy what it carries.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from generator import hcl
from generator.errors import OutputError


@dataclass(frozen=True, order=True)
class Move:
    """One `moved` block: the address an object had and the one it has now."""

    source: str
    target: str
    kind: str = field(default="", compare=False)

    @property
    def lines(self) -> tuple[tuple[str, str], ...]:
        """The arguments the block is written with."""
        return (("from", self.source), ("to", self.target))


@dataclass(frozen=True, order=True)
class Import:
    """One `import` block: a Terraform address and the provider's import id."""

    address: str
    id: str
    kind: str = field(default="", compare=False)

    @property
    def lines(self) -> tuple[tuple[str, str], ...]:
        """The arguments the block is written with: an edited id is not entraform's block."""
        return (("to", self.address), ("id", hcl.quote(self.id)))


def member_import_id(scope_id: str, user_id: str) -> str:
    """The provider's import id of a team or organization membership."""
    return f"{scope_id}:{user_id}"


class _Written(Protocol):
    @property
    def lines(self) -> tuple[tuple[str, str], ...]: ...


Block = TypeVar("Block", bound=_Written)


def still_there(recorded: Sequence[Block], text: str | None, kind: str, where: str) -> list[Block]:
    """The recorded blocks a file still holds; a block it holds that was not recorded is refused.

    A block is still there when every argument it was written with is, as Terraform reads it:
    spacing and a comment at the end of a line are the writer's own.
    """
    if text is None:
        return []
    assigned = _assignments(text)
    found = [b for b in recorded if all(line in assigned for line in b.lines)]
    opened = sum(1 for line in text.split("\n") if line.split()[:2] == [kind, "{"])
    if opened != len(found):
        raise OutputError(
            f"{where}: entraform recognises {len(found)} of its {opened} `{kind}` blocks; "
            "dropping the others would let terraform apply destroy and re-create what they "
            f"carry. Write each `{kind}` block back as entraform wrote it, or delete the file "
            "if terraform apply has already run with it"
        )
    return found


def _assignments(text: str) -> set[tuple[str, str]]:
    """Every `name = value` line of a file, with the value's trailing comment left out."""
    found = set()
    for line in text.split("\n"):
        name, equals, value = line.partition("=")
        if equals and name.strip().isidentifier():
            found.add((name.strip(), _uncommented(value.strip())))
    return found


def _uncommented(value: str) -> str:
    # A `#` or `//` outside a string literal starts a comment; the blocks hold no other kind.
    quoted = escaped = False
    for at, char in enumerate(value):
        if quoted:
            escaped, quoted = (not escaped and char == "\\"), quoted and (escaped or char != '"')
        elif char == '"':
            quoted = True
        elif char == "#" or value.startswith("//", at):
            return value[:at].rstrip()
    return value


def kept_moves(
    earlier: Sequence[Move], new: Sequence[Move], declared: Collection[str]
) -> tuple[list[Move], bool]:
    """A root's `moved` blocks: the new ones, after the earlier ones Terraform still accepts.

    An earlier move from an address declared again, or moved a second way, would be refused.
    The flag says whether the blocks are the earlier ones, unchanged.
    """
    sources = set(declared) | {m.source for m in new}
    kept = [m for m in earlier if m.source not in sources]
    return [*kept, *new], not new and kept == list(earlier)


def kept_imports(
    earlier: Sequence[Import],
    new: Iterable[Import],
    declared: Collection[str],
    forgotten: Collection[str],
) -> tuple[list[Import], bool]:
    """A root's `import` blocks: the new ones, and the earlier ones Terraform still accepts.

    An import to an address the root no longer declares, or whose resource its `removed`
    blocks forget, would be refused. The flag says whether the blocks are the earlier ones.
    """
    fresh = {i.address: i for i in new}
    still = set(declared) - fresh.keys()
    kept = [
        i for i in earlier if i.address in still and i.address.partition("[")[0] not in forgotten
    ]
    return sorted((*kept, *fresh.values())), not fresh and kept == list(earlier)
