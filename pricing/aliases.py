"""Anthropic's model aliases: the ``-0`` and ``-latest`` names the API accepts, each with the
dated model it serves today.

LiteLLM's table prices the dated names only, so a request for ``claude-sonnet-4-0`` resolves to
``claude-sonnet-4-20250514`` through this table. Each target must be a key of the price table
(a test checks it); an alias whose target the table lacks is left out rather than guessed.
When Anthropic moves an alias to a new model, this table moves with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

ANTHROPIC_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "claude-opus-4-0": "claude-opus-4-20250514",
        "claude-sonnet-4-0": "claude-sonnet-4-20250514",
        "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
        "claude-3-opus-latest": "claude-3-opus-20240229",
    }
)
"""Alias → the dated model Anthropic serves under it (a key of LiteLLM's price table)."""


def alias_target(name: str) -> str | None:
    """Return the dated model an Anthropic alias names (case-insensitive), or None."""
    return ANTHROPIC_ALIASES.get(name.lower())
