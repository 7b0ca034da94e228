"""Pricing usage: each request as it is recorded, and a saved report again with a given table.

- :class:`Pricer` prices each request record once, as it is recorded, and remembers how every
  model resolved (for the report's ``pricing`` block).
- :func:`total_cost` and :func:`priced_coverage` are the report's cost figures over priced
  requests: the sum of the known costs, and the share of tokens that sum covers.
- :func:`reprice_report`, :func:`calculate_cost` and :func:`price_report` price a saved report's
  agents again from their token sums.
- :func:`report_cost` is the cost a report is judged by (the CI gate, ``tokens compare``).

This module reads a ``TokenUsageReport`` but never builds one from scratch (it copies the one it
is given), so it needs the class for type hints only: :mod:`token_tracking.reports.file`, which
defines it, calls down into this module.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pricing import CostBreakdown, PriceBook, Unpriced, Usage, default_pricebook
from token_tracking.counts import sum_known
from token_tracking.records import AgentUsage, ModelPricing, PricingInfo, RequestUsage
from token_tracking.reports.summary import ReportCost, recorded_cost

if TYPE_CHECKING:
    from token_tracking.reports.file import TokenUsageReport

logger = logging.getLogger(__name__)

OFFLINE_MODEL = "offline"
"""The model name of memory-banker's offline engine: priced at an explicit $0, not via the table."""

PricebookLoader = Callable[[], PriceBook]
"""Returns the price table; called only when a cost must actually be computed."""


def pricing_usage(usage: RequestUsage | AgentUsage) -> Usage:
    """Return the counts of a request or agent as the ``pricing`` package's ``Usage``."""
    return Usage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cached_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
    )


@dataclass(frozen=True)
class PriceResult:
    """The cost of one usage and how its model resolved."""

    cost_usd: float | None
    """USD, or None when unknown."""
    note: ModelPricing | None
    """How the model resolved; None when the usage named no model."""
    reason: str | None = None
    """Why the cost is unknown (None when known)."""
    unpriced_tokens: int | None = None
    """Tokens the cost prices at $0 for lack of a rate (cached tokens without a cache-read
    rate); None when every token has its rate."""


def cache_note(model: str) -> str:
    """The report's note for a model whose cached tokens the table cannot price."""
    return f"cached tokens of {model} have no cache price in the table: cost is a lower bound"


