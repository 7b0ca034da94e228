"""Baseline against optimized: compare two reports or two run directories (seed 004's compare).

Each side is a report file (``token_usage_*.json``) or a run directory holding ``tokens.jsonl``.
A side is reduced to its tokens, cost, requests (iterations for a run directory) and a breakdown
by agent (reports) or operation (run directories); the comparison gives the savings in tokens
and percent, the change in cost, and the per-name deltas.

Costs are the ones the gate uses (:func:`token_tracking.gate.report_totals`): recorded, except a
0.1 report's, which is re-priced with today's table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from rich.console import Console

from token_tracking.errors import CompareInputError
from token_tracking.gate import report_totals
from token_tracking.reports.listing import PricebookLoader, format_columns, load_report, money
from token_tracking.rundirs.summary import RUN_LOG_NAME, run_stats

SideKind = Literal["report", "run"]
Outcome = Literal["improved", "worse", "unchanged"]

RULE = "=" * 60


class BreakdownItem(BaseModel):
    """Tokens and cost of one agent or operation on one side."""

    tokens: int
    """Tokens spent by this agent or operation."""
    cost_usd: float | None
    """Their cost in USD; ``None`` when unknown."""


class ComparisonSide(BaseModel):
    """One side of a comparison, reduced to what is compared."""

    label: str
    """Display name: the file or directory name."""
    path: str
    """The path as given."""
    kind: SideKind
    """``report`` for a report file, ``run`` for a run directory."""
    total_tokens: int
    """Prompt plus completion tokens."""
    cost_usd: float | None
    """Cost in USD; ``None`` when unknown."""
    cost_is_lower_bound: bool
    """True when some tokens had no price."""
    cost_repriced: bool = False
    """True for a 0.1 report, whose stored cost came from a wrong table: ``cost_usd`` is its
    cost under today's table."""
    requests: int | None
    """LLM requests (reports); ``None`` when the report does not say."""
    iterations: int | None
    """Distinct iterations (run directories)."""
    breakdown: dict[str, BreakdownItem]
    """Per agent (reports) or per operation (run directories)."""


class BreakdownDelta(BaseModel):
    """How one agent or operation changed from baseline to optimized."""

    name: str
    """Agent or operation name."""
    baseline_tokens: int | None
    """Tokens in the baseline; ``None`` when it is absent there."""
    optimized_tokens: int | None
    """Tokens in the optimized side; ``None`` when it is absent there."""
    change_tokens: int
    """``optimized - baseline`` (an absent side counts as 0 spent)."""
    change_percent: float | None
    """``change_tokens`` as a percentage of the baseline; ``None`` when the baseline is 0."""


class Comparison(BaseModel):
    """The comparison ``tokens compare --json`` prints."""

    baseline: ComparisonSide
    """The side before the change."""
    optimized: ComparisonSide
    """The side after the change."""
    token_savings: int
    """``baseline - optimized`` tokens; negative when it got worse."""
    token_savings_percent: float | None
    """Token savings as a percentage of the baseline; ``None`` when the baseline is 0."""
    cost_savings_usd: float | None
    """``baseline - optimized`` cost; ``None`` when either cost is unknown."""
    breakdown_by: Literal["agent", "operation", "mixed"]
    """What the breakdown rows name."""
    breakdown: list[BreakdownDelta]
    """Per agent or operation, in first-seen order."""
    outcome: Outcome
    """``improved`` when fewer tokens, ``worse`` when more, else ``unchanged``."""


def load_side(path: Path, pricebook: PricebookLoader) -> ComparisonSide:
    """Reduce a report file or a run directory to a :class:`ComparisonSide`.

    Raises :class:`CompareInputError` when ``path`` is neither, and the report or log errors
    of the loaders.
    """
    if path.is_dir():
        if not (path / RUN_LOG_NAME).is_file():
            raise CompareInputError(f"{path} is a directory without {RUN_LOG_NAME}")
        return _run_side(path, pricebook)
    if not path.exists():
        raise CompareInputError(f"{path} does not exist (expected a report file or run directory)")
    return _report_side(path, pricebook)


def _report_side(path: Path, pricebook: PricebookLoader) -> ComparisonSide:
    report = load_report(path)
    totals = report_totals(report, path.name, pricebook)
    breakdown: dict[str, BreakdownItem] = {}
    for agent in report.agent_usage:
        tokens = agent.total_tokens
        if tokens is None:
            tokens = sum(n for n in (agent.prompt_tokens, agent.completion_tokens) if n is not None)
        item = breakdown.get(agent.agent_name)
        if item is None:
            breakdown[agent.agent_name] = BreakdownItem(tokens=tokens, cost_usd=agent.cost_usd)
        else:
            item.tokens += tokens
            item.cost_usd = _add_cost(item.cost_usd, agent.cost_usd)
    requests = report.total_requests
    if requests is None and report.agent_usage:
        counts = [a.requests for a in report.agent_usage]
        requests = None if any(c is None for c in counts) else sum(c for c in counts if c)
    return ComparisonSide(
        label=path.name,
        path=str(path),
        kind="report",
        total_tokens=report.total_tokens,
        cost_usd=totals.cost_usd,
        cost_is_lower_bound=totals.cost_usd is not None and not totals.cost_complete,
        cost_repriced=totals.repriced,
        requests=requests,
        iterations=None,
        breakdown=breakdown,
    )


