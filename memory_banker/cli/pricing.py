"""``memory-banker pricing …``: LiteLLM's price table, name resolution, comparison and planning.

Thin commands: each parses its options, calls one function of ``pricing.views``, and renders the
result with Rich (or prints it as one JSON document with ``--json``: the view's fields, in order).
Custom prices from ``--pricing-file`` / ``MEMORY_BANKER_PRICING_FILE`` and ``CLAUDE_COST_PER_1M_*``
apply throughout.
Nothing here imports ``litellm``, ``openai``, ``agents`` or ``anthropic``.
"""

from __future__ import annotations

from dataclasses import asdict

import click
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from memory_banker.cli.common import AppContext, emit_json, pass_app, stdout_console
from pricing import PriceBook, Usage, load_pricebook
from pricing.views import (
    Comparison,
    ModelShow,
    PriceListing,
    RunEstimate,
    compare_models,
    estimate_run,
    list_models,
    parse_savings,
    show_model,
    split_models,
)
from token_tracking.display import plural, usd

NONE = "—"


def _book(app: AppContext) -> PriceBook:
    return load_pricebook(app.pricing_file)


def rate_text(per_1m: float | None) -> str:
    """USD per 1M tokens for display: at least 2 decimals, up to 6, ``—`` when there is none."""
    if per_1m is None:
        return NONE
    text = f"{per_1m:,.6f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"${whole}.{decimals.ljust(2, '0')}"


def _source_text(custom_source: str | None, version: str) -> str:
    if custom_source is None:
        return f"LiteLLM {version} price table"
    origin = {"env": "CLAUDE_COST_PER_1M_* environment", "dict": "custom price dict"}
    return f"custom: {origin.get(custom_source, custom_source)}"


def render_show(shown: ModelShow, console: Console) -> None:
    """Print one model's resolution and every rate per 1M tokens."""
    prices = shown.prices
    title = Text(prices.key, style="bold")
    if shown.model != prices.key:
        title.append(f"  (resolved from {shown.model!r}: {shown.step})", style="dim")
    console.print(title)
    window = NONE
    if prices.max_input_tokens is not None:
        window = f"{prices.max_input_tokens:,} input tokens"
        if prices.max_output_tokens is not None:
            window += f", {prices.max_output_tokens:,} output"
    facts = (
        ("Provider", prices.provider or NONE),
        ("Mode", prices.mode or NONE),
        ("Source", _source_text(prices.custom_source, shown.version)),
        ("Context window", window),
    )
    for label, value in facts:
        # soft_wrap: a long custom file path stays on one line, whatever the width.
        console.print(Text.assemble((f"{label:<16}", "bold"), value), soft_wrap=True)

    rates = Table(title="USD per 1M tokens", title_justify="left", box=None, padding=(0, 2))
    rates.add_column("Rate")
    rates.add_column("Price", justify="right")
    rates.add_row("input", rate_text(prices.input_per_1m))
    rates.add_row("cached input", rate_text(prices.cached_input_per_1m))
    rates.add_row("cache write", rate_text(prices.cache_write_per_1m))
    if prices.cache_write_1h_per_1m is not None:
        rates.add_row("cache write (1 hour)", rate_text(prices.cache_write_1h_per_1m))
    rates.add_row("output", rate_text(prices.output_per_1m))
    reasoning = rate_text(prices.reasoning_per_1m)
    rates.add_row("reasoning", reasoning if prices.reasoning_per_1m is not None else "= output")
    console.print(rates)

    if prices.tiers:
        tiers = Table(title="Long-context tiers", title_justify="left", box=None, padding=(0, 2))
        for column in ("Prompt above", "Input", "Cached", "Cache write", "Output", "Applied"):
            tiers.add_column(column, justify="left" if column == "Prompt above" else "right")
        for tier in prices.tiers:
            tiers.add_row(
                f"{tier.threshold:,} tokens",
                rate_text(tier.input_per_1m),
                rate_text(tier.cached_input_per_1m),
                rate_text(tier.cache_write_per_1m),
                rate_text(tier.output_per_1m),
                "yes" if tier.applied else "no",
            )
        console.print(tiers)
    if prices.bands:
        bands = Table(title="Token bands", title_justify="left", box=None, padding=(0, 2))
        for column in ("Tokens", "Input", "Output"):
            bands.add_column(column, justify="left" if column == "Tokens" else "right")
        for band in prices.bands:
            bands.add_row(
                f"{band.start:,.0f}-{band.end:,.0f}",
                rate_text(band.input_per_1m),
                rate_text(band.output_per_1m),
            )
        console.print(bands)
    for note in prices.notes:
        console.print(f"Note: {note}", style="dim")


