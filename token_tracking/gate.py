"""The CI gate's verdict: totals measured against a cost and/or token threshold.

The gate is split in two so that anything can be gated: a *target* reduces what is checked — one
report, or (with the ledger) a period of history — to :class:`GateTotals`, and :func:`evaluate`
turns totals and :class:`Thresholds` into a :class:`CheckVerdict`. Which cost is gated: the cost
recorded in the report, except for reports written by memory-banker 0.1, which are re-priced with
today's table (see :func:`token_tracking.reports.pricer.report_cost`).

An unknown cost, or a cost that is only a lower bound (some tokens had no price), fails a
``--max-cost`` gate unless ``allow_unknown``: a gate must never pass because it could not see the
cost.

The regression gate compares the totals with a :class:`Baseline` (another report or run): it
fails when the cost (``max_increase_percent``) or the tokens (``max_increase_tokens_percent``)
are more than that many percent above the baseline's; an increase exactly at the limit passes.
When either side's figure is unknown, or a lower bound that leaves the answer open, the same
``allow_unknown`` rule decides.

Every threshold checked gives one :class:`ThresholdCheck` in the verdict, named as its option
(``max-cost``, ``max-tokens``, ``max-increase``, ``max-increase-tokens``): the JUnit file has one
test case per check, the job summary one table row.

The verdict types are frozen dataclasses and this module imports neither pydantic nor the price
table: gating the latest report, which the report index serves as a validated document, needs
neither (:func:`report_totals` reads attributes only).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from token_tracking import display
from token_tracking.errors import GateUsageError
from token_tracking.reports.summary import recorded_cost

if TYPE_CHECKING:
    from token_tracking.reports.file import TokenUsageReport
    from token_tracking.reports.pricer import PricebookLoader

# Float sums of per-request costs carry noise in the last bits; a cost equal to the threshold up
# to that noise is within it.
_COST_TOLERANCE = 1e-12

_MAX_DECIMALS = 8
"""The most decimals a cost above its threshold is printed with to show it is above."""

_MAX_PERCENT_DECIMALS = 6
"""The most decimals an increase just above its limit is printed with to show it is above."""

_NO_THRESHOLD = (
    "give --max-cost USD, --max-tokens N, or --baseline F with --max-increase PCT to check against"
)

CheckName = Literal["max-cost", "max-tokens", "max-increase", "max-increase-tokens"]


@dataclass(frozen=True)
class Thresholds:
    """The limits a gate checks; ``None`` means "not checked"."""

    max_cost_usd: float | None = None
    """Fail when the cost is above this many USD."""
    max_tokens: int | None = None
    """Fail when the total tokens are above this."""
    max_increase_percent: float | None = None
    """Fail when the cost is more than this many percent above the baseline's."""
    max_increase_tokens_percent: float | None = None
    """Fail when the tokens are more than this many percent above the baseline's."""

    def __post_init__(self) -> None:
        if all(
            limit is None
            for limit in (
                self.max_cost_usd,
                self.max_tokens,
                self.max_increase_percent,
                self.max_increase_tokens_percent,
            )
        ):
            raise GateUsageError(_NO_THRESHOLD)
        if self.max_cost_usd is not None and not (
            math.isfinite(self.max_cost_usd) and self.max_cost_usd >= 0
        ):
            raise GateUsageError(
                f"--max-cost must be a number of USD, zero or more (got {self.max_cost_usd:g})"
            )
        if self.max_tokens is not None and self.max_tokens < 0:
            raise GateUsageError(f"--max-tokens must be zero or more (got {self.max_tokens})")
        for option, percent in (
            ("--max-increase", self.max_increase_percent),
            ("--max-increase-tokens", self.max_increase_tokens_percent),
        ):
            if percent is not None and not (math.isfinite(percent) and percent >= 0):
                raise GateUsageError(
                    f"{option} must be a percentage, zero or more (got {percent:g})"
                )

    @property
    def against_baseline(self) -> bool:
        """True when a regression threshold is set, so a baseline is needed."""
        return self.max_increase_percent is not None or self.max_increase_tokens_percent is not None


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


@dataclass(frozen=True)
class Baseline:
    """The run the regression gate compares with, reduced to what it compares."""

    label: str
    """Its file or directory name, for messages."""
    total_tokens: int | None
    """Its total tokens; ``None`` when unknown."""
    cost_usd: float | None
    """Its cost in USD; ``None`` when unknown."""
    cost_complete: bool
    """False when ``cost_usd`` is only a lower bound or unknown."""


