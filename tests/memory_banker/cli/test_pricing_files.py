"""Custom price files through the real CLI: ``--pricing-file`` and ``MEMORY_BANKER_PRICING_FILE``
reach every command that prices (``pricing …``, ``tokens --price-as``, the generation
``estimate``), and every kind of bad file is one ``Error:`` line with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pricing.test_pricing_custom import BAD_FILES
from tests.support.cli import invoke
from tests.support.reports import START, agent, make_report, write_report
from tests.support.sample_project import make_sample_project

PRICES = """\
# house-model is new; gpt-4o is overridden in the per-1K form of the earlier docs.
[models."house-model"]
input_per_1m = 1.0
output_per_1m = 4.0
cached_input_per_1m = 0.5

[models."gpt-4o"]
prompt_per_1k = 0.001
completion_per_1k = 0.002
"""


@pytest.fixture(params=["--pricing-file", "MEMORY_BANKER_PRICING_FILE"])
def custom(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """The global options that bring in the price file: the option, or none with the variable."""
    path = tmp_path / "prices.toml"
    path.write_text(PRICES, encoding="utf-8")
    if request.param == "--pricing-file":
        return ["--pricing-file", str(path)]
    monkeypatch.setenv("MEMORY_BANKER_PRICING_FILE", str(path))
    return []


def test_show_uses_the_custom_file(custom: list[str]) -> None:
    result = invoke(None, *custom, "pricing", "show", "gpt-4o", "--json")
    assert (result.exit_code, result.stderr) == (0, "")
    prices = json.loads(result.stdout)["prices"]
    assert (prices["custom"], prices["input_per_1m"], prices["output_per_1m"]) == (True, 1.0, 2.0)
    # An override keeps LiteLLM's provider and context window.
    assert (prices["provider"], prices["max_input_tokens"]) == ("openai", 128_000)


def test_compare_uses_the_custom_file(custom: list[str]) -> None:
    compare = "pricing compare --input 10000 --cached 4000 --output 2000 --json --models"
    result = invoke(None, *custom, *compare.split(), "house-model,gpt-4o,gpt-4o-mini")
    assert (result.exit_code, result.stderr) == (0, "")
    lines = {line["model"]: line for line in json.loads(result.stdout)["lines"]}
    # 6,000 uncached x $1 + 4,000 cached x $0.50 + 2,000 output x $4, per 1M.
    assert lines["house-model"]["total_cost"] == pytest.approx(0.016, rel=1e-9)
    # Per-1K form, no cache rate given: every input token at $0.001 per 1K.
    assert lines["gpt-4o"]["total_cost"] == pytest.approx(0.014, rel=1e-9)
    assert lines["gpt-4o-mini"]["total_cost"] == pytest.approx(0.0024, rel=1e-9)
    assert {model: line["custom"] for model, line in lines.items()} == {
        "house-model": True,
        "gpt-4o": True,
        "gpt-4o-mini": False,
    }


def test_pricing_estimate_uses_the_custom_file(custom: list[str]) -> None:
    result = invoke(
        None,
        *custom,
        "pricing",
        "estimate",
        "--iterations",
        "5",
        "--roles",
        "2",
        "--model",
        "house-model",
        "--json",
    )
    assert (result.exit_code, result.stderr) == (0, "")
    estimate = json.loads(result.stdout)
    assert (estimate["key"], estimate["custom"]) == ("house-model", True)
    # 5 x 2 calls of 2,000 input ($1/1M) and 1,000 output ($4/1M).
    assert estimate["total_cost"] == pytest.approx(10 * (2_000 * 1e-6 + 1_000 * 4e-6), rel=1e-9)


def test_tokens_price_as_uses_the_custom_file(custom: list[str], tmp_path: Path) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    report = make_report(
        "eeee5555-0000-4000-8000-000000000005",
        end=START,
        agents=[agent("projectbrief", 20_000, 10_000, cost=0.009)],
    )
    write_report(project, "token_usage_20261120_090000.json", report)
    result = invoke(
        None, *custom, "--project-path", str(project), "tokens", "--price-as", "house-model,gpt-4o"
    )
    assert result.exit_code == 0
    # 20,000 x $1 + 10,000 x $4 per 1M = $0.06; gpt-4o at the file's $1/$2 per 1M = $0.04.
    assert result.stdout.splitlines()[-2:] == [
        "  house-model             house-model  $0.0600  +$0.0510 (6.7x)",
        "  gpt-4o                  gpt-4o       $0.0400  +$0.0310 (4.4x)",
    ]


def test_generation_estimate_uses_the_custom_file(custom: list[str], tmp_path: Path) -> None:
    project = make_sample_project(tmp_path)
    result = invoke(
        None,
        *custom,
        "--project-path",
        str(project),
        "estimate",
        "--models",
        "house-model",
        "--json",
    )
    assert result.exit_code == 0
    (estimate,) = json.loads(result.stdout)["models"]
    assert (estimate["matched_key"], estimate["custom"], estimate["known"]) == (
        "house-model",
        True,
        True,
    )
    # Each request is priced on its own without caching: the sum is the totals at $1 / $4 per 1M.
    expected = estimate["prompt_tokens"] * 1e-6 + estimate["output_tokens_expected"] * 4e-6
    assert estimate["cost_expected_usd"] == pytest.approx(expected, rel=1e-9)


# -- bad files ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "text", "message"), BAD_FILES)
def test_each_bad_file_is_one_error_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = invoke(None, "--pricing-file", str(path), "pricing", "show", "gpt-4o")
    assert (result.exit_code, result.stdout) == (2, "")
    expected = "Error: " + message.format(path=path)
    if expected.endswith(": "):
        # The parser's own position text follows (still on the same line).
        assert result.stderr.startswith(expected)
    else:
        assert result.stderr == expected + "\n"
    assert result.stderr.count("\n") == 1


def test_a_missing_or_non_utf8_file_is_one_error_line(tmp_path: Path) -> None:
    absent = tmp_path / "absent.toml"
    result = invoke(None, "--pricing-file", str(absent), "pricing", "list")
    assert (result.exit_code, result.stderr) == (2, f"Error: pricing file {absent}: not found\n")
    binary = tmp_path / "prices.toml"
    binary.write_bytes(b"\xff\xfe[models]")
    result = invoke(None, "--pricing-file", str(binary), "pricing", "list")
    assert (result.exit_code, result.stderr) == (
        2,
        f"Error: pricing file {binary}: not UTF-8 text: invalid start byte\n",
    )


@pytest.mark.parametrize(
    "command",
    [
        ["pricing", "list"],
        ["pricing", "compare", "--input", "10", "--output", "5", "--models", "gpt-4o"],
        ["pricing", "estimate", "--iterations", "2"],
        ["estimate", "--models", "gpt-4o"],
        ["tokens", "--price-as", "gpt-4o"],
    ],
)
def test_every_pricing_command_refuses_a_bad_file_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    path = tmp_path / "prices.toml"
    path.write_text('[models.m]\ninput_per_1m = "x"\noutput_per_1m = 1\n', encoding="utf-8")
    monkeypatch.setenv("MEMORY_BANKER_PRICING_FILE", str(path))
    project = tmp_path / "shop"
    project.mkdir()
    write_report(
        project,
        "token_usage_20261120_090000.json",
        make_report(
            "eeee5555-0000-4000-8000-000000000005",
            end=START,
            agents=[agent("projectbrief", 20_000, 10_000, cost=0.009)],
        ),
    )
    result = invoke(None, "--project-path", str(project), *command)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: pricing file {path}: model 'm': field 'input_per_1m' must be a number, got 'x'\n"
    )