class Pricer:
    """Prices usage with one price book, warning once per model whose price is unknown."""

    def __init__(self, pricebook: PriceBook | None = None, default_model: str | None = None):
        self._book = pricebook
        self.default_model = default_model
        self.models: dict[str, ModelPricing] = {}
        """How each model seen so far resolved, in first-seen order."""
        self._warned: set[str | None] = set()

    @property
    def book(self) -> PriceBook:
        """The price book in use (the default one, loaded on first need, when none was given)."""
        if self._book is None:
            self._book = default_pricebook()
        return self._book

    def pricing_info(self) -> PricingInfo:
        """Return the report's ``pricing`` block: table source and version, and each model."""
        return PricingInfo(
            source=self.book.source, version=self.book.version, models=list(self.models.values())
        )

    def _warn_once(self, model: str | None, message: str) -> None:
        if model not in self._warned:
            self._warned.add(model)
            logger.warning("%s", message)

    def _remember(self, note: ModelPricing) -> None:
        known = self.models.get(note.model)
        if known is not None and note.tier is None:
            # Keep the tier a larger request reached; base-rate requests do not erase it.
            note = note.model_copy(update={"tier": known.tier})
        self.models[note.model] = note

    def cost(self, model: str | None, usage: Usage) -> PriceResult:
        """Return the cost of ``usage`` under ``model`` (or the default model).

        Never raises. An unknown model: the cost is None, a warning names up to three close known
        models, and the note records them. A known model without a per-token price (priced per
        second, image, character or query): None, and the warning and note say so. A usage without
        its prompt or completion count: None, no warning (the count's absence is the reason).
        """
        name = model if model is not None else self.default_model
        if name is None:
            reason = "the request names no model and the tracker has no default_model"
            self._warn_once(None, f"cost unknown: {reason}")
            return PriceResult(None, None, reason)
        if name == OFFLINE_MODEL:
            note = ModelPricing(model=name, matched_key=OFFLINE_MODEL)
            self._remember(note)
            return PriceResult(0.0, note)
        outcome = self.book.cost_or_reason(name, usage)
        if isinstance(outcome, Unpriced):
            return self._unpriced(name, outcome)
        breakdown = outcome
        note = ModelPricing(
            model=name, matched_key=breakdown.key, tier=breakdown.tier, custom=breakdown.custom
        )
        unpriced_tokens = None
        cached = usage.cached_tokens
        if cached is not None and cached > 0 and self._lacks_cache_rate(name, breakdown):
            # LiteLLM prices them at $0: the cost stays LiteLLM's, the coverage says it is low.
            unpriced_tokens = cached
            note = note.model_copy(update={"lower_bound_reason": cache_note(name)})
        else:
            known = self.models.get(name)
            if known is not None and known.lower_bound_reason is not None:
                note = note.model_copy(update={"lower_bound_reason": known.lower_bound_reason})
        self._remember(note)
        return PriceResult(breakdown.total, note, unpriced_tokens=unpriced_tokens)

    def _lacks_cache_rate(self, name: str, breakdown: CostBreakdown) -> bool:
        """True when ``name``'s table entry has no cache-read rate and cached tokens cost $0."""
        if breakdown.cached_input_rate != 0.0:
            return False
        resolution = self.book.lookup(name)
        return resolution is not None and resolution.entry.cache_read_cost_per_token is None

    def _unpriced(self, name: str, unpriced: Unpriced) -> PriceResult:
        """The unknown cost of a usage ``cost_or_reason`` could not price, warned once per model."""
        if unpriced.reason == "incomplete_usage":
            # The model's price is known; this one usage lacks a count (not worth a warning).
            note = self.models.get(name)
            if note is None:
                resolution = self.book.lookup(name)
                note = ModelPricing(
                    model=name,
                    matched_key=unpriced.key,
                    custom=resolution is not None and resolution.custom,
                )
                self._remember(note)
            return PriceResult(None, note, unpriced.message)
        if unpriced.reason == "no_token_price":
            # A near name would not help: the name matched, the table has no per-token rate.
            self._warn_once(name, f"cost of {name!r} unknown: {unpriced.message}")
            note = ModelPricing(model=name, reason=unpriced.message)
            self._remember(note)
            return PriceResult(None, note, unpriced.message)
        suggestions = self.book.suggestions(name)[:3]
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        reason = f"no price for model {name!r}{hint}"
        self._warn_once(
            name, f"{reason}: its cost is unknown (give its price in a custom pricing file)"
        )
        note = ModelPricing(model=name, suggestions=suggestions)
        self._remember(note)
        return PriceResult(None, note, reason)

    def priced_model(self, usage: RequestUsage) -> str | None:
        """The model ``usage`` is priced as: the response's model when the table resolves it,
        else the requested one (``request_model``, then ``model``), else the default model."""
        requested = usage.request_model if usage.request_model is not None else usage.model
        response = usage.response_model
        if response is not None and response != requested and response != OFFLINE_MODEL:
            found = self.book.lookup(response)
            if found is not None:
                asked = None if requested is None else self.book.lookup(requested)
                # The same entry under the caller's spelling keeps the caller's name.
                return requested if asked is not None and asked.key == found.key else response
        for name in (requested, response):
            if name is not None:
                return name
        return self.default_model

    def price(self, usage: RequestUsage) -> RequestUsage:
        """Return a copy of ``usage`` with its priced model (see :meth:`priced_model`),
        ``request_model`` and ``cost_usd`` filled.

        An actual cost the caller gave (``cost_is_actual``) is kept as it is.
        """
        request_model = usage.request_model if usage.request_model is not None else usage.model
        model = self.priced_model(usage)
        update: dict[str, object] = {"model": model, "request_model": request_model}
        if usage.cost_is_actual and usage.cost_usd is not None:
            return usage.model_copy(update=update)
        result = self.cost(model, pricing_usage(usage))
        update.update(
            cost_usd=result.cost_usd, cost_is_actual=False, unpriced_tokens=result.unpriced_tokens
        )
        return usage.model_copy(update=update)


def priced_coverage(requests: Sequence[RequestUsage]) -> float | None:
    """Return the share of known tokens whose cost is known (1.0 = all); None with no tokens."""
    total = 0
    priced = 0
    for request in requests:
        tokens = sum_known([request.prompt_tokens, request.completion_tokens])
        if tokens is None:
            continue
        total += tokens
        if request.cost_usd is not None:
            priced += tokens
            if request.unpriced_tokens is not None:
                priced -= request.unpriced_tokens
    if total == 0:
        return (
            None
            if not requests
            else (1.0 if all(r.cost_usd is not None for r in requests) else 0.0)
        )
    return priced / total


def total_cost(requests: Sequence[RequestUsage]) -> float | None:
    """Return the sum of the known request costs: 0.0 with no request, None when none is known.

    With some costs unknown the sum is a lower bound; ``priced_coverage`` says by how much.
    """
    if not requests:
        return 0.0
    return sum_known(r.cost_usd for r in requests)


# --- re-pricing a saved report ----------------------------------------------------------------


