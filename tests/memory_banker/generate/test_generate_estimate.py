"""`estimate` against a real run: its first-round prompt count is that of the prompt sent."""

from __future__ import annotations

import json
from pathlib import Path

from memory_banker.specs import AGENT_SPECS
from memory_banker.tokenizer import count_prompt_tokens
from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider
from tests.support.generate import ROUNDS, match_for, script_bank
from tests.support.sample_project import make_sample_project


def test_first_round_estimate_equals_the_prompts_the_provider_receives(
    tmp_path: Path, fake_provider: FakeProvider
) -> None:
    project = make_sample_project(tmp_path)
    estimated = invoke(project, "estimate", "--json")
    assert estimated.exit_code == 0, estimated.stderr
    projected = {row["agent"]: row for row in json.loads(estimated.stdout)["agents"]}
    script_bank(fake_provider)

    result = invoke(
        project, "init", "--api-base", fake_provider.openai_base_url, "--max-retries", "0"
    )

    assert result.exit_code == 0, result.stderr
    received: dict[str, int] = {}
    for request in fake_provider.requests:
        system, user = request.body["messages"]
        assert (system["role"], user["role"]) == ("system", "user")
        agent = next((s for s in AGENT_SPECS if user["content"].startswith(match_for(s))), None)
        assert agent is not None
        received[agent.name] = count_prompt_tokens(system["content"], user["content"])
    assert [row["round"] for row in projected.values()] == [1, 2, 2, 2, 3, 3]
    for name in ROUNDS[0]:
        assert projected[name]["prompt_exact"] is True
        assert projected[name]["prompt_tokens"] == received[name]
    for name in (*ROUNDS[1], *ROUNDS[2]):
        assert projected[name]["prompt_exact"] is False
