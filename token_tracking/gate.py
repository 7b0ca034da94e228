"""The CI gate's verdict: totals measured against a cost and/or token threshold.

The gate is split in two so that anything can be gated: a *target* reduces what is checked — one
report, or (with the ledger) a period of history — to :class:`GateTotals`, and :func:`evaluate`
turns totals and :class:`Thresholds` into a :class:`CheckVerdict`. Which cost is gated: the cost
recorded in the report, except for reports written by memory-banker 0.1, which are re-priced with
today's table (see :func:`token_tracking.reports.pricer.report_cost`).

An unknown cost, or a cost that is only a lower bound (some tokens had no price), fails a
``--max-cost`` gate unless ``allow_unknown``: a gate must never pass because it could not see the
cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel

from token_tracking import display
from token_tracking.errors import GateUsageError
from token_tracking.reports.file import TokenUsageReport
from token_tracking.reports.pricer import PricebookLoader, report_cost

# Float sums of per-request costs carry noise in the last bits; a cost equal to the threshold up
# to that noise is within it.
_COST_TOLERANCE = 1e-12

_MAX_DECIMALS = 8
"""The most decimals a cost above its threshold is printed with to show it is above."""


@dataclass(frozen=True)
class Thresholds:
    """The limits a gate checks; ``None`` means "not checked"."""

    max_cost_usd: float | None = None
    """Fail when the cost is above this many USD."""
    max_tokens: int | None = None
    """Fail when the total tokens are above this."""

    def __post_init__(self) -> None:
        if self.max_cost_usd is None and self.max_tokens is None:
            raise GateUsageError("give --max-cost USD and/or --max-tokens N to check against")
        if self.max_cost_usd is not None and not (
            math.isfinite(self.max_cost_usd) and self.max_cost_usd >= 0
        ):
            raise GateUsageError(
                f"--max-cost must be a number of USD, zero or more (got {self.max_cost_usd:g})"
            )
        if self.max_tokens is not None and self.max_tokens < 0:
            raise GateUsageError(f"--max-tokens must be zero or more (got {self.max_tokens})")


@dataclass(frozen=True)
class GateTotals:
    """What is being checked, reduced to the numbers the gate compares."""

    target: str
    """What was checked, for the message: a report file name, ``the last 7 days`` …"""
    total_tokens: int | None
    """Total tokens; ``None`` when unknown."""
    cost_usd: float | None
    """Cost in USD; ``None`` when unknown."""
    cost_complete: bool
    """False when ``cost_usd`` is only a lower bound (some tokens had no price)."""
    session_id: str | None = None
    """The session checked, when the target is one report."""
    repriced: bool = False
    """True when the cost was recomputed with today's table (0.1 reports)."""
    unknown_models: tuple[str, ...] = ()
    """Models without a price, when known."""
    unpriced_reasons: tuple[str, ...] = ()
    """Why each of ``unknown_models`` has no price, in the same order, when the report says so
    (a known model priced per second or per image); shorter than ``unknown_models`` or empty when
    not, and those models are then unknown names."""
    priced_coverage: float | None = None
    """Share of tokens with a known price, when known."""


class CheckVerdict(BaseModel):
    """The gate's answer; ``tokens check --json`` prints this."""

    passed: bool
    """True when every threshold given holds."""
    exit_code: int
    """0 when passed, 1 when a threshold is crossed or the cost cannot be verified."""
    message: str
    """The one line printed: why it failed, or what was within which threshold."""
    target: str
    """What was checked (a report file name or a period)."""
    session_id: str | None = None
    """The session checked, when one report was."""
    cost_usd: float | None = None
    """The cost gated, in USD; ``None`` when unknown."""
    cost_is_lower_bound: bool = False
    """True when some tokens had no price, so the real cost may be higher."""
    cost_repriced: bool = False
    """True when a 0.1 report's cost was recomputed with today's table."""
    unknown_models: list[str] = []
    """Models without a price."""
    total_tokens: int | None = None
    """The tokens gated; ``None`` when unknown."""
    max_cost_usd: float | None = None
    """The cost threshold, if one was given."""
    max_tokens: int | None = None
    """The token threshold, if one was given."""
    allow_unknown: bool = False
    """Whether an unknown or partial cost was accepted."""
    failures: list[str] = []
    """One entry per threshold that failed."""


def _value(text: str) -> float:
    return float(text.removeprefix("$"))


def over_threshold_figures(cost: float, limit: float) -> tuple[str, str]:
    """Return ``cost`` and ``limit`` as :func:`token_tracking.display.usd` writes them, unless that
    would print a cost above the limit as a figure at or below it: then both get the fewest extra
    decimals (up to 8) that tell them apart.
    """
    cost_text, limit_text = display.usd(cost), display.usd(limit)
    decimals = 5
    while _value(cost_text) <= _value(limit_text) and decimals <= _MAX_DECIMALS:
        cost_text, limit_text = f"${cost:.{decimals}f}", f"${limit:.{decimals}f}"
        decimals += 1
    return cost_text, limit_text


