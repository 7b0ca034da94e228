"""Model-name resolution and the price book every cost in the product comes from.

A name resolves in this order, and never by substring (``gpt-4o-mini`` is never ``gpt-4o``):

1. the exact key (custom prices first, then LiteLLM's table): a dated key with its own price
   keeps it (``gpt-4o-2024-05-13`` is $5/$15 per 1M, not ``gpt-4o``'s $2.50/$10);
2. the same name ignoring case;
3. the name with leading provider prefixes stripped, one at a time (``openai/``, ``anthropic/``,
   ``azure/``, ``openrouter/…``; any provider LiteLLM's table names) — a prefix is never added;
4. only when none of those exists, the name without a date or ``-latest`` suffix
   (``-2024-07-18``, ``-20240307``, ``@20240229``, ``-latest``);
5. three fixed aliases: ``claude-3-haiku`` → ``claude-3-haiku-20240307``, ``claude-3-opus`` →
   ``claude-3-opus-20240229``, ``claude-3-sonnet`` → ``vertex_ai/claude-3-sonnet@20240229``
   (Anthropic's own entry has left the table; same $3/$15 per 1M), and Anthropic's ``-0`` /
   ``-latest`` aliases (``claude-sonnet-4-0``, ``claude-3-7-sonnet-latest``…) to the dated
   model each serves (``pricing.aliases``).

``CLAUDE_COST_PER_1M_INPUT`` / ``_OUTPUT`` then replace the rates of a resolved ``claude*`` model
that is not in a custom price file.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal, NamedTuple

from pricing.aliases import alias_target
from pricing.cost import (
    CostBreakdown,
    IncompleteUsageError,
    NoTokenPriceError,
    Usage,
    compute_cost,
)
from pricing.custom import (
    ENV_INPUT,
    ENV_OUTPUT,
    ClaudeOverride,
    claude_override,
    entries_from_mapping,
    is_claude_name,
    read_pricing_file,
)
from pricing.errors import PricingError
from pricing.table import PriceEntry, PriceTable, load_table

PRICING_FILE_ENV = "MEMORY_BANKER_PRICING_FILE"
"""The environment variable naming a custom price file (same as ``--pricing-file``)."""

CLAUDE_3_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "claude-3-haiku": "claude-3-haiku-20240307",
        "claude-3-opus": "claude-3-opus-20240229",
        "claude-3-sonnet": "vertex_ai/claude-3-sonnet@20240229",
    }
)
"""Undated Claude 3 names users type whose undated key LiteLLM's table lacks, each mapped to a
key the table prices."""

_DATE_SUFFIX = re.compile(r"(?:-\d{4}-\d{2}-\d{2}|-\d{8}|@\d{8}|-latest)$", re.IGNORECASE)
_EXTRA_PREFIXES = frozenset({"openai", "anthropic", "azure", "openrouter", "litellm_proxy"})
_MEMO_LIMIT = 4096
_UNSEEN = object()
"""A name the memo has not seen (``None`` is memoized too: a name with no price)."""


class UnknownModelError(PricingError):
    """No price is known for a model name; carries up to three close known names."""

    def __init__(self, model: str, suggestions: list[str], version: str) -> None:
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(
            f"unknown model {model!r}: not in LiteLLM {version}'s price table "
            f"nor in custom prices{hint}"
        )
        self.model = model
        """The name as asked."""
        self.suggestions = suggestions
        """Up to three close known model names, closest first."""


class Resolution(NamedTuple):
    """How a model name was matched to prices.

    Immutable. A named tuple rather than a frozen dataclass because one is built for every new
    name priced, and a frozen dataclass costs about twice as much to build (benchmarks/).
    """

    model: str
    """The name as asked."""
    key: str
    """The table key (or custom model name) matched."""
    entry: PriceEntry
    """The prices used."""
    custom: bool
    """The prices are custom (price file, dict or environment), not LiteLLM's."""
    step: str
    """The resolution step that matched: exact, case, prefix, undated or alias."""


_new_resolution = tuple.__new__
"""Builds a :class:`Resolution` from a tuple of its fields in order (see :meth:`PriceBook.cost`)."""

UnpricedReason = Literal["unknown_model", "no_token_price", "incomplete_usage"]
"""Why a usage has no cost: see :class:`Unpriced`."""