@dataclass(frozen=True)
class ThresholdCheck:
    """One threshold the gate checked, and how the figure compared with it."""

    name: CheckName
    """The threshold, named as its option: ``max-cost``, ``max-tokens``, ``max-increase``,
    ``max-increase-tokens``."""
    passed: bool
    """True when the figure is within the threshold (or an unknown figure was accepted)."""
    threshold: str
    """The threshold as printed: ``$1.0000``, ``200,000``, ``10%``."""
    value: str
    """The figure checked, as printed: ``$0.0531``, ``30,000``, ``+4.2%``, ``unknown``."""
    message: str
    """Why it failed, or what was within which threshold, in one line."""


@dataclass(frozen=True)
class CheckVerdict:
    """The gate's answer; ``tokens check --json`` prints :meth:`as_dict`."""

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
    unknown_models: list[str] = field(default_factory=list)
    """Models without a price."""
    total_tokens: int | None = None
    """The tokens gated; ``None`` when unknown."""
    max_cost_usd: float | None = None
    """The cost threshold, if one was given."""
    max_tokens: int | None = None
    """The token threshold, if one was given."""
    allow_unknown: bool = False
    """Whether an unknown or partial cost was accepted."""
    failures: list[str] = field(default_factory=list)
    """One entry per threshold that failed."""
    checks: list[ThresholdCheck] = field(default_factory=list)
    """Every threshold checked, in the order cost, tokens, cost increase, token increase."""
    baseline: str | None = None
    """The baseline compared with (a report file or run directory name), if any."""
    baseline_cost_usd: float | None = None
    """The baseline's cost in USD; ``None`` when unknown or without a baseline."""
    baseline_total_tokens: int | None = None
    """The baseline's tokens; ``None`` when unknown or without a baseline."""
    cost_increase_percent: float | None = None
    """How much the cost rose over the baseline's, in percent (negative: it fell); ``None`` when
    either cost is unknown or the baseline's is zero."""
    token_increase_percent: float | None = None
    """How much the tokens rose over the baseline's, in percent; ``None`` when unknown or the
    baseline's are zero."""
    max_increase_percent: float | None = None
    """The cost increase threshold in percent, if one was given."""
    max_increase_tokens_percent: float | None = None
    """The token increase threshold in percent, if one was given."""

    def as_dict(self) -> dict[str, Any]:
        """Return the verdict as the JSON object ``tokens check --json`` prints: every field in
        the order above, each check an object of its fields."""
        return asdict(self)


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


def _cost_check(totals: GateTotals, limit: float, allow_unknown: bool) -> ThresholdCheck:
    cost = totals.cost_usd
    shown_limit = display.usd(limit)
    value = display.usd(cost, lower_bound=cost is not None and not totals.cost_complete)

    def check(passed: bool, message: str, threshold: str = shown_limit) -> ThresholdCheck:
        return ThresholdCheck(
            name="max-cost", passed=passed, threshold=threshold, value=value, message=message
        )

    if cost is None:
        if allow_unknown:
            return check(True, f"cost unknown ({_unknown_reason(totals)}), accepted")
        return check(
            False,
            f"Cost unknown ({_unknown_reason(totals)}); cannot verify threshold "
            f"{shown_limit} (use --allow-unknown to accept)",
        )
    if cost - limit > _COST_TOLERANCE:
        at_least = "" if totals.cost_complete else "at least "
        shown_cost, wide_limit = over_threshold_figures(cost, limit)
        value = ("≥" if at_least else "") + shown_cost
        return check(
            False, f"Cost {at_least}{shown_cost} exceeds threshold {wide_limit}", wide_limit
        )
    if not totals.cost_complete:
        lower = f"at least {display.usd(cost)} ({_unknown_reason(totals)})"
        if allow_unknown:
            return check(True, f"cost {lower} within threshold {shown_limit}, accepted")
        return check(
            False,
            f"Cost {lower} may exceed threshold {shown_limit} (use --allow-unknown to accept)",
        )
    return check(True, f"cost {display.usd(cost)} within threshold {shown_limit}")


def _token_check(totals: GateTotals, limit: int, allow_unknown: bool) -> ThresholdCheck:
    tokens = totals.total_tokens
    shown_limit = display.tokens(limit)

    def check(passed: bool, message: str) -> ThresholdCheck:
        return ThresholdCheck(
            name="max-tokens",
            passed=passed,
            threshold=shown_limit,
            value=display.tokens(tokens),
            message=message,
        )

    if tokens is None:
        if allow_unknown:
            return check(True, "tokens unknown, accepted")
        return check(
            False,
            f"Token count unknown; cannot verify threshold {shown_limit} "
            "(use --allow-unknown to accept)",
        )
    if tokens > limit:
        return check(False, f"Tokens {display.tokens(tokens)} exceed threshold {shown_limit}")
    return check(True, f"tokens {display.tokens(tokens)} within threshold {shown_limit}")