def render_listing(listing: PriceListing, console: Console) -> None:
    """Print the listed entries as one table with their main rates per 1M tokens."""
    table = Table(box=None, padding=(0, 1), header_style="bold")
    table.add_column("Model", overflow="fold", min_width=24)
    table.add_column("Provider", overflow="fold")
    table.add_column("Mode", no_wrap=True)
    for column in ("Input/1M", "Cached/1M", "Output/1M", "Context"):
        table.add_column(column, justify="right", no_wrap=True)
    for prices in listing.models:
        table.add_row(
            prices.key + (" *" if prices.custom else ""),
            prices.provider or NONE,
            prices.mode or NONE,
            rate_text(prices.input_per_1m),
            rate_text(prices.cached_input_per_1m),
            rate_text(prices.output_per_1m),
            NONE if prices.max_input_tokens is None else f"{prices.max_input_tokens:,}",
        )
    console.print(table)
    footer = f"{plural(listing.count, 'model')}, LiteLLM {listing.version} price table"
    if any(prices.custom for prices in listing.models):
        footer += "; * custom prices"
    console.print(footer, style="dim")


def _usage_line(comparison: Comparison) -> str:
    parts = [f"{comparison.prompt_tokens:,} input"]
    if comparison.cached_tokens is not None:
        parts.append(f"{comparison.cached_tokens:,} of them cached")
    if comparison.cache_write_tokens is not None:
        parts.append(f"{comparison.cache_write_tokens:,} cache writes")
    parts.append(f"{comparison.completion_tokens:,} output")
    if comparison.reasoning_tokens is not None:
        parts.append(f"{comparison.reasoning_tokens:,} of them reasoning")
    return "Tokens: " + ", ".join(parts)


def render_comparison(comparison: Comparison, console: Console) -> None:
    """Print the usage and one row per model, cheapest first, unknown prices last.

    The cached, cache-write and reasoning columns appear only when those counts were given.
    """
    console.print(_usage_line(comparison))
    columns: list[tuple[str, str]] = [("Input", "input_cost")]
    if comparison.cached_tokens is not None:
        columns.append(("Cached", "cached_input_cost"))
    if comparison.cache_write_tokens is not None:
        columns.append(("Cache write", "cache_write_cost"))
    columns.append(("Output", "output_cost"))
    if comparison.reasoning_tokens is not None:
        columns.append(("Reasoning", "reasoning_cost"))
    columns.append(("Total", "total_cost"))
    table = Table(box=None, padding=(0, 2), header_style="bold")
    table.add_column("Model", no_wrap=True)
    for title, _ in columns:
        table.add_column(title, justify="right", no_wrap=True)
    for line in comparison.lines:
        if line.total_cost is None:
            table.add_row(line.model, *([""] * (len(columns) - 1)), "unknown")
        else:
            table.add_row(line.model, *(usd(getattr(line, field)) for _, field in columns))
    console.print(table)
    for line in comparison.lines:
        if line.status == "unknown":
            hint = f"; did you mean {', '.join(line.suggestions)}?" if line.suggestions else ""
            console.print(f"{line.model}: no known price{hint}", style="dim")
        elif line.status == "no_token_price":
            console.print(f"{line.model}: the table has no per-token price for it", style="dim")
        elif line.key is not None and line.key != line.model:
            console.print(f"{line.model}: priced as {line.key}", style="dim")
        if line.custom:
            console.print(f"{line.model}: custom prices", style="dim")
    console.print(f"Prices: LiteLLM {comparison.version} price table", style="dim")


