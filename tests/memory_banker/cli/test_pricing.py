"""``memory-banker pricing show|list|compare|estimate``: output, JSON, exit codes, bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from inline_snapshot import snapshot
from rich.console import Console

from memory_banker.cli.pricing import (
    rate_text,
    render_comparison,
    render_estimate,
    render_listing,
    render_show,
)
from pricing import Usage, default_pricebook
from pricing.views import compare_models, estimate_run, list_models, show_model
from tests.support.cli import invoke, run_installed
from token_tracking.display import usd


def rendered(render: object, value: object) -> str:
    console = Console(file=io.StringIO(), width=100, color_system=None)
    render(value, console)  # type: ignore[operator]
    output = console.file.getvalue()  # type: ignore[attr-defined]
    return "\n".join(line.rstrip() for line in output.splitlines()) + "\n"


def prices_file(tmp_path: Path) -> Path:
    path = tmp_path / "prices.toml"
    path.write_text(
        '[models."house-model"]\ninput_per_1m = 1.0\noutput_per_1m = 4.0\n'
        "cached_input_per_1m = 0.5\n",
        encoding="utf-8",
    )
    return path


# -- formatting -----------------------------------------------------------------------------------


def test_rate_and_money_formatting() -> None:
    assert rate_text(None) == "—"
    assert rate_text(0.15) == "$0.15"
    assert rate_text(0.075) == "$0.075"
    assert rate_text(2.5) == "$2.50"
    assert rate_text(1234.0) == "$1,234.00"
    assert rate_text(0.0) == "$0.00"
    assert usd(None) == "unknown"
    assert usd(0.0024) == "$0.0024"
    assert usd(0.0) == "$0.0000"
    assert usd(0.0000015) == "$0.000002"
    assert usd(1234.5) == "$1234.5000"


# -- show -----------------------------------------------------------------------------------------


def test_show_renders_every_rate() -> None:
    shown = show_model(default_pricebook(), "openai/GPT-4o-mini")
    assert rendered(render_show, shown) == snapshot("""\
gpt-4o-mini  (resolved from 'openai/GPT-4o-mini': prefix)
Provider        openai
Mode            chat
Source          LiteLLM 1.83.0 price table
Context window  128,000 input tokens, 16,384 output
USD per 1M tokens
  Rate               Price
  input              $0.15
  cached input      $0.075
  cache write            —
  output             $0.60
  reasoning       = output
Note: no cache write rate: those tokens cost $0, as LiteLLM bills them
Note: priority-tier rates exist but are not applied (usage has no service tier)
""")


def test_show_renders_tiers() -> None:
    shown = show_model(default_pricebook(), "gemini/gemini-2.5-pro")
    assert rendered(render_show, shown) == snapshot("""\
gemini/gemini-2.5-pro
Provider        gemini
Mode            chat
Source          LiteLLM 1.83.0 price table
Context window  1,048,576 input tokens, 65,535 output
USD per 1M tokens
  Rate               Price
  input              $1.25
  cached input      $0.125
  cache write            —
  output            $10.00
  reasoning       = output
Long-context tiers
  Prompt above      Input    Cached    Cache write    Output    Applied
  200,000 tokens    $2.50     $0.25              —    $15.00        yes