def percent_limit(percent: float) -> str:
    """Return an increase threshold as printed: ``10%``, ``12.5%``."""
    return f"{percent:g}%"


def increase_percent(value: float, base: float) -> float | None:
    """Return how much ``value`` rose over ``base`` in percent (negative when it fell); ``None``
    when ``base`` is zero and ``value`` is not (an increase from nothing has no percentage)."""
    if base == 0:
        return 0.0 if value == 0 else None
    return (value - base) / base * 100.0


def _increase_text(increase: float, limit: float, over: bool) -> str:
    """``+23.5%``: one decimal, or as many (up to 6) as it takes for an increase above ``limit``
    not to read as equal to it."""
    decimals = 1
    while over and round(increase, decimals) <= limit and decimals < _MAX_PERCENT_DECIMALS:
        decimals += 1
    return f"{increase:+.{decimals}f}%"


def _is_over(value: float, base: float, percent: float, exact: bool) -> bool:
    """Whether ``value`` is more than ``percent`` percent above ``base``.

    Token counts compare exactly (``percent`` read as the decimal it was written as); costs with
    the float noise of summed prices tolerated, so an increase at the limit is within it."""
    if exact:
        factor = 1 + Fraction(repr(percent)) / 100
        return Fraction(int(value)) > Fraction(int(base)) * factor
    limit = base * (1 + percent / 100)
    return value - limit > max(_COST_TOLERANCE, abs(limit) * 1e-12)


def _increase_check(
    name: CheckName,
    what: Literal["cost", "tokens"],
    value: float | None,
    base: float | None,
    complete: tuple[bool, bool],
    percent: float,
    baseline: Baseline,
    allow_unknown: bool,
) -> ThresholdCheck:
    """Check that ``value`` is at most ``percent`` above the baseline's ``base``.

    ``complete`` says whether each of (value, base) is exact rather than a lower bound. An
    answer a lower bound leaves open fails unless ``allow_unknown``."""
    limit = percent_limit(percent)
    is_cost = what == "cost"

    def shown(figure: float | None, exact: bool) -> str:
        if is_cost:
            return display.usd(figure, lower_bound=figure is not None and not exact)
        return display.tokens(None if figure is None else int(figure))

    subject, verb = ("Cost", "is") if is_cost else ("Tokens", "are")
    now, before = shown(value, complete[0]), shown(base, complete[1])
    where = f"baseline {before} ({baseline.label})"

    def check(passed: bool, message: str, change: str) -> ThresholdCheck:
        return ThresholdCheck(
            name=name, passed=passed, threshold=limit, value=change, message=message
        )

    if value is None or base is None:
        side = "the gated run's" if value is None else "the baseline's"
        reason = f"{side} {what} {'is' if is_cost else 'are'} unknown"
        if allow_unknown:
            return check(True, f"{what} increase unknown ({reason}), accepted", "unknown")
        return check(
            False,
            f"{subject} increase unknown ({reason}); cannot verify the limit of {limit} over "
            f"{baseline.label} (use --allow-unknown to accept)",
            "unknown",
        )
    over = _is_over(value, base, percent, exact=not is_cost)
    increase = increase_percent(value, base)
    change = "new" if increase is None else _increase_text(increase, percent, over)
    if increase is None:
        rise = f"{subject} {now} {verb} above {where}"
    else:
        direction = "above" if increase >= 0 else "below"
        rise = f"{subject} {now} {verb} {change.lstrip('+-')} {direction} {where}"
    if over and complete[1]:
        return check(False, f"{rise}, over the limit of {limit}", change)
    if not over and complete[0]:
        return check(True, f"{rise[0].lower()}{rise[1:]}, within {limit}", change)
    # A lower bound on either side leaves the answer open.
    if allow_unknown:
        verdict = "may exceed the limit of" if over else "within"
        return check(True, f"{rise[0].lower()}{rise[1:]}, {verdict} {limit}, accepted", change)
    return check(
        False,
        f"{rise}, may exceed the limit of {limit} (use --allow-unknown to accept)",
        change,
    )