class Unpriced(NamedTuple):
    """Why :meth:`PriceBook.cost_or_reason` could not price a usage (its cost is unknown).

    ``reason`` is one of:

    - ``"unknown_model"``: no price is known for the name (``key`` is ``None``); call
      :meth:`PriceBook.suggestions` for close known names — only then, as difflib is not free;
    - ``"no_token_price"``: the name resolved (``key`` set) to an entry priced per second, image,
      character or query, so there are no close names to suggest;
    - ``"incomplete_usage"``: the prompt or completion count is unknown (``key`` set).
    """

    model: str
    """The name as asked."""
    reason: UnpricedReason
    """``unknown_model``, ``no_token_price`` or ``incomplete_usage``."""
    key: str | None
    """The table key (or custom model name) matched; ``None`` for an unknown model."""
    message: str
    """One line saying why, without suggestions (for example for a warning)."""


def undated(name: str) -> str:
    """Return ``name`` without a trailing date or ``-latest`` suffix (unchanged when none)."""
    return _DATE_SUFFIX.sub("", name)


class PriceBook:
    """LiteLLM's price table plus custom prices: resolves model names and prices usage.

    Immutable once built; ``with_custom`` returns a new book. Safe to share between threads.
    """

    def __init__(
        self,
        table: PriceTable,
        custom: Mapping[str, PriceEntry] | None = None,
        *,
        claude: ClaudeOverride | None = None,
        source: str = "litellm",
    ) -> None:
        self.table = table
        """LiteLLM's table underneath the custom prices."""
        self.version: str = table.version
        """The installed litellm version: the version of the price data."""
        self.source: str = source
        """``"litellm"``, or ``"litellm+custom:<file>"`` (``env``/``dict``) with custom prices."""
        self._custom: dict[str, PriceEntry] = dict(custom or {})
        self._custom_lower: dict[str, str] = {}
        for name in self._custom:
            self._custom_lower.setdefault(name.lower(), name)
        self._claude = claude
        providers = {
            entry_raw.get("litellm_provider")
            for entry_raw in (table.raw(key) for key in table.keys())
        }
        self._prefixes = frozenset(
            {provider.lower() for provider in providers if isinstance(provider, str)}
            | _EXTRA_PREFIXES
        )
        self._memo: dict[str, Resolution | None] = {}
        self._suggested: dict[str, tuple[str, ...]] = {}
        self._candidates: dict[str, str] | None = None

    # -- resolution ---------------------------------------------------------------------------

    @property
    def custom_entries(self) -> Mapping[str, PriceEntry]:
        """The custom entries by model name (price file or dict), without environment overrides."""
        return MappingProxyType(self._custom)

    @property
    def claude_override(self) -> ClaudeOverride | None:
        """The ``CLAUDE_COST_PER_1M_*`` override in force, if any."""
        return self._claude

    def _exact(self, name: str) -> PriceEntry | None:
        entry = self._custom.get(name)
        if entry is not None:
            return entry
        return self.table.get(name)

    def _ignoring_case(self, name: str) -> PriceEntry | None:
        lower = name.lower()
        key = self._custom_lower.get(lower)
        if key is not None:
            return self._custom[key]
        key = self.table.key_ignoring_case(lower)
        return None if key is None else self.table.get(key)

    def _stripped(self, name: str) -> list[str]:
        forms: list[str] = []
        current = name
        while "/" in current:
            prefix, rest = current.split("/", 1)
            if prefix.lower() not in self._prefixes or not rest:
                break
            forms.append(rest)
            current = rest
        return forms

    def _match(self, name: str) -> tuple[PriceEntry, str] | None:
        """The entry of ``name`` and the step that found it, trying every step after the exact
        key (which :meth:`_resolve_new` tries itself); None when no step finds one."""
        entry = self._ignoring_case(name)
        if entry is not None:
            return entry, "case"
        stripped = self._stripped(name)
        for form in stripped:
            entry = self._exact(form) or self._ignoring_case(form)
            if entry is not None:
                return entry, "prefix"
        forms = [name, *stripped]
        for form in forms:
            plain = undated(form)
            if plain != form:
                entry = self._exact(plain) or self._ignoring_case(plain)
                if entry is not None:
                    return entry, "undated"
        for form in forms:
            target = CLAUDE_3_ALIASES.get(undated(form).lower()) or alias_target(form)
            if target is not None:
                entry = self._exact(target)
                if entry is not None:
                    return entry, "alias"
        return None

    def lookup(self, model: str) -> Resolution | None:
        """Resolve ``model`` to prices.

        Returns:
            The resolution, or ``None`` when no price is known for the name.
        """
        # A dict lookup with a sentinel, not try/except: a miss raising KeyError costs as much
        # as matching a name (the per-request path of a new name; benchmarks/).
        known = self._memo.get(model, _UNSEEN)
        if known is not _UNSEEN:
            return known  # type: ignore[return-value]
        return self._resolve_new(model)

    def _resolve_new(self, model: str) -> Resolution | None:
        """Match ``model`` (not memoized yet), memoize and return its resolution."""
        name = model.strip()
        # The exact key first, inlined: most names are written as the table writes them.
        entry = self._custom.get(name) if self._custom else None
        if entry is None:
            entry = self.table.get(name)
        step = "exact"
        if entry is None:
            found = self._match(name)
            if found is not None:
                entry, step = found
        resolution: Resolution | None = None
        if entry is not None:
            if self._claude is not None and not entry.custom and is_claude_name(entry.key):
                entry = self._claude.apply(entry)
            # tuple.__new__ directly: the named tuple's own __new__ adds a Python call.
            resolution = _new_resolution(Resolution, (model, entry.key, entry, entry.custom, step))
        memo = self._memo
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[model] = resolution
        return resolution

    def resolve(self, model: str) -> Resolution:
        """Resolve ``model`` to prices.

        Raises:
            UnknownModelError: no price is known; it carries up to three suggestions.
        """
        resolution = self.lookup(model)
        if resolution is None:
            raise UnknownModelError(model, self.suggestions(model), self.version)
        return resolution

    def suggestions(self, model: str) -> list[str]:
        """Return up to three known model names close to ``model`` (difflib), closest first.

        Computed once per name and book: difflib over every known name costs milliseconds, and
        an app recording many requests for one unpriced model asks again on each.
        """
        known = self._suggested.get(model)
        if known is None:
            known = tuple(self._close_names(model))
            if len(self._suggested) >= _MEMO_LIMIT:
                self._suggested.clear()
            self._suggested[model] = known
        return list(known)

    def _close_names(self, model: str) -> list[str]:
        if self._candidates is None:
            candidates: dict[str, str] = dict(self.table.lower_keys())
            candidates.update(self._custom_lower)
            candidates.update((alias, alias) for alias in CLAUDE_3_ALIASES)
            self._candidates = candidates
        candidates = self._candidates
        names = list(candidates)
        lower = model.strip().lower()
        found = difflib.get_close_matches(lower, names, n=3, cutoff=0.6)
        if len(found) < 3 and "/" in lower:
            # "someprovider/gpt-4o-mni": compare the bare name too.
            bare = lower.rsplit("/", 1)[1]
            for match in difflib.get_close_matches(bare, names, n=3, cutoff=0.6):
                if match not in found and len(found) < 3:
                    found.append(match)
        return [candidates[match] for match in found]

    # -- cost ---------------------------------------------------------------------------------

    def cost(self, model: str, usage: Usage) -> CostBreakdown:
        """Price ``usage`` for ``model``.

        Raises:
            UnknownModelError: no price is known for ``model``.
            IncompleteUsageError: the prompt or completion count is unknown.
            NoTokenPriceError: the model is priced per second, image, character or query.
        """
        # The memo check inlined: this is the per-request hot path.
        resolution = self._memo.get(model)
        if resolution is None:
            resolution = self._resolve_new(model) if model not in self._memo else None
            if resolution is None:
                raise UnknownModelError(model, self.suggestions(model), self.version)
        return compute_cost(resolution.entry, usage, model)

    def cost_or_reason(self, model: str, usage: Usage) -> CostBreakdown | Unpriced:
        """Price ``usage`` for ``model``, or say why it cannot be priced; never raises.

        Returns:
            The breakdown, or an :class:`Unpriced` whose ``reason`` tells an unknown model
            (worth suggesting close names) from a known model without a per-token price and
            from a usage that lacks its prompt or completion count.
        """
        resolution = self._memo.get(model)
        if resolution is None:
            resolution = self.lookup(model)
            if resolution is None:
                return Unpriced(model, "unknown_model", None, f"no price for model {model!r}")
        try:
            return compute_cost(resolution.entry, usage, model)
        except NoTokenPriceError as error:
            return Unpriced(model, "no_token_price", resolution.key, str(error))
        except IncompleteUsageError as error:
            return Unpriced(model, "incomplete_usage", resolution.key, str(error))

    def try_cost(self, model: str, usage: Usage) -> CostBreakdown | None:
        """Price ``usage`` for ``model``.

        Returns:
            The breakdown, or ``None`` when the price is unknown (unknown model, no per-token
            price) or the usage lacks its prompt or completion count;
            :meth:`cost_or_reason` says which.
        """
        outcome = self.cost_or_reason(model, usage)
        return outcome if isinstance(outcome, CostBreakdown) else None

    # -- listing and custom prices -------------------------------------------------------------

    def entries(self) -> Iterator[PriceEntry]:
        """Every entry: LiteLLM's in file order (custom replacing same-named ones), then new ones.

        Environment overrides are applied to ``claude*`` entries.
        """
        for key in self.table.keys():
            entry = self._custom.get(key) or self.table.get(key)
            if entry is None:
                continue
            if self._claude is not None and not entry.custom and is_claude_name(key):
                entry = self._claude.apply(entry)
            yield entry
        for name, entry in self._custom.items():
            if name not in self.table:
                yield entry

    def with_custom(self, per_1k: Mapping[str, Mapping[str, float]]) -> PriceBook:
        """Return a new book with ``per_1k`` prices added or overriding the table's.

        ``per_1k`` maps model names to ``{"prompt_per_1k": …, "completion_per_1k": …}``; the
        per-1M form is accepted too.

        Raises:
            PricingFileError: a model's prices are missing or not non-negative numbers.
        """
        added = entries_from_mapping(
            per_1k, where="custom pricing", source="dict", table=self.table
        )
        merged = {**self._custom, **added}
        source = self.source if "custom:dict" in self.source else f"{self.source}+custom:dict"
        return PriceBook(self.table, merged, claude=self._claude, source=source)


