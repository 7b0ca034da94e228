"""estimate: exact first-round prompts, expected later rounds, per-model cost ranges."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from inline_snapshot import snapshot
from rich.console import Console

from memory_banker.digest.build import build_digest
from memory_banker.errors import UsageError
from memory_banker.estimate import (
    EstimateResult,
    estimate,
    latest_real_report,
    render_estimate,
)
from memory_banker.specs import (
    AGENT_SPECS,
    ROUNDS,
    select_agents,
    spec_by_name,
    system_instructions,
    user_message,
)
from memory_banker.tokenizer import MESSAGE_OVERHEAD, count_prompt_tokens, count_tokens
from pricing import default_pricebook
from tests.support.sample_project import make_sample_project
from token_tracking.records import AgentUsage
from token_tracking.reports.file import TokenUsageReport

# gpt-4o-mini in LiteLLM 1.83.0's table, USD per token.
INPUT, OUTPUT, CACHED = 0.15e-6, 0.6e-6, 0.075e-6


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_sample_project(tmp_path)


def test_first_round_prompts_are_counted_exactly(project: Path) -> None:
    result = estimate(project, ["gpt-4o-mini"], AGENT_SPECS, 30000, default_pricebook())
    digest = build_digest(project, context_tokens=30000)
    shared = system_instructions(digest)
    assert [a.round for a in result.agents] == [1, 2, 2, 2, 3, 3]
    first = [a for a in result.agents if a.round == 1]
    assert [a.agent for a in first] == [spec.name for spec in ROUNDS[0]]
    for agent, spec in zip(first, ROUNDS[0], strict=True):
        assert agent.prompt_exact
        assert agent.prompt_tokens == count_prompt_tokens(shared, user_message(spec, {}))
        assert agent.prompt_tokens == (
            count_tokens(shared) + count_tokens(user_message(spec, {})) + 2 * MESSAGE_OVERHEAD
        )
    assert result.shared_prefix_tokens == count_tokens(shared)
    assert result.digest_tokens == digest.tokens


def test_later_rounds_add_expected_outputs_to_the_prefix(project: Path) -> None:
    result = estimate(project, ["gpt-4o-mini"], AGENT_SPECS, 30000, default_pricebook())
    digest = build_digest(project, context_tokens=30000)
    shared = system_instructions(digest)
    spec = spec_by_name("progress")
    framing = user_message(spec, dict.fromkeys(spec.depends_on, ""))
    expected_inputs = sum(spec_by_name(name).expected_output_tokens for name in spec.depends_on)
    progress = next(a for a in result.agents if a.agent == "progress")
    assert not progress.prompt_exact
    assert progress.prompt_tokens == count_prompt_tokens(shared, framing) + expected_inputs
    assert progress.output_tokens == spec.expected_output_tokens
    assert progress.output_source == "spec"


def test_cost_range_and_cache_saving_for_a_known_model(project: Path) -> None:
    result = estimate(project, ["gpt-4o-mini"], AGENT_SPECS, 30000, default_pricebook())
    model = result.models[0]
    prompts = [a.prompt_tokens for a in result.agents]
    outputs = [a.output_tokens for a in result.agents]
    assert model.known
    assert model.matched_key == "gpt-4o-mini"
    assert model.prompt_tokens == sum(prompts)
    assert model.output_tokens_expected == sum(outputs)
    assert model.output_tokens_low == sum(round(o * 0.5) for o in outputs)
    assert model.output_tokens_high == sum(round(o * 1.5) for o in outputs)
    assert model.cost_low_usd == pytest.approx(
        sum(prompts) * INPUT + model.output_tokens_low * OUTPUT, rel=1e-9
    )
    assert model.cost_expected_usd == pytest.approx(
        sum(prompts) * INPUT + sum(outputs) * OUTPUT, rel=1e-9
    )
    assert model.cost_high_usd == pytest.approx(
        sum(prompts) * INPUT + model.output_tokens_high * OUTPUT, rel=1e-9
    )
    cached = 5 * result.shared_prefix_tokens
    assert model.cached_prompt_tokens == cached
    assert model.cache_read_cost_per_token == pytest.approx(CACHED, rel=1e-9)
    assert model.cache_saving_usd == pytest.approx(cached * (INPUT - CACHED), rel=1e-9)


def test_unknown_model_is_listed_as_unknown_never_zero(project: Path) -> None:
    result = estimate(
        project,
        ["gpt-4o-mini", "gpt-4o", "no-such-model-zz"],
        AGENT_SPECS,
        30000,
        default_pricebook(),
    )
    unknown = result.models[2]
    assert unknown.model == "no-such-model-zz"
    assert not unknown.known
    assert (unknown.cost_low_usd, unknown.cost_expected_usd, unknown.cost_high_usd) == (
        None,
        None,
        None,
    )
    assert unknown.cache_saving_usd is None
    assert unknown.prompt_tokens == result.models[0].prompt_tokens
    as_json = json.loads(result.model_dump_json())
    assert as_json["models"][2]["cost_low_usd"] is None
    assert EstimateResult.model_validate_json(result.model_dump_json()) == result


def test_expected_lengths_come_from_a_real_report(project: Path) -> None:
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    report = TokenUsageReport(
        session_id="abc123",
        project_path=str(project),
        command="init",
        start_time=now,
        end_time=now,
        total_duration_seconds=1.0,
        agent_usage=[
            AgentUsage(agent_name="projectbrief", completion_tokens=321, success=True),
            AgentUsage(agent_name="techContext", completion_tokens=999, success=False),
        ],
    )
    result = estimate(
        project, ["gpt-4o-mini"], AGENT_SPECS, 30000, default_pricebook(), report=report
    )
    brief = next(a for a in result.agents if a.agent == "projectbrief")
    tech = next(a for a in result.agents if a.agent == "techContext")
    assert (brief.output_tokens, brief.output_source) == (321, "report")
    assert (tech.output_tokens, tech.output_source) == (900, "spec")
    assert result.report_session_id == "abc123"
    baseline = estimate(project, ["gpt-4o-mini"], AGENT_SPECS, 30000, default_pricebook())
    progress = next(a for a in result.agents if a.agent == "progress")
    base_progress = next(a for a in baseline.agents if a.agent == "progress")
    assert progress.prompt_tokens == base_progress.prompt_tokens - 700 + 321


def test_latest_real_report_skips_offline_reports(project: Path) -> None:
    assert latest_real_report(project) is None
    folder = project / "memory-bank" / "token-reports"
    folder.mkdir(parents=True)
    for index, source in enumerate(("llm", "offline")):
        when = datetime(2026, 1, 5 + index, 12, 0, tzinfo=UTC)
        TokenUsageReport(
            session_id=f"s-{source}",
            project_path=str(project),
            command="update",
            start_time=when,
            end_time=when,
            total_duration_seconds=1.0,
            successful_agents=1,
            source=source,
            agent_usage=[AgentUsage(agent_name="progress", completion_tokens=5, success=True)],
        ).save(folder)
    found = latest_real_report(project)
    assert found is not None
    assert found.session_id == "s-llm"


def test_subset_reads_inputs_that_are_not_regenerated_from_the_bank(project: Path) -> None:
    bank = project / "memory-bank"
    bank.mkdir()
    (bank / "projectbrief.md").write_text("# Brief\n\n## Overview\nWidgets.\n", encoding="utf-8")
    result = estimate(
        project, ["gpt-4o-mini"], select_agents("progress"), 30000, default_pricebook()
    )
    shared = system_instructions(build_digest(project))
    spec = spec_by_name("progress")
    inputs = dict.fromkeys(spec.depends_on)
    inputs["projectbrief"] = "# Brief\n\n## Overview\nWidgets.\n"
    (progress,) = result.agents
    assert progress.prompt_exact
    assert progress.prompt_tokens == count_prompt_tokens(shared, user_message(spec, inputs))
    assert result.models[0].cached_prompt_tokens == 0


def test_no_model_is_a_usage_error(project: Path) -> None:
    with pytest.raises(UsageError, match="at least one model"):
        estimate(project, [], AGENT_SPECS, 30000, default_pricebook())


def test_render(project: Path) -> None:
    result = estimate(
        project, ["gpt-4o-mini", "no-such-model-zz"], AGENT_SPECS, 30000, default_pricebook()
    )
    console = Console(file=io.StringIO(), width=100, color_system=None)
    render_estimate(result, console)
    assert console.file.getvalue() == snapshot("""\
                    Estimated cost per model (no request made)                     \n\
 Model              Prompt tokens   Output tokens   Cost (low-high)   Cache saving \n\
───────────────────────────────────────────────────────────────────────────────────
 gpt-4o-mini               21,727     2,425-7,275   $0.0047-$0.0076        $0.0007 \n\
 no-such-model-zz          21,727     2,425-7,275           unknown              - \n\
                          Requests                          \n\
┏━━━━━━━━━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓
┃ Agent          ┃ Round ┃ Prompt tokens ┃ Expected output ┃
┡━━━━━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩
│ projectbrief   │     1 │         2,114 │      700 (spec) │
│ productContext │     2 │  2,832 (est.) │      750 (spec) │
│ systemPatterns │     2 │  2,852 (est.) │    1,000 (spec) │
│ techContext    │     2 │  2,864 (est.) │      900 (spec) │
│ activeContext  │     3 │  5,533 (est.) │      750 (spec) │
│ progress       │     3 │  5,532 (est.) │      750 (spec) │
└────────────────┴───────┴───────────────┴─────────────────┘
Digest 1,540 of 30,000 tokens; shared prefix 1,982 tokens; 4 tokens per message. Output range \n\
0.5x-1.5x the expected length (lengths from the agent specs).
no-such-model-zz: price unknown; pass --pricing-file to price it.
""")