def evaluate(
    totals: GateTotals,
    thresholds: Thresholds,
    *,
    allow_unknown: bool,
    baseline: Baseline | None = None,
) -> CheckVerdict:
    """Check ``totals`` against ``thresholds`` (and ``baseline``, for the increase thresholds);
    return the verdict with its one-line message and one :class:`ThresholdCheck` per threshold.

    A cost equal to the threshold is within it, and so is an increase equal to its limit. With a
    cost threshold, an unknown cost or a lower-bound cost below the threshold fails unless
    ``allow_unknown``; a lower bound above the threshold fails regardless. Raises
    ``GateUsageError`` when the totals are damaged (a cost that is NaN, infinite or negative, a
    negative token total), or when an increase threshold is given without a baseline.
    """
    _refuse_damaged(totals)
    if thresholds.against_baseline and baseline is None:
        raise GateUsageError("--max-increase and --max-increase-tokens need --baseline F")
    checks: list[ThresholdCheck] = []
    if thresholds.max_cost_usd is not None:
        checks.append(_cost_check(totals, thresholds.max_cost_usd, allow_unknown))
    if thresholds.max_tokens is not None:
        checks.append(_token_check(totals, thresholds.max_tokens, allow_unknown))
    cost_increase = token_increase = None
    if baseline is not None:
        if totals.cost_usd is not None and baseline.cost_usd is not None:
            cost_increase = increase_percent(totals.cost_usd, baseline.cost_usd)
        if totals.total_tokens is not None and baseline.total_tokens is not None:
            token_increase = increase_percent(totals.total_tokens, baseline.total_tokens)
        if thresholds.max_increase_percent is not None:
            checks.append(
                _increase_check(
                    "max-increase",
                    "cost",
                    totals.cost_usd,
                    baseline.cost_usd,
                    (totals.cost_complete, baseline.cost_complete),
                    thresholds.max_increase_percent,
                    baseline,
                    allow_unknown,
                )
            )
        if thresholds.max_increase_tokens_percent is not None:
            checks.append(
                _increase_check(
                    "max-increase-tokens",
                    "tokens",
                    totals.total_tokens,
                    baseline.total_tokens,
                    (True, True),
                    thresholds.max_increase_tokens_percent,
                    baseline,
                    allow_unknown,
                )
            )
    failures = [check.message for check in checks if not check.passed]
    passed = not failures
    if passed:
        message = f"OK: {'; '.join(check.message for check in checks)} ({totals.target})"
    else:
        message = "; ".join(failures)
    cost = totals.cost_usd
    return CheckVerdict(
        passed=passed,
        exit_code=0 if passed else 1,
        message=message,
        target=totals.target,
        session_id=totals.session_id,
        cost_usd=_real(cost),
        cost_is_lower_bound=cost is not None and not totals.cost_complete,
        cost_repriced=totals.repriced,
        unknown_models=list(totals.unknown_models),
        total_tokens=_whole(totals.total_tokens),
        max_cost_usd=_real(thresholds.max_cost_usd),
        max_tokens=_whole(thresholds.max_tokens),
        allow_unknown=allow_unknown,
        failures=failures,
        checks=checks,
        baseline=None if baseline is None else baseline.label,
        baseline_cost_usd=None if baseline is None else _real(baseline.cost_usd),
        baseline_total_tokens=None if baseline is None else _whole(baseline.total_tokens),
        cost_increase_percent=_real(cost_increase),
        token_increase_percent=_real(token_increase),
        max_increase_percent=_real(thresholds.max_increase_percent),
        max_increase_tokens_percent=_real(thresholds.max_increase_tokens_percent),
    )


# The verdict's JSON writes a USD or percent figure as a float (`1.0`, never `1`) and a token
# count as an integer, whatever number type the ledger or a caller handed in.


def _real(value: float | None) -> float | None:
    return None if value is None else float(value)


def _whole(value: int | None) -> int | None:
    return None if value is None else int(value)


def report_totals(
    report: TokenUsageReport, target: str, pricebook: PricebookLoader | None
) -> GateTotals:
    """Reduce one report to the totals the gate checks.

    The cost is :func:`~token_tracking.reports.pricer.report_cost`'s: the recorded one, except a
    0.1 report's, re-priced with ``pricebook()`` when ``pricebook`` is given (a token-only gate
    needs no price). ``report`` is the report model, or, for a current report, the validated
    document the report index keeps of it
    (:meth:`~token_tracking.reports.listing.ReportListing.document`), which gives the same
    totals. Raises what ``pricebook()`` raises.
    """
    if report.schema_version is None and pricebook is not None:
        # Imported for 0.1 reports only: re-pricing needs the price table and the report model,
        # several times a bare Python start that gating a current report does not pay.
        from token_tracking.reports.pricer import report_cost

        cost = report_cost(report, pricebook)
    else:
        cost = recorded_cost(report)
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
