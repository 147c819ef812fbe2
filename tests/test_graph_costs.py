"""Graph's resource-unit costs as the client counts them, and the budget option's values."""

from __future__ import annotations

import pytest

from generator.sources.graph.costs import budget, cost


@pytest.mark.parametrize(
    ("url", "units"),
    [
        ("/groups/g-1/members?$select=id,mail&$top=999", 2),
        ("/groups/g-1/members", 3),
        ("/groups/g-1/transitiveMembers?$top=5", 4),
        ("/users?$select=id", 1),
        ("/users", 2),
        ("/groups?$select=id&$top=999", 1),
        ("/groups/g-1?$expand=members", 2),
        ("https://graph.microsoft.com/v1.0/groups/g-1/members?$select=id&$skiptoken=X", 2),
        ("/groups/g-1/owners?$top=10", 1),
    ],
)
def test_a_request_costs_what_microsoft_documents(url: str, units: int) -> None:
    assert cost(url) == units


def test_a_budget_is_a_size_class_or_a_number_of_resource_units() -> None:
    assert [budget(v) for v in ("S", "m", " L ", "12000")] == [3500, 5000, 8000, 12000]
    for bad in ("XL", "0", "-5", ""):
        with pytest.raises(ValueError, match="not S, M, L"):
            budget(bad)