def render_estimate(estimate: RunEstimate, console: Console) -> None:
    """Print the planned run's tokens, cost and the range after the expected saving."""
    roles = f"{estimate.roles} role" + ("" if estimate.roles == 1 else "s")
    console.print(
        Group(
            Text("Token usage estimate", style="bold"),
            Text(
                f"{estimate.iterations:,} iterations x {roles}, model {estimate.model}"
                + ("" if estimate.key == estimate.model else f" (priced as {estimate.key})")
            ),
        )
    )
    tokens = Table.grid(padding=(0, 2))
    tokens.add_column()
    tokens.add_column(justify="right")
    tokens.add_column(style="dim")
    tokens.add_row(
        "Input tokens",
        f"{estimate.input_tokens:,}",
        f"({estimate.iterations:,} x {estimate.avg_input_tokens:,} x {roles})",
    )
    tokens.add_row(
        "Output tokens",
        f"{estimate.output_tokens:,}",
        f"({estimate.iterations:,} x {estimate.avg_output_tokens:,} x {roles})",
    )
    tokens.add_row("Total tokens", f"{estimate.total_tokens:,}", "")
    console.print(tokens)
    source = "custom prices" if estimate.custom else f"LiteLLM {estimate.version} prices"
    console.print(f"Estimated cost ({source}, no prompt caching):", style="bold")
    costs = Table.grid(padding=(0, 2))
    costs.add_column()
    costs.add_column(justify="right")
    costs.add_row("Input", usd(estimate.input_cost))
    costs.add_row("Output", usd(estimate.output_cost))
    costs.add_row("Total", usd(estimate.total_cost))
    console.print(costs)
    saving = estimate.savings
    if saving is not None:
        span = f"{saving.low_percent:g}-{saving.high_percent:g}%"
        if saving.low_percent == saving.high_percent:
            span = f"{saving.low_percent:g}%"
        console.print(f"With an expected {span} saving:", style="bold")
        after = Table.grid(padding=(0, 2))
        after.add_column()
        after.add_column()
        after.add_row("Tokens", f"{saving.tokens_low:,} - {saving.tokens_high:,}")
        if saving.cost_low is None or saving.cost_high is None:
            after.add_row("Cost", "unknown")
        else:
            after.add_row("Cost", f"{usd(saving.cost_low)} - {usd(saving.cost_high)}")
        console.print(after)


@click.group(name="pricing")
def pricing() -> None:
    """Model prices from LiteLLM's bundled table (plus your custom prices).

    \b
    Examples:
      memory-banker pricing show gpt-4o-mini
      memory-banker pricing list --provider anthropic --search sonnet
      memory-banker pricing compare --input 10000 --cached 4000 --output 2000 \\
          --models gpt-4o-mini,gpt-4o,claude-3-haiku
      memory-banker pricing estimate --iterations 5 --roles 2 --model gpt-4
    """


@pricing.command(name="show")
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_app
def show_command(app: AppContext, model: str, as_json: bool) -> None:
    """Show how MODEL resolves and every rate per 1M tokens.

    An unknown model exits 2 with close known names.

    \b
    Examples:
      memory-banker pricing show gpt-4o-mini
      memory-banker pricing show anthropic/claude-3-sonnet --json
    """
    shown = show_model(_book(app), model)
    if as_json:
        emit_json(asdict(shown))
    else:
        render_show(shown, stdout_console())


