"""The cost-regression gate: the cost (or tokens) against a baseline's, at, just below and just
above the allowed increase, and unknown or lower-bound figures under the --allow-unknown rule."""

from __future__ import annotations

import pytest

from token_tracking.errors import GateUsageError
from token_tracking.gate import Baseline, GateTotals, Thresholds, evaluate

BASE = Baseline(label="base.json", total_tokens=10_000, cost_usd=1.0, cost_complete=True)


def totals(cost: float | None, tokens: int | None = 10_000, *, complete: bool = True) -> GateTotals:
    return GateTotals(target="new.json", total_tokens=tokens, cost_usd=cost, cost_complete=complete)


@pytest.mark.parametrize(
    ("cost", "passed", "message"),
    [
        (
            1.10,
            True,
            "OK: cost $1.1000 is 10.0% above baseline $1.0000 (base.json), within 10% (new.json)",
        ),
        (
            1.0999,
            True,
            "OK: cost $1.0999 is 10.0% above baseline $1.0000 (base.json), within 10% (new.json)",
        ),
        (
            1.1001,
            False,
            "Cost $1.1001 is 10.01% above baseline $1.0000 (base.json), over the limit of 10%",
        ),
        (
            0.9,
            True,
            "OK: cost $0.9000 is 10.0% below baseline $1.0000 (base.json), within 10% (new.json)",
        ),
    ],
    ids=["at", "just below", "just above", "cheaper"],
)
def test_the_cost_increase_at_just_below_and_just_above_the_limit(
    cost: float, passed: bool, message: str
) -> None:
    verdict = evaluate(
        totals(cost), Thresholds(max_increase_percent=10), allow_unknown=False, baseline=BASE
    )

    assert (verdict.passed, verdict.exit_code, verdict.message) == (
        passed,
        0 if passed else 1,
        message,
    )
    assert verdict.cost_increase_percent == pytest.approx((cost - 1.0) * 100, rel=1e-9)


@pytest.mark.parametrize(
    ("tokens", "passed"),
    [(11_000, True), (10_999, True), (11_001, False)],
    ids=["at", "just below", "just above"],
)
def test_the_token_increase_at_just_below_and_just_above_the_limit(
    tokens: int, passed: bool
) -> None:
    verdict = evaluate(
        totals(1.0, tokens),
        Thresholds(max_increase_tokens_percent=10),
        allow_unknown=False,
        baseline=BASE,
    )

    assert verdict.passed is passed
    assert [check.name for check in verdict.checks] == ["max-increase-tokens"]
    if not passed:
        assert verdict.message == (
            "Tokens 11,001 are 10.01% above baseline 10,000 (base.json), over the limit of 10%"
        )


def test_a_fractional_percentage_is_read_as_written() -> None:
    base = Baseline(label="b", total_tokens=1000, cost_usd=None, cost_complete=False)
    limit = Thresholds(max_increase_tokens_percent=0.1)

    at = evaluate(totals(None, 1001), limit, allow_unknown=False, baseline=base)
    above = evaluate(totals(None, 1002), limit, allow_unknown=False, baseline=base)

    assert (at.passed, above.passed) == (True, False)


def test_an_unknown_cost_on_either_side_fails_unless_allowed() -> None:
    limit = Thresholds(max_increase_percent=10)
    unknown_base = Baseline(label="base.json", total_tokens=1, cost_usd=None, cost_complete=False)

    mine = evaluate(totals(None, complete=False), limit, allow_unknown=False, baseline=BASE)
    theirs = evaluate(totals(1.0), limit, allow_unknown=False, baseline=unknown_base)
    accepted = evaluate(totals(1.0), limit, allow_unknown=True, baseline=unknown_base)

    assert mine.message == (
        "Cost increase unknown (the gated run's cost is unknown); cannot verify the limit of 10% "
        "over base.json (use --allow-unknown to accept)"
    )
    assert theirs.message == (
        "Cost increase unknown (the baseline's cost is unknown); cannot verify the limit of 10% "
        "over base.json (use --allow-unknown to accept)"
    )
    assert (mine.passed, theirs.passed, accepted.passed) == (False, False, True)
    assert accepted.message == (
        "OK: cost increase unknown (the baseline's cost is unknown), accepted (new.json)"
    )