Note: no cache write rate: those tokens cost $0, as LiteLLM bills them
Note: priority-tier rates exist but are not applied (usage has no service tier)
""")


def test_show_command_prints_the_resolved_model() -> None:
    result = invoke(None, "pricing", "show", "claude-3-sonnet")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        "vertex_ai/claude-3-sonnet@20240229  (resolved from 'claude-3-sonnet': alias)"
    )
    assert "$3.00" in result.stdout
    assert "$15.00" in result.stdout
    assert result.stderr == ""


def test_show_json_is_one_document() -> None:
    result = invoke(None, "pricing", "show", "gpt-4o-2024-05-13", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["model"] == "gpt-4o-2024-05-13"
    assert document["step"] == "exact"
    assert document["source"] == "litellm"
    assert document["version"] == "1.83.0"
    prices = document["prices"]
    assert (prices["key"], prices["provider"], prices["mode"]) == (
        "gpt-4o-2024-05-13",
        "openai",
        "chat",
    )
    assert (prices["input_per_1m"], prices["output_per_1m"]) == (5.0, 15.0)
    assert prices["cached_input_per_1m"] is None
    assert prices["max_input_tokens"] == 128_000


def test_show_unknown_model_exits_2_with_suggestions() -> None:
    result = invoke(None, "pricing", "show", "gpt-4o-mni")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "Error: unknown model 'gpt-4o-mni': not in LiteLLM 1.83.0's price table nor in custom "
        "prices; did you mean gpt-4o-mini, gpt-5.4-mini, gpt-4.1-mini?\n"
    )


def test_show_custom_model_from_pricing_file(tmp_path: Path) -> None:
    path = prices_file(tmp_path)
    result = invoke(None, "--pricing-file", str(path), "pricing", "show", "house-model", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["source"] == f"litellm+custom:{path}"
    assert document["prices"]["custom"] is True
    assert document["prices"]["custom_source"] == str(path)
    assert document["prices"]["input_per_1m"] == 1.0
    assert document["prices"]["cached_input_per_1m"] == 0.5
    text = invoke(None, "--pricing-file", str(path), "pricing", "show", "house-model").stdout
    assert f"Source          custom: {path}" in text


def test_pricing_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMORY_BANKER_PRICING_FILE", str(prices_file(tmp_path)))
    assert invoke(None, "pricing", "show", "house-model").exit_code == 0


def test_bad_pricing_file_exits_2_naming_file_model_and_field(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text('[models.m]\ninput_per_1m = "x"\noutput_per_1m = 1\n', encoding="utf-8")
    result = invoke(None, "--pricing-file", str(path), "pricing", "show", "gpt-4o")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: pricing file {path}: model 'm': field 'input_per_1m' must be a number, got 'x'\n"
    )


def test_bad_claude_environment_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_COST_PER_1M_INPUT", "three")
    result = invoke(None, "pricing", "show", "claude-3-haiku")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: CLAUDE_COST_PER_1M_INPUT='three' is not a non-negative number of USD per 1M "
        "tokens\n"
    )


def test_claude_environment_shows_as_custom(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAUDE_COST_PER_1M_INPUT", "3")
    monkeypatch.setenv("CLAUDE_COST_PER_1M_OUTPUT", "15")
    document = json.loads(invoke(None, "pricing", "show", "claude-3-haiku", "--json").stdout)
    assert document["prices"]["custom_source"] == "env"
    assert (document["prices"]["input_per_1m"], document["prices"]["output_per_1m"]) == (3.0, 15.0)


# -- list -----------------------------------------------------------------------------------------


def test_list_renders_a_filtered_table() -> None:
    listing = list_models(default_pricebook(), provider="anthropic", search="opus-4-5")
    assert rendered(render_listing, listing) == snapshot("""\
 Model                     Provider   Mode  Input/1M  Cached/1M  Output/1M  Context
 claude-opus-4-5-20251101  anthropic  chat     $5.00      $0.50     $25.00  200,000
 claude-opus-4-5           anthropic  chat     $5.00      $0.50     $25.00  200,000