def reprice_report(
    report: TokenUsageReport,
    pricebook: PriceBook | None = None,
    *,
    custom_pricing: Mapping[str, Mapping[str, float]] | None = None,
    model: str | None = None,
) -> TokenUsageReport:
    """Return a copy of ``report`` with every agent's cost, the total and the pricing block
    computed again, from the agents' token sums.

    ``custom_pricing`` (``{"model": {"prompt_per_1k": USD, "completion_per_1k": USD}}``)
    overrides or adds models; ``model`` prices every agent as that model. Agent-level sums are
    priced as one request each, so a long-context tier that only some requests reached may price
    differently from the original per-request costs. Raises PricingError when ``custom_pricing``
    is malformed.
    """
    book = default_pricebook() if pricebook is None else pricebook
    if custom_pricing is not None:
        book = book.with_custom(custom_pricing)
    pricer = Pricer(book)
    agents: list[AgentUsage] = []
    costed: list[RequestUsage] = []
    sources = report.agent_usage or [
        # A report without agents (a manual entry) is priced from its totals.
        AgentUsage(
            agent_name=report.command,
            prompt_tokens=report.total_prompt_tokens,
            completion_tokens=report.total_completion_tokens,
            cached_tokens=report.total_cached_tokens,
            cache_write_tokens=report.total_cache_write_tokens,
            reasoning_tokens=report.total_reasoning_tokens,
            model=report.model,
        )
    ]
    for agent in sources:
        name = model if model is not None else (agent.model or report.model)
        cost = pricer.cost(name, pricing_usage(agent)).cost_usd
        agents.append(agent.model_copy(update={"cost_usd": cost}))
        costed.append(
            RequestUsage(
                timestamp=report.end_time,
                prompt_tokens=agent.prompt_tokens,
                completion_tokens=agent.completion_tokens,
                cost_usd=cost,
            )
        )
    update: dict[str, object] = {
        "total_cost_usd": total_cost(costed),
        "priced_coverage": priced_coverage(costed),
        "pricing": pricer.pricing_info(),
    }
    if report.agent_usage:
        update["agent_usage"] = agents
    if model is not None:
        update["model"] = model
    return report.model_copy(update=update)


def calculate_cost(
    report: TokenUsageReport,
    custom_pricing: Mapping[str, Mapping[str, float]] | None = None,
    pricebook: PriceBook | None = None,
    *,
    model: str | None = None,
) -> float | None:
    """Return the report's total cost under today's table (plus ``custom_pricing``), in USD.

    None when no agent could be priced; with some unpriced, the sum of the priced ones (a lower
    bound). Raises PricingError when ``custom_pricing`` is malformed.
    """
    return reprice_report(
        report, pricebook, custom_pricing=custom_pricing, model=model
    ).total_cost_usd


@dataclass(frozen=True)
class PricedTotal:
    """What a report's usage costs under a price table."""

    cost_usd: float | None
    """The cost of the priced part; ``None`` when nothing could be priced."""
    unknown_models: tuple[str, ...]
    """Models with no price (``(none)`` for usage that names no model)."""

    @property
    def complete(self) -> bool:
        """True when every token was priced, so ``cost_usd`` is the cost, not a lower bound."""
        return not self.unknown_models and self.cost_usd is not None


def price_report(
    report: TokenUsageReport, pricebook: PriceBook, *, as_model: str | None = None
) -> PricedTotal:
    """Price ``report``'s usage with ``pricebook``: each agent on its own model, or on
    ``as_model`` when given (what the same usage would cost there).

    Returns a :class:`PricedTotal` whose cost is a lower bound when some model has no price.
    """
    repriced = reprice_report(report, pricebook, model=as_model)
    models = repriced.pricing.models if repriced.pricing is not None else []
    unknown = tuple(m.model for m in models if m.matched_key is None)
    coverage = repriced.priced_coverage
    if not unknown and coverage is not None and coverage < 1.0:
        unknown = ("(none)",)  # usage that names no model cannot be priced
    return PricedTotal(cost_usd=repriced.total_cost_usd, unknown_models=unknown)


# --- the cost a report is judged by -----------------------------------------------------------


def is_v0_1(report: TokenUsageReport) -> bool:
    """True for a report written by memory-banker 0.1 (it has no ``schema_version``)."""
    return report.schema_version is None


def report_cost(report: TokenUsageReport, pricebook: PricebookLoader | None) -> ReportCost:
    """Return the cost ``report`` is judged by: the recorded one, a lower bound when
    ``priced_coverage`` < 1.

    A memory-banker 0.1 report recorded a cost from a table known to be wrong (it priced
    ``gpt-4o-mini`` at ``gpt-4o`` rates): it is re-priced with ``pricebook()``, loaded only then,
    and only when ``pricebook`` is given (a token-only check needs no price). Raises what
    ``pricebook()`` raises.
    """
    if is_v0_1(report) and pricebook is not None:
        priced = price_report(report, pricebook())
        return ReportCost(
            cost_usd=priced.cost_usd,
            complete=priced.complete,
            repriced=True,
            unknown_models=priced.unknown_models,
        )
    return recorded_cost(report)