def _run_side(path: Path, pricebook: PricebookLoader) -> ComparisonSide:
    stats = run_stats(path, pricebook)
    return ComparisonSide(
        label=path.name,
        path=str(path),
        kind="run",
        total_tokens=stats.total_tokens,
        cost_usd=stats.total_cost_usd,
        cost_is_lower_bound=stats.total_cost_usd is not None and stats.unpriced_requests > 0,
        requests=stats.requests,
        iterations=stats.iterations,
        breakdown={
            name: BreakdownItem(tokens=op.total_tokens, cost_usd=op.total_cost)
            for name, op in stats.breakdown_by_operation.items()
        },
    )


def _add_cost(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return a + b


def _percent(part: int, whole: int) -> float | None:
    if whole == 0:
        return None
    return part / whole * 100.0


def compare(baseline: ComparisonSide, optimized: ComparisonSide) -> Comparison:
    """Compare two sides: savings are ``baseline - optimized``; returns the :class:`Comparison`."""
    savings = baseline.total_tokens - optimized.total_tokens
    names = list(baseline.breakdown)
    names += [name for name in optimized.breakdown if name not in baseline.breakdown]
    deltas = []
    for name in names:
        before = baseline.breakdown.get(name)
        after = optimized.breakdown.get(name)
        before_tokens = before.tokens if before is not None else None
        after_tokens = after.tokens if after is not None else None
        change = (after_tokens if after_tokens is not None else 0) - (
            before_tokens if before_tokens is not None else 0
        )
        deltas.append(
            BreakdownDelta(
                name=name,
                baseline_tokens=before_tokens,
                optimized_tokens=after_tokens,
                change_tokens=change,
                change_percent=_percent(change, before_tokens) if before_tokens else None,
            )
        )
    cost_savings = None
    if baseline.cost_usd is not None and optimized.cost_usd is not None:
        cost_savings = baseline.cost_usd - optimized.cost_usd
    by: Literal["agent", "operation", "mixed"]
    if baseline.kind != optimized.kind:
        by = "mixed"
    else:
        by = "agent" if baseline.kind == "report" else "operation"
    outcome: Outcome = "improved" if savings > 0 else "worse" if savings < 0 else "unchanged"
    return Comparison(
        baseline=baseline,
        optimized=optimized,
        token_savings=savings,
        token_savings_percent=_percent(savings, baseline.total_tokens),
        cost_savings_usd=cost_savings,
        breakdown_by=by,
        breakdown=deltas,
        outcome=outcome,
    )


def compare_paths(baseline: Path, optimized: Path, pricebook: PricebookLoader) -> Comparison:
    """Load both sides and compare them; raises what :func:`load_side` raises."""
    return compare(load_side(baseline, pricebook), load_side(optimized, pricebook))


def _signed_money(value: float) -> str:
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):.4f}"


def _percent_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def _side_lines(title: str, side: ComparisonSide) -> list[str]:
    cost = money(side.cost_usd, lower_bound=side.cost_is_lower_bound)
    if side.cost_repriced:
        cost += " (a 0.1 report: today's table)"
    lines = [
        f"{title}: {side.label}",
        f"  Tokens: {side.total_tokens:,}",
        f"  Cost:   {cost}",
    ]
    if side.kind == "run":
        iterations = "unknown" if side.iterations is None else str(side.iterations)
        lines.append(f"  Iterations: {iterations}")
    else:
        requests = "unknown" if side.requests is None else f"{side.requests:,}"
        lines.append(f"  Requests: {requests}")
    return lines


def _tokens_or_dash(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def render_comparison(comparison: Comparison, console: Console) -> None:
    """Print ``comparison`` in seed 004's layout, with the per-agent or per-operation deltas."""
    lines = [RULE, "Token Usage Comparison", RULE, ""]
    lines += _side_lines("Baseline", comparison.baseline)
    lines.append("")
    lines += _side_lines("Optimized", comparison.optimized)
    lines += ["", "Savings:"]
    lines.append(
        f"  Tokens: {comparison.token_savings:,} "
        f"({_percent_text(comparison.token_savings_percent)})"
    )
    if comparison.cost_savings_usd is None:
        lines.append("  Cost:   unknown")
    else:
        bound = comparison.baseline.cost_is_lower_bound or comparison.optimized.cost_is_lower_bound
        note = " (prices partly unknown)" if bound else ""
        lines.append(f"  Cost:   {_signed_money(comparison.cost_savings_usd)}{note}")
    if comparison.breakdown:
        kind = {"agent": "Agent", "operation": "Operation", "mixed": "Agent / operation"}
        rows = [
            (
                delta.name,
                _tokens_or_dash(delta.baseline_tokens),
                _tokens_or_dash(delta.optimized_tokens),
                f"{delta.change_tokens:+,}",
                "" if delta.change_percent is None else f"{delta.change_percent:+.1f}%",
            )
            for delta in comparison.breakdown
        ]
        table = format_columns(
            (kind[comparison.breakdown_by], "Baseline", "Optimized", "Change", ""),
            rows,
            right=(1, 2, 3, 4),
        )
        lines += ["", f"By {comparison.breakdown_by}:", *(f"  {line}" for line in table)]
    lines.append("")
    lines.append(_outcome_line(comparison))
    lines.append(RULE)
    console.out("\n".join(lines), highlight=False)


def _outcome_line(comparison: Comparison) -> str:
    percent = comparison.token_savings_percent
    if comparison.outcome == "improved":
        return f"✅ Optimization successful! Saved {_percent_text(percent)} tokens"
    if comparison.outcome == "worse":
        more = "more" if percent is None else f"{-percent:.1f}% more"
        return f"❌ Optimization made it worse: used {more} tokens"
    return "No change: both used the same number of tokens"
