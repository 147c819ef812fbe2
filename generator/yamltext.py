"""YAML text: what the YAML route writes for Terraform's `yamldecode` to read."""

from __future__ import annotations

from typing import Any

import yaml


class Flow(dict[str, str]):
    """A mapping written on one line, so that one membership is one line of YAML."""


class _Dumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Line breaks and invisible characters go double-quoted with escapes: one line, visible.
    style = None if value.isprintable() else '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(
    Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True)
)


def dump(data: Any) -> str:
    """Return data as block YAML without a final newline; keys sorted, strings escaped."""
    text: str = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=True,
        allow_unicode=True,
        width=2**31,
        default_flow_style=False,
    )
    return text.rstrip("\n")
