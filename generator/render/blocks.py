"""Files of `moved` and `import` blocks: written the same, in Terraform, for either format.

Each root's moved.tf and transfers.tf hold this run's new blocks after the earlier ones that
Terraform still accepts (see workspace.blocks), until people delete them after apply. A file
whose blocks did not change is kept byte for byte, hand pruning and all.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

from generator import hcl
from generator.render import templates
from generator.render.templates import RenderOptions
from generator.workspace import roots
from generator.workspace.blocks import Import, Move, kept_imports, kept_moves


def moved_file(
    moves: Sequence[Move], previous_format: str | None, output_format: str, options: RenderOptions
) -> str:
    """The `moved` blocks that carry objects' state to new addresses (format switch, chunks)."""
    context = {
        "moves": moves,
        "previous_format": previous_format,
        "output_format": output_format,
    }
    return hcl.align(templates.text("terraform/moved.tf.j2", context, options))


def transfers_file(imports: Sequence[Import], options: RenderOptions) -> str:
    """The `import` blocks of a root module for the objects it takes over from another."""
    return hcl.align(templates.text("terraform/transfers.tf.j2", {"imports": imports}, options))


def imports_file(header: str, imports: Sequence[Import]) -> str:
    """An imports.tf under a header of the caller's (adopt's is not the generated header)."""
    context = {"header": header, "imports": imports}
    return hcl.align(templates.text("terraform/imports.tf.j2", context, RenderOptions()))


class Pending:
    """Writes each root's moved.tf and transfers.tf into a run's files."""

    def __init__(
        self,
        files: dict[str, str],
        earlier_text: Callable[[str], str],
        declared: Callable[[str], Collection[str]],
        forgotten: Callable[[str], Collection[str]],
        options: RenderOptions,
    ) -> None:
        self.files = files
        self.earlier_text = earlier_text
        self.declared = declared
        self.forgotten = forgotten
        self.options = options

    def moves(
        self,
        earlier: Mapping[str, Sequence[Move]],
        new: Mapping[str, Sequence[Move]],
        switched_from: str | None,
        output_format: str,
    ) -> dict[str, tuple[Move, ...]]:
        """Each root's moved.tf; returns the blocks written, by root."""
        written = {}
        for root in sorted({*earlier, *(r for r, found in new.items() if found)}):
            # A move from what a `removed` block now forgets (a user forgotten out of the map
            # it was moved into) would make a cycle with the move out of that map.
            gone = {*self.declared(root), *self.forgotten(root)}
            found, same = kept_moves(earlier.get(root, ()), new.get(root, ()), gone)
            if found:
                at = roots.path(root, roots.MOVED_FILE)
                written[root] = tuple(found)
                # The blocks it had: the file stays byte for byte, until someone deletes it.
                self.files[at] = (
                    self.earlier_text(at)
                    if same
                    else moved_file(found, switched_from, output_format, self.options)
                )
        return written

    def imports(
        self, earlier: Mapping[str, Sequence[Import]], new: Mapping[str, Sequence[Import]]
    ) -> dict[str, tuple[Import, ...]]:
        """Each root's transfers.tf; returns the blocks written, by root."""
        written = {}
        for root in sorted({*earlier, *(r for r, found in new.items() if found)}):
            found, same = kept_imports(
                earlier.get(root, ()), new.get(root, ()), self.declared(root), self.forgotten(root)
            )
            if found:
                at = roots.path(root, roots.TRANSFERS_FILE)
                written[root] = tuple(found)
                text = self.earlier_text(at) if same else transfers_file(found, self.options)
                self.files[at] = text
        return written