@pricing.command(name="list")
@click.option("--provider", help="Only this LiteLLM provider (for example openai, anthropic).")
@click.option("--search", help="Only models whose name contains this text (any case).")
@click.option("--mode", help="Only this mode (chat, embedding, completion, ...).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_app
def list_command(
    app: AppContext, provider: str | None, search: str | None, mode: str | None, as_json: bool
) -> None:
    """List models and their rates per 1M tokens.

    \b
    Examples:
      memory-banker pricing list --provider anthropic
      memory-banker pricing list --search gpt-4o --mode chat --json
    """
    listing = list_models(_book(app), provider=provider, search=search, mode=mode)
    if as_json:
        emit_json(asdict(listing))
    elif listing.count == 0:
        click.echo("No model matches.", err=True)
    else:
        console = stdout_console()
        if not console.is_terminal:
            # Piped into grep or a file: one line per model, never folded at 80 columns.
            console.width = max(console.width, 160)
        render_listing(listing, console)


_COUNT = click.IntRange(min=0)


@pricing.command(name="compare")
@click.option("--input", "input_tokens", type=_COUNT, required=True, help="Input tokens.")
@click.option("--output", "output_tokens", type=_COUNT, required=True, help="Output tokens.")
@click.option("--cached", type=_COUNT, default=None, help="Of the input: cached tokens.")
@click.option("--cache-write", type=_COUNT, default=None, help="Of the input: cache writes.")
@click.option("--reasoning", type=_COUNT, default=None, help="Of the output: reasoning tokens.")
@click.option("--models", required=True, help="Comma-separated model names.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_app
def compare_command(
    app: AppContext,
    input_tokens: int,
    output_tokens: int,
    cached: int | None,
    cache_write: int | None,
    reasoning: int | None,
    models: str,
    as_json: bool,
) -> None:
    """Price one request's tokens for several models, cheapest first.

    Models without a known price are listed as unknown (never $0); the command still exits 0.

    \b
    Example:
      memory-banker pricing compare --input 10000 --cached 4000 --output 2000 \\
          --models gpt-4o-mini,gpt-4o,claude-3-haiku
    """
    usage = Usage(
        prompt_tokens=input_tokens,
        completion_tokens=output_tokens,
        cached_tokens=cached,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
    )
    comparison = compare_models(_book(app), usage, split_models(models))
    if as_json:
        emit_json(asdict(comparison))
    else:
        render_comparison(comparison, stdout_console())


@pricing.command(name="estimate")
@click.option("--iterations", type=click.IntRange(min=1), required=True, help="Planned iterations.")
@click.option(
    "--avg-input", type=_COUNT, default=2000, show_default=True, help="Input tokens per call."
)
@click.option(
    "--avg-output", type=_COUNT, default=1000, show_default=True, help="Output tokens per call."
)
@click.option(
    "--roles", type=click.IntRange(min=1), default=1, show_default=True, help="Calls per iteration."
)
@click.option("--model", default="gpt-4o-mini", show_default=True, help="Model to price.")
@click.option(
    "--savings",
    default="20-30",
    show_default=True,
    help="Expected saving in percent, a range or one number (0 for none).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@pass_app
def estimate_command(
    app: AppContext,
    iterations: int,
    avg_input: int,
    avg_output: int,
    roles: int,
    model: str,
    savings: str,
    as_json: bool,
) -> None:
    """Estimate tokens and cost of a planned run of another agent app.

    Tokens = iterations x average per call x roles; an unknown --model exits 2 with close names.

    \b
    Example:
      memory-banker pricing estimate --iterations 5 --roles 2 --model gpt-4 --savings 20-30
    """
    estimate = estimate_run(
        _book(app),
        iterations=iterations,
        avg_input=avg_input,
        avg_output=avg_output,
        roles=roles,
        model=model,
        savings=parse_savings(savings),
    )
    if as_json:
        emit_json(asdict(estimate))
    else:
        render_estimate(estimate, stdout_console())