def load_pricebook(
    pricing_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> PriceBook:
    """Build the price book: LiteLLM's table, a custom price file and the Claude variables.

    ``pricing_file`` defaults to ``MEMORY_BANKER_PRICING_FILE`` from ``environ`` (default
    ``os.environ``), so library users get the same prices as the CLI.

    Raises:
        PricingFileError: the price file is missing, malformed or holds a bad price.
        PricingEnvError: a ``CLAUDE_COST_PER_1M_*`` variable is not a non-negative number.
        PriceTableError: LiteLLM's table cannot be found or read.
    """
    env = os.environ if environ is None else environ
    if pricing_file is None:
        named = env.get(PRICING_FILE_ENV, "").strip()
        pricing_file = Path(named) if named else None
    table = load_table()
    claude = claude_override(env)
    source = "litellm" if claude is None else "litellm+custom:env"
    if pricing_file is None:
        return PriceBook(table, claude=claude, source=source)
    custom = read_pricing_file(pricing_file, table)
    return PriceBook(table, custom, claude=claude, source=f"{source}+custom:{pricing_file}")


@lru_cache(maxsize=8)
def _default_for(claude_input: str, claude_output: str) -> PriceBook:
    environ = {ENV_INPUT: claude_input, ENV_OUTPUT: claude_output}
    return PriceBook(
        load_table(),
        claude=claude_override(environ),
        source="litellm" if not (claude_input or claude_output) else "litellm+custom:env",
    )


def default_pricebook() -> PriceBook:
    """Return the shared price book: LiteLLM's table with the Claude variables applied.

    No price file is read. Cached per process (and per value of the two variables).

    Raises:
        PricingEnvError: a ``CLAUDE_COST_PER_1M_*`` variable is not a non-negative number.
        PriceTableError: LiteLLM's table cannot be found or read.
    """
    return _default_for(
        os.environ.get(ENV_INPUT, "").strip(), os.environ.get(ENV_OUTPUT, "").strip()
    )
