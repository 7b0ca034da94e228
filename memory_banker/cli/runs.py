"""``memory-banker tokens compare|summary|report``: run directories and the comparison of two runs.

A run directory holds a ``tokens.jsonl`` file, one JSON line per request. ``compare`` sets a
baseline against an optimized run (each a report file or a run directory), ``summary`` sums one run
directory, ``report`` lists the recent runs under a folder.
"""

from __future__ import annotations

from pathlib import Path

import click

from memory_banker.cli.common import (
    AppContext,
    emit_json,
    pass_app,
    pricebook_loader,
    stdout_console,
)
from memory_banker.cli.tokens import locate_report
from memory_banker.errors import UsageError
from token_tracking.compare import compare_paths, comparison_markdown, render_comparison
from token_tracking.rundirs.recent import render_runs_report, runs_report
from token_tracking.rundirs.summary import print_summary, run_stats, save_summary


@click.command("compare")
@click.argument("baseline", type=click.Path(path_type=Path))
@click.argument("optimized", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(("text", "json", "markdown")),
    help="text (default), json (as --json), or markdown for a pull-request comment.",
)
@pass_app
def compare(
    app: AppContext, baseline: Path, optimized: Path, as_json: bool, output_format: str | None
) -> None:
    """Compare a baseline with an optimized run: tokens, cost, requests and per-agent deltas.

    Each side is a report file or a run directory holding tokens.jsonl (one JSON line per request).

    \b
    Examples:
      memory-banker tokens compare token_usage_20241206_143022.json token_usage_20241207_091500.json
      memory-banker tokens compare output/tech/run_tech_baseline output/tech/run_tech_with_scopes
      memory-banker tokens compare baseline.json optimized.json --format markdown
    """
    if as_json and output_format not in (None, "json"):
        raise UsageError(f"--json is --format json; it does not go with --format {output_format}")
    comparison = compare_paths(
        locate_report(app, baseline), locate_report(app, optimized), pricebook_loader(app)
    )
    if as_json or output_format == "json":
        emit_json(comparison)
    elif output_format == "markdown":
        click.echo(comparison_markdown(comparison), nl=False)
    else:
        render_comparison(comparison, stdout_console())


@click.command("summary")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--save", is_flag=True, help="Also write the summary to RUN_DIR/token_summary.json.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_app
def summary(app: AppContext, run_dir: Path, save: bool, as_json: bool) -> None:
    """Summarize a run directory's tokens.jsonl: totals, cost, per iteration and per operation.

    \b
    Example:
      memory-banker tokens summary output/tech/run_tech_20260228_123456 --save
    """
    stats = run_stats(run_dir, pricebook_loader(app))
    if save:
        path = save_summary(run_dir, stats)
        click.echo(f"Saved {path}", err=True)
    if as_json:
        emit_json(stats)
    else:
        print_summary(stats, stdout_console())


@click.command("report")
@click.option(
    "--runs-dir",
    type=click.Path(path_type=Path),
    required=True,
    help="The folder holding run directories (searched two levels deep).",
)
@click.option("--phase", metavar="P", help="Only runs of this phase (market, design, tech, …).")
@click.option("--limit", type=int, default=10, show_default=True, help="Show the newest N runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@pass_app
def report(app: AppContext, runs_dir: Path, phase: str | None, limit: int, as_json: bool) -> None:
    """Token usage across the recent runs under a folder, with totals and the average per run.

    \b
    Example:
      memory-banker tokens report --runs-dir output --phase tech --limit 20
    """
    if limit < 1:
        raise UsageError(f"--limit must be 1 or more (got {limit})")
    result = runs_report(runs_dir, phase=phase, limit=limit, pricebook=pricebook_loader(app))
    if as_json:
        emit_json(result)
    else:
        render_runs_report(result, stdout_console())
