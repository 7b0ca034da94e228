"""Anthropic's -0 / -latest aliases: each target is priced by the table and each alias resolves."""

from __future__ import annotations

import pytest

from pricing import default_pricebook, load_table
from pricing.aliases import ANTHROPIC_ALIASES, alias_target


@pytest.mark.parametrize(("alias", "target"), sorted(ANTHROPIC_ALIASES.items()))
def test_every_alias_names_a_priced_key_and_resolves_to_it(alias: str, target: str) -> None:
    table = load_table()
    entry = table.get(target)
    assert entry is not None
    assert entry.input_cost_per_token is not None
    assert alias not in table  # the table would price the alias itself
    resolution = default_pricebook().lookup(alias)
    assert resolution is not None
    assert resolution.key == target


def test_aliases_resolve_behind_a_provider_prefix_and_in_any_case() -> None:
    book = default_pricebook()
    for name in ("anthropic/claude-sonnet-4-0", "CLAUDE-SONNET-4-0"):
        resolution = book.lookup(name)
        assert resolution is not None
        assert resolution.key == "claude-sonnet-4-20250514"
    assert alias_target("claude-sonnet-4-5") is None  # a table key, not an alias
