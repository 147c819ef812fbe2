"""Which groups a rule selects, and which organization a selected team belongs in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from generator.directory import Directory, Group
from generator.errors import PolicyError
from generator.policy import Rule

SHOWN_KEYS = 10


@dataclass(frozen=True)
class Match:
    """A group a rule selected, with the values its templates draw on."""

    rule: Rule
    group: Group
    values: Mapping[str, str]

    def render(self, template: str) -> str:
        """A template of the rule filled with this group's values."""
        try:
            return template.format_map(self.values)
        except KeyError as exc:
            raise self._uncaptured(str(exc.args[0])) from None

    def value(self, capture: str) -> str:
        """One named capture of the rule's regex for this group."""
        if capture not in self.values:
            raise self._uncaptured(capture)
        return self.values[capture]

    def _uncaptured(self, capture: str) -> PolicyError:
        # An optional group in the regex, `(?P<x>...)?`, that this group's name left empty.
        return PolicyError(
            f"rule {self.rule.name!r} (line {self.rule.line}): {{{capture}}} was not captured "
            f"from group {name_of(self.group)}; make that part of the regex required, or "
            "select this group with another rule"
        )


def select(rule: Rule, group: Group) -> dict[str, str] | None:
    """The template values when the rule selects the group, else None."""
    selector = rule.selector
    name = group.display_name
    values = {"displayName": name, "id": group.id, "mail": group.mail or ""}
    if selector.names:
        return values if name in selector.names else None
    if selector.ids:
        return values if group.id in selector.ids else None
    if selector.prefix is not None:
        return values if name.startswith(selector.prefix) else None
    pattern = rule.pattern
    found = pattern.fullmatch(name) if pattern else None
    if found is None:
        return None
    return values | {k: v for k, v in found.groupdict().items() if v is not None}


class Places:
    """Finds the organization a team belongs in, by key, group name, capture, nesting or id."""

    def __init__(self, origin: str, organizations: list[Match]) -> None:
        self.origin = origin
        self.by_id = {m.group.id: m for m in organizations}
        self.by_key: dict[str, list[Match]] = {}
        for match in organizations:
            self.by_key.setdefault(match.render(match.rule.key), []).append(match)
        self.by_name: dict[str, list[Match]] = {}
        for match in organizations:
            self.by_name.setdefault(match.group.display_name, []).append(match)

    def find(self, match: Match, directory: Directory) -> Match | None:
        """The organization for a team match, or None when its rule places it nowhere."""
        placement = match.rule.placement
        if placement.kind == "none":
            return None
        if placement.kind == "same_group":
            return self.by_id.get(match.group.id) or self._missing(match, "its own group")
        if placement.kind == "nested":
            parents = directory.parent_groups(match.group.id)
            found = [self.by_id[p] for p in parents if p in self.by_id]
            if len(found) > 1:
                raise PolicyError(
                    f"{self._where(match)}: team group {name_of(match.group)} is nested in several "
                    f"organization groups: {ids_of(m.group for m in found)}; nest it in one only"
                )
            return found[0] if found else self._missing(match, "a parent organization group")
        if placement.kind == "group":
            wanted = match.render(placement.value or "")
            return self._one(match, self.by_name.get(wanted, []), f"the group named {wanted!r}")
        value = placement.value or ""
        key = match.value(value) if placement.kind == "capture" else match.render(value)
        return self._one(match, self.by_key.get(key, []), f"the organization key {key!r}")

    def _one(self, match: Match, found: list[Match], wanted: str) -> Match:
        if not found:
            return self._missing(match, wanted)
        if len(found) > 1:
            raise PolicyError(
                f"{self._where(match)}: team group {name_of(match.group)} is placed by {wanted}, "
                f"which {len(found)} organization groups share ({ids_of(m.group for m in found)}); "
                "Entra allows duplicate display names: give the organization rule a key that "
                "includes {id}, select the organizations by ids, or rename one group in Entra"
            )
        return found[0]

    def _missing(self, match: Match, wanted: str) -> Match:
        keys = sorted(self.by_key)
        shown = ", ".join(repr(k) for k in keys[:SHOWN_KEYS]) or "none"
        more = f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else ""
        raise PolicyError(
            f"{self._where(match)}: team group {name_of(match.group)} belongs in an organization "
            f"by {match.rule.placement.kind}, but no selected organization group fits {wanted} "
            f"(organization keys: {shown}{more}); select that organization's group or stop "
            f"selecting {match.group.display_name!r}"
        )

    def _where(self, match: Match) -> str:
        return f"{self.origin}:{match.rule.line}: rule {match.rule.name!r}"


def name_of(group: Group) -> str:
    """A group as messages name it: display name and object id."""
    return f"{group.display_name!r} ({group.id})"


def ids_of(groups: Iterable[Group]) -> str:
    """Group object ids, comma-separated, for messages."""
    return ", ".join(g.id for g in groups)


def described(rule: Rule) -> str:
    """The groups a rule selects, in words, with the policy's text as it is written there."""

    def written(value: str) -> str:
        # repr() would double every backslash of a regex; a quote or an unprintable character
        # would make plain quoting ambiguous, so that value is shown escaped, in double quotes.
        if value.isprintable() and not {"'", '"'} & set(value):
            return f"'{value}'"
        escaped = value.encode("unicode_escape").decode("ascii").replace('"', '\\"')
        return f'"{escaped}"'

    selector = rule.selector
    if selector.names:
        return "groups named " + _listed([written(n) for n in selector.names])
    if selector.ids:
        return "groups with ids " + _listed(list(selector.ids))
    if selector.prefix is not None:
        return f"groups whose name starts with {written(selector.prefix)}"
    return f"groups whose whole name matches {written(selector.regex or '')}"


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - SHOWN_KEYS} more" if len(items) > SHOWN_KEYS else ""
    return ", ".join(items[:SHOWN_KEYS]) + more