def _unknown_reason(totals: GateTotals) -> str:
    if totals.unknown_models:
        reasons = totals.unpriced_reasons
        shown = [
            (model, reasons[index] if index < len(reasons) else "")
            for index, model in enumerate(totals.unknown_models[:3])
        ]
        names = [model for model, reason in shown if not reason]
        parts = [f"no price for {', '.join(names)}"] if names else []
        return "; ".join(parts + [reason for _, reason in shown if reason])
    if totals.priced_coverage is not None and totals.cost_usd is not None:
        return f"{totals.priced_coverage:.0%} of tokens priced"
    return "no price known"


def _refuse_damaged(totals: GateTotals) -> None:
    """Refuse totals no run can produce: NaN passes every comparison (``nan > limit`` is false),
    so a hand-edited or damaged report holding ``NaN`` or a negative total would pass the gate."""
    cost, tokens = totals.cost_usd, totals.total_tokens
    if cost is not None and not (math.isfinite(cost) and cost >= 0):
        raise GateUsageError(
            f"cannot check {totals.target}: its cost ({cost}) is not a number of USD, zero or "
            "more; the report or ledger is damaged"
        )
    if tokens is not None and tokens < 0:
        raise GateUsageError(
            f"cannot check {totals.target}: its token total ({display.tokens(tokens)}) is "
            "negative; the report or ledger is damaged"
        )


def evaluate(totals: GateTotals, thresholds: Thresholds, *, allow_unknown: bool) -> CheckVerdict:
    """Check ``totals`` against ``thresholds``; return the verdict with its one-line message.

    A cost equal to the threshold is within it. With a cost threshold, an unknown cost or a
    lower-bound cost below the threshold fails unless ``allow_unknown``; a lower bound above the
    threshold fails regardless. Raises ``GateUsageError`` when the totals are damaged (a cost that
    is NaN, infinite or negative, a negative token total).
    """
    _refuse_damaged(totals)
    failures: list[str] = []
    within: list[str] = []
    cost, limit = totals.cost_usd, thresholds.max_cost_usd
    if limit is not None:
        shown_limit = display.usd(limit)
        if cost is None:
            if allow_unknown:
                within.append(f"cost unknown ({_unknown_reason(totals)}), accepted")
            else:
                failures.append(
                    f"Cost unknown ({_unknown_reason(totals)}); cannot verify threshold "
                    f"{shown_limit} (use --allow-unknown to accept)"
                )
        elif cost - limit > _COST_TOLERANCE:
            at_least = "" if totals.cost_complete else "at least "
            shown_cost, shown_limit = over_threshold_figures(cost, limit)
            failures.append(f"Cost {at_least}{shown_cost} exceeds threshold {shown_limit}")
        elif not totals.cost_complete:
            lower = f"at least {display.usd(cost)} ({_unknown_reason(totals)})"
            if allow_unknown:
                within.append(f"cost {lower} within threshold {shown_limit}, accepted")
            else:
                failures.append(
                    f"Cost {lower} may exceed threshold {shown_limit} "
                    "(use --allow-unknown to accept)"
                )
        else:
            within.append(f"cost {display.usd(cost)} within threshold {shown_limit}")
    tokens, token_limit = totals.total_tokens, thresholds.max_tokens
    if token_limit is not None:
        if tokens is None:
            if allow_unknown:
                within.append("tokens unknown, accepted")
            else:
                failures.append(
                    f"Token count unknown; cannot verify threshold {display.tokens(token_limit)} "
                    "(use --allow-unknown to accept)"
                )
        elif tokens > token_limit:
            failures.append(
                f"Tokens {display.tokens(tokens)} exceed threshold {display.tokens(token_limit)}"
            )
        else:
            within.append(
                f"tokens {display.tokens(tokens)} within threshold {display.tokens(token_limit)}"
            )
    passed = not failures
    if passed:
        message = f"OK: {'; '.join(within)} ({totals.target})"
    else:
        message = "; ".join(failures)
    return CheckVerdict(
        passed=passed,
        exit_code=0 if passed else 1,
        message=message,
        target=totals.target,
        session_id=totals.session_id,
        cost_usd=cost,
        cost_is_lower_bound=cost is not None and not totals.cost_complete,
        cost_repriced=totals.repriced,
        unknown_models=list(totals.unknown_models),
        total_tokens=tokens,
        max_cost_usd=limit,
        max_tokens=token_limit,
        allow_unknown=allow_unknown,
        failures=failures,
    )


def report_totals(
    report: TokenUsageReport, target: str, pricebook: PricebookLoader | None
) -> GateTotals:
    """Reduce one report to the totals the gate checks.

    The cost is :func:`~token_tracking.reports.pricer.report_cost`'s: the recorded one, except a
    0.1 report's, re-priced with ``pricebook()`` when ``pricebook`` is given (a token-only gate
    needs no price). Raises what ``pricebook()`` raises.
    """
    cost = report_cost(report, pricebook)
    return GateTotals(
        target=target,
        session_id=report.session_id,
        total_tokens=report.total_tokens,
        cost_usd=cost.cost_usd,
        cost_complete=cost.complete,
        repriced=cost.repriced,
        unknown_models=cost.unknown_models,
        unpriced_reasons=cost.unpriced_reasons,
        priced_coverage=cost.priced_coverage,
    )
