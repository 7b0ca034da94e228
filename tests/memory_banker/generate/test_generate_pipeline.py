"""init / update / refresh against the loopback fake provider, through the real Agents SDK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memory_banker.digest.build import build_digest
from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider, Reply
from tests.support.generate import (
    AGENT_NAMES,
    FIRST_FOUR,
    GPT_4O_MINI_INPUT,
    GPT_4O_MINI_OUTPUT,
    ROUNDS,
    TEST_KEY,
    bank_markdown,
    bank_snapshot,
    match_for,
    reports,
    script_bank,
    six_files,
    spec,
    usage_of,
)
from tests.support.sample_project import SECRET_STRINGS, make_sample_project
from token_tracking.reports.file import TokenUsageReport


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The sample git project (with .env, id_rsa and a planted key)."""
    return make_sample_project(tmp_path)


def responses_env(fake: FakeProvider) -> dict[str, str | None]:
    """Environment for an OpenAI run against the fake: a key and ``OPENAI_BASE_URL``."""
    return {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake.openai_base_url}


RESPONSES = ("--api", "responses", "--max-retries", "0")


def expected_cost(prompt: int, completion: int) -> float:
    return prompt * GPT_4O_MINI_INPUT + completion * GPT_4O_MINI_OUTPUT


def test_init_writes_six_files_and_a_report_with_the_scripted_usage(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider, delay=0.3)

    result = invoke(project, "init", *RESPONSES, env=responses_env(fake_provider))

    assert result.exit_code == 0, result.stderr
    files = six_files(project)
    assert list(files) == [spec(name).file for name in AGENT_NAMES]
    for name in AGENT_NAMES:
        assert files[spec(name).file] == bank_markdown(spec(name)).strip() + "\n"

    [report] = reports(project)
    assert report.status == "success"
    assert report.command == "init"
    assert report.model == "gpt-4o-mini"
    assert [agent.agent_name for agent in report.agent_usage] == list(AGENT_NAMES)
    for index, agent in enumerate(report.agent_usage):
        prompt, completion = usage_of(index)
        assert (agent.prompt_tokens, agent.completion_tokens) == (prompt, completion)
        assert agent.total_tokens == prompt + completion
        assert agent.requests == 1
        assert agent.success is True
        assert agent.error is None
        assert agent.output_file == f"memory-bank/{spec(agent.agent_name).file}"
        assert agent.cost_usd == pytest.approx(expected_cost(prompt, completion), rel=1e-9)
    prompts = sum(usage_of(i)[0] for i in range(6))
    completions = sum(usage_of(i)[1] for i in range(6))
    assert report.total_prompt_tokens == prompts
    assert report.total_completion_tokens == completions
    assert report.total_tokens == prompts + completions
    assert report.total_requests == 6
    assert report.successful_agents == 6
    assert report.failed_agents == 0
    assert report.total_cost_usd == pytest.approx(expected_cost(prompts, completions), rel=1e-9)
    assert "Estimated Cost: $0.0018 USD" in result.stdout
    [saved] = list((project / "memory-bank" / "token-reports").glob("token_usage_*.json"))
    assert f"Report saved to {saved}" in result.stderr


def test_all_six_requests_share_the_system_prefix_with_the_digest(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider, delay=0.3)

    result = invoke(project, "init", *RESPONSES, env=responses_env(fake_provider))

    assert result.exit_code == 0, result.stderr
    requests = fake_provider.requests
    assert [request.path for request in requests] == ["/v1/responses"] * 6
    instructions = {request.body["instructions"] for request in requests}
    assert len(instructions) == 1
    [shared] = instructions
    assert build_digest(project).text in shared
    for name in AGENT_NAMES:
        for section in spec(name).sections:
            assert f"## {section}" not in shared
    # The widest round (productContext, systemPatterns, techContext) runs three at once.
    assert fake_provider.max_in_flight == 3


