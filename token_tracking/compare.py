"""Baseline against optimized: compare two reports or two run directories.

Each side is a report file (``token_usage_*.json``) or a run directory holding ``tokens.jsonl``.
A side is reduced to its tokens, cost, requests (iterations for a run directory) and a breakdown
by agent (reports) or operation (run directories); the comparison gives the savings in tokens
and percent, the change in cost, and the per-name deltas.

:func:`render_comparison` prints it as text, :func:`comparison_markdown` as a GitHub-flavoured
markdown comment (with the report marker, so a workflow can update its comment in place).

Costs are the ones the CI gate uses (:func:`token_tracking.reports.pricer.report_cost`):
recorded, except a 0.1 report's, which is re-priced with today's table. A cost over an agent or
operation with some unknown part is unknown; a cost difference with an unknown side is unknown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from rich.console import Console

from token_tracking import display
from token_tracking.counts import sum_exact, sum_known
from token_tracking.errors import CompareInputError
from token_tracking.records import DeferredModel
from token_tracking.reports.file import load_report
from token_tracking.reports.markdown import MARKER, table, text
from token_tracking.reports.pricer import PricebookLoader, report_cost
from token_tracking.reports.render import RULE
from token_tracking.rundirs.log import TOKENS_FILE
from token_tracking.rundirs.summary import run_stats

SideKind = Literal["report", "run"]
Outcome = Literal["improved", "worse", "unchanged"]


class BreakdownItem(DeferredModel):
    """Tokens and cost of one agent or operation on one side."""

    tokens: int
    """Tokens spent by this agent or operation."""
    cost_usd: float | None
    """Their cost in USD; ``None`` when unknown."""


class ComparisonSide(DeferredModel):
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


class BreakdownDelta(DeferredModel):
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


class Comparison(DeferredModel):
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
        if not (path / TOKENS_FILE).is_file():
            raise CompareInputError(f"{path} is a directory without {TOKENS_FILE}")
        return _run_side(path, pricebook)
    if not path.exists():
        raise CompareInputError(f"{path} does not exist (expected a report file or run directory)")
    return _report_side(path, pricebook)


def _report_side(path: Path, pricebook: PricebookLoader) -> ComparisonSide:
    report = load_report(path)
    cost = report_cost(report, pricebook)
    breakdown: dict[str, BreakdownItem] = {}
    for agent in report.agent_usage:
        tokens = agent.total_tokens
        if tokens is None:
            known = sum_known([agent.prompt_tokens, agent.completion_tokens])
            tokens = 0 if known is None else known
        item = breakdown.get(agent.agent_name)
        if item is None:
            breakdown[agent.agent_name] = BreakdownItem(tokens=tokens, cost_usd=agent.cost_usd)
        else:
            item.tokens += tokens
            item.cost_usd = sum_exact([item.cost_usd, agent.cost_usd])
    requests = report.total_requests
    if requests is None and report.agent_usage:
        requests = sum_exact(a.requests for a in report.agent_usage)
    return ComparisonSide(
        label=path.name,
        path=str(path),
        kind="report",
        # A report whose every count is unknown (null total) compares as 0 known tokens.
        total_tokens=report.total_tokens if report.total_tokens is not None else 0,
        cost_usd=cost.cost_usd,
        cost_is_lower_bound=cost.cost_usd is not None and not cost.complete,
        cost_repriced=cost.repriced,
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


def _percent_text(percentage: float | None) -> str:
    """Write a percentage (25.0, not 0.25) as :func:`token_tracking.display.percent` does."""
    return display.percent(None if percentage is None else percentage / 100)


def _side_lines(title: str, side: ComparisonSide) -> list[str]:
    cost = display.usd(side.cost_usd, lower_bound=side.cost_is_lower_bound)
    if side.cost_repriced:
        cost += " (a 0.1 report: today's table)"
    lines = [
        f"{title}: {display.printable(side.label)}",
        f"  Tokens: {display.tokens(side.total_tokens)}",
        f"  Cost:   {cost}",
    ]
    if side.kind == "run":
        iterations = "unknown" if side.iterations is None else str(side.iterations)
        lines.append(f"  Iterations: {iterations}")
    else:
        requests = display.tokens(side.requests)
        lines.append(f"  Requests: {requests}")
    return lines


def render_comparison(comparison: Comparison, console: Console) -> None:
    """Print ``comparison`` in the 60-column frame: both sides, the savings, the per-agent or
    per-operation deltas, and the outcome."""
    lines = [RULE, "Token Usage Comparison", RULE, ""]
    lines += _side_lines("Baseline", comparison.baseline)
    lines.append("")
    lines += _side_lines("Optimized", comparison.optimized)
    lines += ["", "Savings:"]
    lines.append(
        f"  Tokens: {display.tokens(comparison.token_savings)} "
        f"({_percent_text(comparison.token_savings_percent)})"
    )
    if comparison.cost_savings_usd is None:
        lines.append("  Cost:   unknown")
    else:
        bound = comparison.baseline.cost_is_lower_bound or comparison.optimized.cost_is_lower_bound
        note = " (prices partly unknown)" if bound else ""
        lines.append(f"  Cost:   {display.signed_usd(comparison.cost_savings_usd)}{note}")
    if comparison.breakdown:
        kind = {"agent": "Agent", "operation": "Operation", "mixed": "Agent / operation"}
        rows = [
            (
                display.printable(delta.name),
                display.tokens(delta.baseline_tokens, unknown="-"),
                display.tokens(delta.optimized_tokens, unknown="-"),
                f"{delta.change_tokens:+,}",
                "" if delta.change_percent is None else f"{delta.change_percent:+.1f}%",
            )
            for delta in comparison.breakdown
        ]
        table = display.columns(
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
        more = "more" if percent is None else f"{_percent_text(-percent)} more"
        return f"❌ Optimization made it worse: used {more} tokens"
    return "No change: both used the same number of tokens"


# --- markdown --------------------------------------------------------------------------------


def _side_cost(side: ComparisonSide) -> str:
    cost = display.usd(side.cost_usd, lower_bound=side.cost_is_lower_bound)
    return cost + " (0.1 report, today's table)" if side.cost_repriced else cost


def _side_count(side: ComparisonSide) -> str:
    return display.tokens(side.iterations if side.kind == "run" else side.requests)


def comparison_markdown(comparison: Comparison) -> str:
    """Return ``comparison`` as a markdown document for a pull-request comment: the report
    marker, a heading with the outcome, a table of both sides and the change, the per-agent or
    per-operation table, and the outcome line."""
    base, optimized = comparison.baseline, comparison.optimized
    mark = {"improved": "✅ ", "worse": "❌ ", "unchanged": ""}[comparison.outcome]
    count_label = "Iterations" if base.kind == optimized.kind == "run" else "Requests"
    savings_cost = display.signed_usd(
        None if comparison.cost_savings_usd is None else -comparison.cost_savings_usd
    )
    change_percent = comparison.token_savings_percent
    rows = [
        (
            "Baseline",
            text(base.label),
            display.tokens(base.total_tokens),
            text(_side_cost(base)),
            _side_count(base),
        ),
        (
            "Optimized",
            text(optimized.label),
            display.tokens(optimized.total_tokens),
            text(_side_cost(optimized)),
            _side_count(optimized),
        ),
        (
            "Change",
            "",
            f"{-comparison.token_savings:+,}"
            + ("" if change_percent is None else f" ({-change_percent:+.1f}%)"),
            text(savings_cost),
            "",
        ),
    ]
    lines = [MARKER, f"### {mark}Token usage comparison: {comparison.outcome}", ""]
    lines += table(
        ("", "Run", "Tokens", "Cost", count_label),
        rows,
        ("left", "left", "right", "right", "right"),
    )
    if comparison.breakdown:
        kind = {"agent": "Agent", "operation": "Operation", "mixed": "Agent / operation"}
        delta_rows = [
            (
                text(delta.name),
                display.tokens(delta.baseline_tokens, unknown="-"),
                display.tokens(delta.optimized_tokens, unknown="-"),
                f"{delta.change_tokens:+,}",
                "" if delta.change_percent is None else f"{delta.change_percent:+.1f}%",
            )
            for delta in comparison.breakdown
        ]
        delta_table = table(
            (kind[comparison.breakdown_by], "Baseline", "Optimized", "Change", "%"),
            delta_rows,
            ("left", "right", "right", "right", "right"),
        )
        lines += ["", *delta_table]
    lines += ["", _outcome_line(comparison)]
    return "\n".join(lines) + "\n"