2 models, LiteLLM 1.83.0 price table
""")


def test_list_command_filters_by_provider_search_and_mode() -> None:
    result = invoke(
        None, "pricing", "list", "--provider", "OpenAI", "--search", "GPT-4O-MINI", "--json"
    )
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    keys = [model["key"] for model in document["models"]]
    assert document["count"] == len(keys)
    assert "gpt-4o-mini" in keys
    assert all("gpt-4o-mini" in key.lower() for key in keys)
    assert {model["provider"] for model in document["models"]} == {"openai"}
    embedding = json.loads(invoke(None, "pricing", "list", "--mode", "embedding", "--json").stdout)
    assert {model["mode"] for model in embedding["models"]} == {"embedding"}


def test_list_without_matches_says_so_on_stderr() -> None:
    result = invoke(None, "pricing", "list", "--search", "no-such-model-anywhere")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "No model matches.\n"
    document = json.loads(invoke(None, "pricing", "list", "--search", "nothing-x", "--json").stdout)
    assert (document["count"], document["models"]) == (0, [])


def test_list_marks_custom_models(tmp_path: Path) -> None:
    path = prices_file(tmp_path)
    result = invoke(None, "--pricing-file", str(path), "pricing", "list", "--search", "house-model")
    assert result.exit_code == 0
    assert "house-model *" in result.stdout
    assert "* custom prices" in result.stdout


# -- compare --------------------------------------------------------------------------------------


def test_compare_renders_cheapest_first_and_unknown_last() -> None:
    comparison = compare_models(
        default_pricebook(),
        Usage(prompt_tokens=10_000, completion_tokens=2_000, cached_tokens=4_000),
        ["gpt-4o", "nope-model", "claude-3-haiku", "gpt-4o-mini", "github_copilot/gpt-4o"],
    )
    assert rendered(render_comparison, comparison) == snapshot("""\
Tokens: 10,000 input, 4,000 of them cached, 2,000 output
  Model                      Input     Cached     Output      Total
  gpt-4o-mini              $0.0009    $0.0003    $0.0012    $0.0024
  claude-3-haiku           $0.0015    $0.0001    $0.0025    $0.0041
  gpt-4o                   $0.0150    $0.0050    $0.0200    $0.0400
  nope-model                                                unknown
  github_copilot/gpt-4o                                     unknown
claude-3-haiku: priced as claude-3-haiku-20240307
nope-model: no known price
github_copilot/gpt-4o: the table has no per-token price for it
Prices: LiteLLM 1.83.0 price table
""")


def test_compare_json_prices_unknown_as_null_never_zero() -> None:
    result = invoke(
        None,
        "pricing",
        "compare",
        "--input",
        "10000",
        "--cached",
        "4000",
        "--output",
        "2000",
        "--models",
        "gpt-4o, gpt-4o-mni,gpt-4o-mini,gpt-4o",
        "--json",
    )
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert [line["model"] for line in document["lines"]] == ["gpt-4o-mini", "gpt-4o", "gpt-4o-mni"]
    cheapest, dearer, unknown = document["lines"]
    assert cheapest["total_cost"] == pytest.approx(0.0024, rel=1e-9)
    assert dearer["total_cost"] == pytest.approx(0.015 + 0.005 + 0.02, rel=1e-9)
    assert unknown["status"] == "unknown"
    assert unknown["total_cost"] is None
    assert unknown["suggestions"] == ["gpt-4o-mini", "gpt-5.4-mini", "gpt-4.1-mini"]
    assert (document["prompt_tokens"], document["cached_tokens"]) == (10_000, 4_000)
    assert document["cache_write_tokens"] is None


def test_compare_with_reasoning_and_cache_writes() -> None:
    result = invoke(
        None,
        "pricing",
        "compare",
        "--input",
        "10000",
        "--cached",
        "2000",
        "--cache-write",
        "3000",
        "--output",
        "1000",
        "--reasoning",
        "400",
        "--models",
        "claude-haiku-4-5",
        "--json",
    )
    assert result.exit_code == 0
    line = json.loads(result.stdout)["lines"][0]
    assert line["cache_write_cost"] == pytest.approx(3_000 * 1.25e-6, rel=1e-9)
    assert line["reasoning_cost"] == pytest.approx(400 * 5e-6, rel=1e-9)
    assert line["total_cost"] == pytest.approx(0.005 + 0.0002 + 0.00375 + 0.005, rel=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--input", "10", "--cached", "40", "--output", "2", "--models", "gpt-4o"],
            "Error: --cached (40) exceeds --input (10): cached and cache-write tokens are part "
            "of the input\n",
        ),
        (
            [
                *("--input", "10", "--cached", "6", "--cache-write", "6"),
                *("--output", "2", "--models", "gpt-4o"),
            ],
            "Error: --cached (6) plus --cache-write (6) exceeds --input (10): cached and "
            "cache-write tokens are part of the input\n",
        ),
        (
            ["--input", "10", "--output", "2", "--reasoning", "5", "--models", "gpt-4o"],
            "Error: --reasoning (5) exceeds --output (2): reasoning tokens are part of the "
            "output\n",
        ),
        (
            ["--input", "10", "--output", "2", "--models", " , "],
            "Error: --models names no model; give a comma-separated list\n",
        ),
    ],
)
def test_compare_bad_input_exits_2_with_one_line(args: list[str], message: str) -> None:
    result = invoke(None, "pricing", "compare", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == message


@pytest.mark.parametrize(
    "args",
    [
        ["--input", "-1", "--output", "2", "--models", "gpt-4o"],
        ["--input", "ten", "--output", "2", "--models", "gpt-4o"],
        ["--output", "2", "--models", "gpt-4o"],
        ["--input", "1", "--output", "2"],
    ],
)
def test_compare_malformed_options_are_usage_errors(args: list[str]) -> None:
    result = invoke(None, "pricing", "compare", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith("Error: ")


# -- estimate -------------------------------------------------------------------------------------


def test_estimate_renders_the_seed_example() -> None:
    estimate = estimate_run(default_pricebook(), iterations=5, roles=2, model="gpt-4")
    assert rendered(render_estimate, estimate) == snapshot("""\