def test_the_rounds_run_in_the_memory_bank_order_each_given_its_inputs(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider, delay=0.1)

    result = invoke(project, "init", *RESPONSES, env=responses_env(fake_provider))

    assert result.exit_code == 0, result.stderr
    order = [
        next(name for name in AGENT_NAMES if match_for(spec(name)) in request.raw)
        for request in fake_provider.requests
    ]
    assert order[0] == "projectbrief"
    assert sorted(order[1:4]) == sorted(ROUNDS[1])
    assert sorted(order[4:]) == sorted(ROUNDS[2])
    bodies = {
        name: json.dumps(request.body["input"])
        for name, request in zip(order, fake_provider.requests, strict=True)
    }
    brief = "projectbrief Overview v1."
    assert brief not in bodies["projectbrief"]
    for name in ROUNDS[1]:
        assert brief in bodies[name]
        assert "techContext Technologies v1." not in bodies[name]
    for name in ROUNDS[2]:
        for earlier in FIRST_FOUR:
            assert f"{earlier} {spec(earlier).sections[0]} v1." in bodies[name]


def test_secrets_never_reach_a_request_or_a_report(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider)

    env = {"OPENAI_BASE_URL": fake_provider.openai_base_url}
    result = invoke(project, "init", *RESPONSES, "--api-key", TEST_KEY, env=env)

    assert result.exit_code == 0, result.stderr
    for request in fake_provider.requests:
        for secret in (*SECRET_STRINGS, TEST_KEY):
            assert secret not in request.raw
    assert fake_provider.requests[0].headers["authorization"] == f"Bearer {TEST_KEY}"
    for path in (project / "memory-bank").rglob("*"):
        if path.is_file():
            assert TEST_KEY not in path.read_text(encoding="utf-8")
    assert TEST_KEY not in result.stdout + result.stderr


def test_one_agent_failing_on_init_leaves_its_file_absent_and_the_report_partial(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider, overrides={"systemPatterns": Reply(status=500)})

    result = invoke(project, "init", *RESPONSES, env=responses_env(fake_provider))

    assert result.exit_code == 1
    assert "Agent systemPatterns failed: InternalServerError: Error code: 500" in result.stderr
    assert not (project / "memory-bank" / "systemPatterns.md").exists()
    assert len(six_files(project)) == 5
    [report] = reports(project)
    assert report.status == "partial"
    assert (report.successful_agents, report.failed_agents) == (5, 1)
    by_name = {agent.agent_name: agent for agent in report.agent_usage}
    failed = by_name["systemPatterns"]
    assert failed.success is False
    assert failed.error is not None and "Error code: 500" in failed.error
    assert failed.output_file is None
    # It failed before any request completed: it spent nothing, which is 0, not unknown.
    assert (failed.prompt_tokens, failed.completion_tokens, failed.requests) == (0, 0, 0)
    others = [i for i, name in enumerate(AGENT_NAMES) if name != "systemPatterns"]
    assert report.total_prompt_tokens == sum(usage_of(i)[0] for i in others)
    assert report.total_completion_tokens == sum(usage_of(i)[1] for i in others)
    for index in others:
        agent = by_name[AGENT_NAMES[index]]
        assert (agent.prompt_tokens, agent.completion_tokens) == usage_of(index)


@pytest.mark.parametrize("command", ["update", "refresh"])
def test_one_agent_failing_on_update_or_refresh_leaves_its_file_byte_for_byte(
    project: Path, fake_provider: FakeProvider, command: str
) -> None:
    script_bank(fake_provider, marker="v1")
    assert invoke(project, "init", *RESPONSES, env=responses_env(fake_provider)).exit_code == 0
    before = (project / "memory-bank" / "techContext.md").read_bytes()
    script_bank(fake_provider, marker="v2", overrides={"techContext": Reply(status=500)})

    result = invoke(project, command, *RESPONSES, env=responses_env(fake_provider))

    assert result.exit_code == 1
    assert "Agent techContext failed" in result.stderr
    assert (project / "memory-bank" / "techContext.md").read_bytes() == before
    files = six_files(project)
    for name in AGENT_NAMES:
        if name != "techContext":
            assert files[spec(name).file] == bank_markdown(spec(name), "v2").strip() + "\n"
    first, second = reports(project)
    assert first.status == "success"
    assert second.status == "partial"
    assert second.command == command