def test_a_lower_bound_cost_fails_only_when_the_answer_is_open() -> None:
    limit = Thresholds(max_increase_percent=10)
    lower_base = Baseline(label="base.json", total_tokens=1, cost_usd=1.0, cost_complete=False)

    # Within on a lower bound: the real cost may be over. Fails unless allowed.
    open_now = evaluate(totals(1.05, complete=False), limit, allow_unknown=False, baseline=BASE)
    allowed = evaluate(totals(1.05, complete=False), limit, allow_unknown=True, baseline=BASE)
    # Over on a lower bound against an exact baseline: certainly over, even when allowed.
    over_now = evaluate(totals(1.5, complete=False), limit, allow_unknown=True, baseline=BASE)
    # Within against a lower-bound baseline: the real increase is smaller still.
    within = evaluate(totals(1.05), limit, allow_unknown=False, baseline=lower_base)
    # Over against a lower-bound baseline: the real baseline may be higher. Open.
    open_base = evaluate(totals(1.5), limit, allow_unknown=False, baseline=lower_base)

    assert (open_now.passed, allowed.passed, over_now.passed) == (False, True, False)
    assert open_now.message == (
        "Cost ≥$1.0500 is 5.0% above baseline $1.0000 (base.json), may exceed the limit of 10% "
        "(use --allow-unknown to accept)"
    )
    assert (within.passed, open_base.passed) == (True, False)
    accepted = evaluate(totals(1.5), limit, allow_unknown=True, baseline=lower_base)
    assert accepted.message == (
        "OK: cost $1.5000 is 50.0% above baseline ≥$1.0000 (base.json), may exceed the limit of "
        "10%, accepted (new.json)"
    )


def test_an_increase_from_nothing_has_no_percentage_and_fails() -> None:
    free = Baseline(label="offline.json", total_tokens=0, cost_usd=0.0, cost_complete=True)

    verdict = evaluate(
        totals(0.01, 100), Thresholds(max_increase_percent=50), allow_unknown=False, baseline=free
    )
    same = evaluate(
        totals(0.0, 0), Thresholds(max_increase_percent=0), allow_unknown=False, baseline=free
    )

    assert verdict.message == (
        "Cost $0.0100 is above baseline $0.0000 (offline.json), over the limit of 50%"
    )
    assert verdict.cost_increase_percent is None
    assert verdict.checks[0].value == "new"
    assert same.message == (
        "OK: cost $0.0000 is 0.0% above baseline $0.0000 (offline.json), within 0% (new.json)"
    )


def test_both_regression_thresholds_and_a_cost_threshold_are_all_checked() -> None:
    verdict = evaluate(
        totals(1.2, 13_000),
        Thresholds(max_cost_usd=2, max_increase_percent=10, max_increase_tokens_percent=10),
        allow_unknown=False,
        baseline=BASE,
    )

    assert [(check.name, check.passed) for check in verdict.checks] == [
        ("max-cost", True),
        ("max-increase", False),
        ("max-increase-tokens", False),
    ]
    assert verdict.failures == [
        "Cost $1.2000 is 20.0% above baseline $1.0000 (base.json), over the limit of 10%",
        "Tokens 13,000 are 30.0% above baseline 10,000 (base.json), over the limit of 10%",
    ]


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        (
            {"max_increase_percent": -1},
            "--max-increase must be a percentage, zero or more (got -1)",
        ),
        (
            {"max_increase_tokens_percent": float("nan")},
            "--max-increase-tokens must be a percentage, zero or more (got nan)",
        ),
    ],
)
def test_a_bad_percentage_is_refused(thresholds: dict[str, float], message: str) -> None:
    with pytest.raises(GateUsageError) as raised:
        Thresholds(**thresholds)  # type: ignore[arg-type]

    assert str(raised.value) == message


def test_an_increase_threshold_without_a_baseline_is_refused() -> None:
    with pytest.raises(GateUsageError, match="need --baseline F"):
        evaluate(totals(1.0), Thresholds(max_increase_percent=5), allow_unknown=False)