Token usage estimate
5 iterations x 2 roles, model gpt-4
Input tokens   20,000  (5 x 2,000 x 2 roles)
Output tokens  10,000  (5 x 1,000 x 2 roles)
Total tokens   30,000
Estimated cost (LiteLLM 1.83.0 prices, no prompt caching):
Input   $0.6000
Output  $0.6000
Total   $1.2000
With an expected 20-30% saving:
Tokens  21,000 - 24,000
Cost    $0.8400 - $0.9600
""")


def test_estimate_json_matches_the_studio_arithmetic() -> None:
    result = invoke(
        None,
        "pricing",
        "estimate",
        "--iterations",
        "5",
        "--roles",
        "2",
        "--model",
        "gpt-4",
        "--json",
    )
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert (document["input_tokens"], document["output_tokens"], document["total_tokens"]) == (
        20_000,
        10_000,
        30_000,
    )
    assert document["input_cost"] == pytest.approx(0.6, rel=1e-9)
    assert document["output_cost"] == pytest.approx(0.6, rel=1e-9)
    assert document["total_cost"] == pytest.approx(1.2, rel=1e-9)
    savings = document["savings"]
    assert (savings["tokens_low"], savings["tokens_high"]) == (21_000, 24_000)
    assert savings["cost_low"] == pytest.approx(0.84, rel=1e-9)
    assert savings["cost_high"] == pytest.approx(0.96, rel=1e-9)


def test_estimate_defaults_and_no_savings() -> None:
    result = invoke(None, "pricing", "estimate", "--iterations", "3", "--savings", "0", "--json")
    document = json.loads(result.stdout)
    assert document["model"] == "gpt-4o-mini"
    assert (document["avg_input_tokens"], document["avg_output_tokens"], document["roles"]) == (
        2000,
        1000,
        1,
    )
    assert document["total_cost"] == pytest.approx(3 * (2000 * 0.15e-6 + 1000 * 0.6e-6), rel=1e-9)
    assert document["savings"] is None
    single = json.loads(
        invoke(
            None, "pricing", "estimate", "--iterations", "1", "--savings", "25%", "--json"
        ).stdout
    )
    assert (single["savings"]["low_percent"], single["savings"]["high_percent"]) == (25.0, 25.0)


def test_estimate_model_without_token_price_is_unknown_not_zero() -> None:
    result = invoke(
        None, "pricing", "estimate", "--iterations", "2", "--model", "github_copilot/gpt-4o"
    )
    assert result.exit_code == 0
    assert "Total   unknown" in result.stdout
    assert "$0.0000" not in result.stdout


def test_estimate_unknown_model_exits_2_with_suggestions() -> None:
    result = invoke(None, "pricing", "estimate", "--iterations", "5", "--model", "claude-3-sonet")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "Error: unknown model 'claude-3-sonet': not in LiteLLM 1.83.0's price table nor in "
        "custom prices; did you mean claude-3-sonnet, claude-sonnet-4-6, claude-sonnet-4-5?\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--savings", "30-20"],
            "Error: --savings '30-20' must be percentages from 0 to 100, the smaller first\n",
        ),
        (
            ["--savings", "lots"],
            "Error: --savings 'lots' is not a percentage or range like 20-30\n",
        ),
        (
            ["--savings", "20-120"],
            "Error: --savings '20-120' must be percentages from 0 to 100, the smaller first\n",
        ),
    ],
)
def test_estimate_bad_savings_exit_2(args: list[str], message: str) -> None:
    result = invoke(None, "pricing", "estimate", "--iterations", "5", *args)
    assert result.exit_code == 2
    assert result.stderr == message


@pytest.mark.parametrize(
    "args", [["--iterations", "0"], ["--iterations", "2", "--roles", "0"], ["--avg-input", "5"]]
)
def test_estimate_malformed_options_are_usage_errors(args: list[str]) -> None:
    result = invoke(None, "pricing", "estimate", *args)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith("Error: ")


# -- help and process ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["show", "list", "compare", "estimate"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    result = invoke(None, "pricing", command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert f"memory-banker pricing {command}" in result.stdout


def test_pricing_commands_never_import_the_sdks() -> None:
    code = (
        "import sys\n"
        "from memory_banker.cli.main import cli\n"
        "cli.main(['pricing', 'compare', '--input', '10', '--output', '5', '--models',"
        " 'gpt-4o,claude-3-haiku', '--json'], standalone_mode=False)\n"
        "print(sorted(m for m in ('litellm', 'openai', 'agents', 'anthropic')"
        " if m in sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stderr.strip().splitlines()[-1] == "[]"
    assert [line["model"] for line in json.loads(result.stdout)["lines"]] == [
        "claude-3-haiku",
        "gpt-4o",
    ]


def test_pricing_commands_import_no_pydantic() -> None:
    code = (
        "import sys\n"
        "from memory_banker.cli.main import cli\n"
        "for args in (['show', 'gpt-4o-mini'], ['show', 'gpt-4o-mini', '--json'],"
        " ['estimate', '--iterations', '2', '--json']):\n"
        "    cli.main(['pricing', *args], standalone_mode=False)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_json_writes_every_float_field_as_a_float() -> None:
    # Given whole numbers, the views still hold floats, and --json writes them as such.
    estimate = estimate_run(default_pricebook(), iterations=2, savings=(20, 30))

    text = invoke(None, "pricing", "estimate", "--iterations", "2", "--json").stdout

    assert estimate.savings is not None
    assert isinstance(estimate.savings.low_percent, float)
    assert '"low_percent": 20.0,' in text
    assert '"high_percent": 30.0,' in text


def test_installed_executable_shows_a_model() -> None:
    result = run_installed("pricing", "show", "gpt-4o-mini", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["prices"]["input_per_1m"] == 0.15
    unknown = run_installed("pricing", "show", "gpt-4o-mni")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("Error: unknown model 'gpt-4o-mni'")
