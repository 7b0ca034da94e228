"""--max-cost (refuse up front, stop launching once spent) and --dry-run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider, Reply
from tests.support.generate import (
    AGENT_NAMES,
    GPT_4O_MINI_INPUT,
    GPT_4O_MINI_OUTPUT,
    ROUNDS,
    TEST_KEY,
    bank_markdown,
    reports,
    script_bank,
    six_files,
    spec,
)
from tests.support.sample_project import make_sample_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The sample git project."""
    return make_sample_project(tmp_path)


def env_for(fake: FakeProvider) -> dict[str, str | None]:
    return {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake.openai_base_url}


def test_max_cost_below_the_estimate_refuses_before_any_request(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider)

    result = invoke(project, "init", "--max-cost", "0.0001", env=env_for(fake_provider))

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        "Error: refusing to start: the estimated cost of 6 agents on gpt-4o-mini is $0."
    )
    assert lines[0].endswith(", above --max-cost $0.0001")
    assert fake_provider.requests == []
    assert not (project / "memory-bank").exists()
    assert result.stdout == ""


def test_spending_past_the_budget_in_round_one_stops_the_later_rounds(
    project: Path, fake_provider: FakeProvider
) -> None:
    # The projectbrief answer bills 1,000,000 prompt tokens ($0.15 on gpt-4o-mini): far above the
    # estimate, and above the $0.10 budget once round one is done.
    overrides = {
        "projectbrief": Reply(
            text=bank_markdown(spec("projectbrief")), prompt_tokens=1_000_000, completion_tokens=10
        )
    }
    script_bank(fake_provider, overrides=overrides)

    result = invoke(project, "init", "--max-cost", "0.10", env=env_for(fake_provider))

    assert result.exit_code == 1
    assert len(fake_provider.requests) == 1
    assert sorted(six_files(project)) == ["projectbrief.md"]
    [report] = reports(project)
    assert report.status == "budget_exceeded"
    later = [*ROUNDS[1], *ROUNDS[2]]
    assert report.agents_not_run == later
    assert report.agents_not_run_reasons == dict.fromkeys(later, "--max-cost budget spent")
    assert [agent.agent_name for agent in report.agent_usage] == ["projectbrief"]
    assert report.total_cost_usd == pytest.approx(
        1_000_000 * GPT_4O_MINI_INPUT + 10 * GPT_4O_MINI_OUTPUT, rel=1e-9
    )
    assert (
        "Not run (--max-cost budget spent): productContext, systemPatterns, techContext,"
        " activeContext, progress"
    ) in result.stderr


def test_max_cost_with_an_unknown_price_refuses_unless_a_custom_price_is_given(
    project: Path, fake_provider: FakeProvider, tmp_path: Path
) -> None:
    script_bank(fake_provider)
    args = ("init", "--model", "gpt-private-test", "--max-cost", "1")

    refused = invoke(project, *args, env=env_for(fake_provider))

    assert refused.exit_code == 1
    assert refused.stderr == (
        "Error: --max-cost $1.0000 cannot be enforced: no price is known for gpt-private-test; "
        "give it a custom price with --pricing-file (per-1M or per-1K rates)\n"
    )
    assert fake_provider.requests == []

    prices = tmp_path / "prices.toml"
    prices.write_text(
        '[models."gpt-private-test"]\ninput_per_1m = 2.0\noutput_per_1m = 8.0\n', encoding="utf-8"
    )
    result = invoke(project, "--pricing-file", str(prices), *args, env=env_for(fake_provider))

    assert result.exit_code == 0, result.stderr
    [report] = reports(project)
    prompts = sum(agent.prompt_tokens or 0 for agent in report.agent_usage)
    completions = sum(agent.completion_tokens or 0 for agent in report.agent_usage)
    assert report.total_cost_usd == pytest.approx((prompts * 2.0 + completions * 8.0) / 1e6)


def test_offline_runs_are_never_refused_by_a_budget(project: Path) -> None:
    result = invoke(project, "init", "--offline", "--max-cost", "0")

    assert result.exit_code == 0, result.stderr
    assert reports(project)[0].total_cost_usd == 0.0


def test_dry_run_prints_the_plan_and_calls_nothing(
    project: Path, fake_provider: FakeProvider
) -> None:
    result = invoke(project, "init", "--dry-run", env=env_for(fake_provider))

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Plan: memory-banker init on {project}"
    assert lines[1:4] == [
        "  Model:   gpt-4o-mini",
        "  Backend: OpenAI Chat Completions API (Agents SDK OpenAI provider) at "
        f"{fake_provider.openai_base_url}",
        lines[3],
    ]
    assert lines[3].startswith("  Digest:  ")
    assert lines[4:7] == [
        "  Round 1: projectbrief",
        "  Round 2: productContext, systemPatterns, techContext",
        "  Round 3: activeContext, progress",
    ]
    assert lines[8].startswith("  Estimate: $0.")
    assert "Dry run: no model was called and no file was written." in lines
    assert fake_provider.requests == []
    assert not (project / "memory-bank").exists()


def test_dry_run_json_matches_the_estimate_command(project: Path) -> None:
    plan = invoke(project, "update", "--dry-run", "--json", "--agents", "progress,techContext")
    estimate = invoke(project, "estimate", "--json", "--agents", "progress,techContext")

    assert plan.exit_code == 0, plan.stderr
    assert estimate.exit_code == 0, estimate.stderr
    summary = json.loads(plan.stdout)
    projected = json.loads(estimate.stdout)["models"][0]
    assert summary["rounds"] == [["techContext"], ["progress"]]
    assert summary["model"] == "gpt-4o-mini"
    assert summary["prompt_tokens"] == projected["prompt_tokens"]
    assert summary["cost_low_usd"] == projected["cost_low_usd"]
    assert summary["cost_high_usd"] == projected["cost_high_usd"]


def test_dry_run_needs_no_key(project: Path) -> None:
    result = invoke(project, "init", "--dry-run")

    assert result.exit_code == 0, result.stderr
    assert "Backend: OpenAI Responses API (Agents SDK OpenAI provider)" in result.stdout


def test_estimate_json_lists_an_unknown_model_as_unknown(project: Path) -> None:
    result = invoke(
        project, "estimate", "--json", "--models", "gpt-4o-mini,gpt-4o,no-such-model-xyz"
    )

    assert result.exit_code == 0, result.stderr
    models = {row["model"]: row for row in json.loads(result.stdout)["models"]}
    assert list(models) == ["gpt-4o-mini", "gpt-4o", "no-such-model-xyz"]
    assert models["no-such-model-xyz"]["known"] is False
    assert models["no-such-model-xyz"]["cost_low_usd"] is None
    assert models["gpt-4o"]["cost_low_usd"] > models["gpt-4o-mini"]["cost_low_usd"]
    assert len(AGENT_NAMES) == len(json.loads(result.stdout)["agents"])