def test_round_one_failing_launches_no_later_round(
    project: Path, fake_provider: FakeProvider
) -> None:
    fake_provider.default = Reply(status=500)

    result = invoke(project, "init", *RESPONSES, env=responses_env(fake_provider))

    assert result.exit_code == 1
    assert len(fake_provider.requests) == 1
    assert six_files(project) == {}
    assert "Agent projectbrief failed" in result.stderr
    [report] = reports(project)
    assert report.status == "failed"
    assert (report.successful_agents, report.failed_agents) == (0, 1)
    assert [agent.agent_name for agent in report.agent_usage] == ["projectbrief"]
    assert report.agents_not_run == list(AGENT_NAMES[1:])
    assert report.agents_not_run_reasons == {
        "productContext": "every input failed or was not run (projectbrief failed)",
        "systemPatterns": "every input failed or was not run (projectbrief failed)",
        "techContext": "every input failed or was not run (projectbrief failed)",
        "activeContext": "every input failed or was not run (projectbrief failed,"
        " productContext not run, systemPatterns not run, techContext not run)",
        "progress": "every input failed or was not run (projectbrief failed,"
        " productContext not run, systemPatterns not run, techContext not run)",
    }


def test_round_two_failing_on_init_launches_round_three_without_those_files(
    project: Path, fake_provider: FakeProvider
) -> None:
    failed = {name: Reply(status=500) for name in ("systemPatterns", "techContext")}
    script_bank(fake_provider, overrides=failed)

    result = invoke(project, "init", *RESPONSES, env=responses_env(fake_provider))

    assert result.exit_code == 1
    assert len(fake_provider.requests) == 6
    [report] = reports(project)
    assert report.status == "partial"
    assert report.agents_not_run == []
    [last] = [r for r in fake_provider.requests if match_for(spec("progress")) in r.raw]
    message = json.dumps(last.body["input"])
    assert "productContext Why This Project Exists v1." in message
    assert "systemPatterns.md is missing" in message


def test_an_agent_failing_on_update_leaves_its_old_file_as_the_next_rounds_input(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider, marker="v1")
    assert invoke(project, "init", *RESPONSES, env=responses_env(fake_provider)).exit_code == 0
    script_bank(fake_provider, marker="v2", overrides={"systemPatterns": Reply(status=500)})

    result = invoke(project, "update", *RESPONSES, env=responses_env(fake_provider))

    assert result.exit_code == 1
    assert len(fake_provider.requests) == 12
    for name in ROUNDS[2]:
        [request] = [r for r in fake_provider.requests[6:] if match_for(spec(name)) in r.raw]
        message = json.dumps(request.body["input"])
        assert "systemPatterns Architecture v1." in message
        assert "productContext Why This Project Exists v2." in message
    assert reports(project)[-1].agents_not_run == []


def test_all_six_failing_on_update_replaces_nothing(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider)
    assert invoke(project, "init", *RESPONSES, env=responses_env(fake_provider)).exit_code == 0
    before = six_files(project)
    fake_provider.default = Reply(status=500)

    result = invoke(project, "update", *RESPONSES, env=responses_env(fake_provider))

    assert result.exit_code == 1
    assert six_files(project) == before
    assert reports(project)[-1].status == "failed"


def test_output_missing_a_section_fails_that_agent_and_keeps_the_old_file(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider)
    assert invoke(project, "init", *RESPONSES, env=responses_env(fake_provider)).exit_code == 0
    before = (project / "memory-bank" / "progress.md").read_bytes()
    broken = bank_markdown(spec("progress"), "v2").replace("## Known Issues", "## Issues")
    script_bank(
        fake_provider,
        marker="v2",
        overrides={"progress": Reply(text=broken, prompt_tokens=50, completion_tokens=7)},
    )

    result = invoke(project, "update", *RESPONSES, env=responses_env(fake_provider))

    assert result.exit_code == 1
    assert "Agent progress failed: output lacks required sections: Known Issues" in result.stderr
    assert (project / "memory-bank" / "progress.md").read_bytes() == before
    progress = next(a for a in reports(project)[-1].agent_usage if a.agent_name == "progress")
    assert (progress.success, progress.prompt_tokens, progress.completion_tokens) == (
        False,
        50,
        7,
    )


