"""The types of a manifest's values: what this release writes, so that a run never trips on one.

The manifest is the one file of ours no digest vouches for. A hand edit that still parses as
JSON (a number where a label was) is refused here with its place, not met later as a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.policy.ids import Ids
from generator.workspace import roots
from generator.workspace.labels import LABEL

_JSON: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    dict: "an object",
    list: "an array",
    type(None): "null",
}
# Settings as the manifest writes them: Settings.as_dict() of a state.
_NUMBER = (int, float)
_SETTINGS: dict[str, tuple[type, ...]] = {
    "max_budget": _NUMBER,
    "budget_duration": (str,),
    "tpm_limit": (int,),
    "rpm_limit": (int,),
}


def check(data: Mapping[str, Any]) -> None:
    """Raise TypeError naming the first value of another type than this release writes."""
    _head(data)
    for name in ("files", "emails", "user_ids"):
        _texts(data[name], name)
    for kind in ("organizations", "teams"):
        for object_id, found in _map(data[kind], kind).items():
            _object(_map(found, f"{kind}.{object_id}"), f"{kind}.{object_id}")
    for key, found in _map(data["users"], "users").items():
        _label(_map(found, f"users.{key}")["label"], f"users.{key}.label")
        _one(found["role"], (str,), f"users.{key}.role")
    for kind, levels in _map(data["levels"], "levels").items():
        for label, level in _map(levels, f"levels.{kind}").items():
            _one(level, (int,), f"levels.{kind}.{label}")
    for name in ("forgotten", "moved_away"):
        for root, addresses in _map(data.get(name, {}), name).items():
            _root(root, f"{name}.{root}")
            _forgotten(addresses, f"{name}.{root}")
    for name in ("moves", "imports"):
        for root, blocks in _map(data[name], name).items():
            _root(root, f"{name}.{root}")
            for n, block in enumerate(_list(blocks, f"{name}.{root}", (list,))):
                _list(block, f"{name}.{root}[{n}]")


def _head(data: Mapping[str, Any]) -> None:
    for name in ("format", "layout", "ids"):
        _one(data[name], (str,), name)
    if data["layout"] not in roots.LAYOUTS:
        raise TypeError(f"layout is {data['layout']!r}, not one of {', '.join(roots.LAYOUTS)}")
    Ids.parse(data["ids"])


def _object(found: Mapping[str, Any], where: str) -> None:
    for name in ("alias", "group"):
        _one(found[name], (str,), f"{where}.{name}")
    _label(found["label"], f"{where}.label")
    if "root" in found:
        _root(found["root"], f"{where}.root")
    if "organization" in found:
        _one(found["organization"], (str, type(None)), f"{where}.organization")
    settings = _map(found["settings"], f"{where}.settings")
    for name, kinds in _SETTINGS.items():
        if name in settings:
            _one(settings[name], kinds, f"{where}.settings.{name}")
    if "models" in settings:
        _list(settings["models"], f"{where}.settings.models")
    if "metadata" in settings:
        _texts(settings["metadata"], f"{where}.settings.metadata")
    for role, keys in _map(found["members"], f"{where}.members").items():
        _list(keys, f"{where}.members.{role}")


def _forgotten(value: Any, where: str) -> None:
    # An address, or a user's address and the instance it is moved out of first.
    for n, entry in enumerate(_list(value, where, (str, list))):
        if isinstance(entry, list) and len(_list(entry, f"{where}[{n}]")) != 2:
            raise TypeError(f"{where}[{n}] is not an address and an instance")


def _label(value: Any, where: str) -> None:
    # Labels name resources and, in root folders, paths: nothing else may pass for one.
    _one(value, (str,), where)
    if not LABEL.fullmatch(value):
        raise TypeError(f"{where} is {value!r}, not a label (letters, digits, _ and -)")


def _root(value: Any, where: str) -> None:
    _one(value, (str,), where)
    if not roots.is_root(value):
        raise TypeError(f"{where} is {value!r}, not a root folder (teams or org_<label>)")


def _one(value: Any, kinds: tuple[type, ...], where: str) -> None:
    # JSON's true and false are Python ints too; no number of ours is one.
    if not isinstance(value, kinds) or isinstance(value, bool):
        wanted = " or ".join(_JSON[k] for k in kinds)
        raise TypeError(f"{where} is {_JSON.get(type(value), 'something else')}, not {wanted}")


def _map(value: Any, where: str) -> Mapping[str, Any]:
    _one(value, (dict,), where)
    return value  # type: ignore[no-any-return]


def _texts(value: Any, where: str) -> None:
    if not all(isinstance(v, str) for v in _map(value, where).values()):
        raise TypeError(f"{where} holds a value that is not a string")


def _list(value: Any, where: str, kinds: tuple[type, ...] = (str,)) -> list[Any]:
    _one(value, (list,), where)
    if not all(isinstance(v, kinds) for v in value):
        raise TypeError(f"{where} holds an entry that is not {_JSON[kinds[0]]}")
    return value  # type: ignore[no-any-return]