def test_refresh_keeps_the_previous_files_and_every_earlier_report(
    project: Path, fake_provider: FakeProvider
) -> None:
    folder = project / "memory-bank" / "token-reports"
    script_bank(fake_provider, marker="v1")
    assert invoke(project, "init", *RESPONSES, env=responses_env(fake_provider)).exit_code == 0
    versions = [six_files(project)]
    for marker in ("v2", "v3"):
        earlier = {path: path.read_bytes() for path in folder.glob("token_usage_*.json")}
        script_bank(fake_provider, marker=marker)

        result = invoke(project, "refresh", *RESPONSES, env=responses_env(fake_provider))

        assert result.exit_code == 0, result.stderr
        assert {path: path.read_bytes() for path in earlier} == earlier
        versions.append(six_files(project))
        assert versions[-1]["progress.md"] == bank_markdown(spec("progress"), marker).strip() + "\n"

    # One folder per refresh, in order (a second refresh in the same second gets a ``_2`` folder),
    # each holding exactly the six files the refresh replaced; reports are never copied.
    history = sorted((project / "memory-bank" / ".history").iterdir())
    assert len(history) == 2
    for copy, before in zip(history, versions[:2], strict=True):
        assert {path.name: path.read_text(encoding="utf-8") for path in copy.iterdir()} == before
    assert [report.command for report in reports(project)] == ["init", "refresh", "refresh"]
    assert len(list(folder.glob("token_usage_*.json"))) == 3


def test_init_on_an_existing_bank_exits_2_and_changes_nothing(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider)
    assert invoke(project, "init", *RESPONSES, env=responses_env(fake_provider)).exit_code == 0
    before = bank_snapshot(project)

    result = invoke(project, "init", *RESPONSES, env=responses_env(fake_provider))

    assert result.exit_code == 2
    assert result.stderr.startswith("Error: memory-bank/ already has projectbrief.md, ")
    assert "memory-banker update" in result.stderr
    assert bank_snapshot(project) == before
    assert len(fake_provider.requests) == 6


def test_agents_subset_reads_its_inputs_from_the_existing_files(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider, marker="v1")
    assert invoke(project, "init", *RESPONSES, env=responses_env(fake_provider)).exit_code == 0
    script_bank(fake_provider, marker="v2", names=["progress"])

    result = invoke(
        project, "update", "--agents", "progress", *RESPONSES, env=responses_env(fake_provider)
    )

    assert result.exit_code == 0, result.stderr
    [request] = fake_provider.requests[6:]
    message = json.dumps(request.body["input"])
    for name in FIRST_FOUR:
        assert f"{name} {spec(name).sections[0]} v1." in message
    files = six_files(project)
    assert files["progress.md"] == bank_markdown(spec("progress"), "v2").strip() + "\n"
    assert files["activeContext.md"] == bank_markdown(spec("activeContext"), "v1").strip() + "\n"
    assert [agent.agent_name for agent in reports(project)[-1].agent_usage] == ["progress"]


def test_unknown_agent_name_is_exit_2_listing_the_valid_names(project: Path) -> None:
    result = invoke(project, "update", "--offline", "--agents", "progres")

    assert result.exit_code == 2
    assert "unknown agent 'progres'" in result.stderr
    assert "projectbrief, productContext" in result.stderr


@pytest.mark.parametrize("command", [("estimate",), ("update", "--offline")])
def test_too_small_a_context_budget_is_one_line_exit_2(
    project: Path, command: tuple[str, ...]
) -> None:
    result = invoke(project, *command, "--context-tokens", "0")

    assert result.exit_code == 2
    assert result.stderr == "Error: --context-tokens must be at least 500 (got 0)\n"
    assert not (project / "memory-bank").exists()


def test_timeout_fails_the_slow_agent_only(project: Path, fake_provider: FakeProvider) -> None:
    slow = Reply(text=bank_markdown(spec("techContext")), delay=5.0)
    script_bank(fake_provider, overrides={"techContext": slow})

    result = invoke(project, "init", *RESPONSES, "--timeout", "1", env=responses_env(fake_provider))

    assert result.exit_code == 1
    assert "Agent techContext failed: timed out after 1 s (--timeout)" in result.stderr
    assert sorted(six_files(project)) == sorted(
        spec(name).file for name in AGENT_NAMES if name != "techContext"
    )
    [report] = reports(project)
    assert report.status == "partial"


def test_api_base_defaults_to_chat_completions_and_needs_no_key(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider)

    result = invoke(
        project,
        "init",
        "--api-base",
        fake_provider.openai_base_url,
        "--max-retries",
        "0",
        env={"OPENAI_API_KEY": None},
    )

    assert result.exit_code == 0, result.stderr
    assert {request.path for request in fake_provider.requests} == {"/v1/chat/completions"}
    systems = {request.body["messages"][0]["content"] for request in fake_provider.requests}
    assert len(systems) == 1
    [report] = reports(project)
    assert report.total_prompt_tokens == sum(usage_of(i)[0] for i in range(6))


def test_openai_base_url_from_the_environment_is_honoured(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider)

    result = invoke(project, "init", "--max-retries", "0", env=responses_env(fake_provider))

    assert result.exit_code == 0, result.stderr
    assert [request.path for request in fake_provider.requests] == ["/v1/chat/completions"] * 6
    assert fake_provider.requests[0].headers["authorization"] == f"Bearer {TEST_KEY}"


def test_openai_api_base_from_the_environment_is_honoured(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider)

    result = invoke(
        project,
        "init",
        "--max-retries",
        "0",
        env={"OPENAI_API_KEY": TEST_KEY, "OPENAI_API_BASE": fake_provider.openai_base_url},
    )

    assert result.exit_code == 0, result.stderr
    assert len(fake_provider.requests) == 6


def test_anthropic_model_runs_through_litellm_against_the_messages_endpoint(
    project: Path, fake_provider: FakeProvider
) -> None:
    # Anthropic's input_tokens is the uncached part; cache reads and writes come on their own.
    overrides = {
        name: Reply(
            text=bank_markdown(spec(name)),
            prompt_tokens=usage_of(index)[0],
            completion_tokens=usage_of(index)[1],
            cache_read_tokens=300,
            cache_write_tokens=200,
        )
        for index, name in enumerate(AGENT_NAMES)
    }
    script_bank(fake_provider, overrides=overrides)

    result = invoke(
        project,
        "init",
        "--model",
        "anthropic/claude-3-haiku-20240307",
        "--api-base",
        fake_provider.base_url,
        env={"ANTHROPIC_API_KEY": TEST_KEY},
    )

    assert result.exit_code == 0, result.stderr
    assert [request.path for request in fake_provider.requests] == ["/v1/messages"] * 6
    assert fake_provider.requests[0].headers["x-api-key"] == TEST_KEY
    [report] = reports(project)
    assert report.model == "anthropic/claude-3-haiku-20240307"
    for index, agent in enumerate(report.agent_usage):
        uncached, completion = usage_of(index)
        assert agent.prompt_tokens == uncached + 300 + 200
        assert (agent.cached_tokens, agent.cache_write_tokens) == (300, 200)
        assert (agent.completion_tokens, agent.requests) == (completion, 1)
        # claude-3-haiku-20240307 per token: input $0.25/1M, cache read $0.03/1M,
        # cache write $0.30/1M, output $1.25/1M.
        assert agent.cost_usd == pytest.approx(
            uncached * 0.25e-6 + 300 * 0.03e-6 + 200 * 0.30e-6 + completion * 1.25e-6, rel=1e-9
        )


def test_json_prints_the_saved_report_as_the_only_stdout(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider)

    result = invoke(project, "init", *RESPONSES, "--json", env=responses_env(fake_provider))

    assert result.exit_code == 0, result.stderr
    printed = TokenUsageReport.model_validate_json(result.stdout)
    [saved] = reports(project)
    assert printed == saved
    assert json.loads(result.stdout)["session_id"] == saved.session_id


def test_concurrency_limits_the_requests_in_flight(
    project: Path, fake_provider: FakeProvider
) -> None:
    script_bank(fake_provider, delay=0.3)

    result = invoke(
        project, "init", *RESPONSES, "--concurrency", "2", env=responses_env(fake_provider)
    )

    assert result.exit_code == 0, result.stderr
    assert len(fake_provider.requests) == 6
    assert fake_provider.max_in_flight == 2
