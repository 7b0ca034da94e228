"""docs/library.md and docs/accounting.md followed as a new user would: the Anthropic wrapper
records under the agent it is given, and interval lines are never wrapped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from anthropic import Anthropic

from tests.support.clock import StepClock
from tests.support.fake_provider import FakeProvider, Reply
from tests.support.records import counts, usage
from token_tracking import TokenTracker

MODEL = "claude-haiku-4-5"
MESSAGES: Any = [{"role": "user", "content": "hi"}]


def test_wrap_anthropic_records_under_the_agent_it_is_given(fake_provider: FakeProvider) -> None:
    tracker = TokenTracker(command="my-app", persist=False, interval_minutes=600)
    fake_provider.add(Reply(prompt_tokens=400, completion_tokens=80, cache_read_tokens=40), times=2)
    client = Anthropic(base_url=fake_provider.base_url, api_key="test", max_retries=0)
    wrapped = tracker.wrap_anthropic(client, agent_name="summarizer")
    assert wrapped is client  # changed in place, as docs/library.md says
    client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    # Wrapping again re-targets the client; each request is still recorded once.
    tracker.wrap_anthropic(client)
    client.messages.create(model=MODEL, max_tokens=100, messages=MESSAGES)
    # prompt_tokens counts every input token: 400 uncached + 40 cache reads.
    assert [counts(request) for request in tracker.requests()] == [
        ("summarizer", MODEL, 440, 80, 40, None, None, 1),
        (None, MODEL, 440, 80, 40, None, None, 1),
    ]
    # A request naming no agent goes to the command's agent.
    assert [(agent.agent_name, agent.total_tokens) for agent in tracker.agent_snapshot()] == [
        ("summarizer", 520),
        ("my-app", 520),
    ]


def test_default_interval_lines_are_never_wrapped_at_the_console_width(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")  # a narrow (or piped, 80-column) stderr
    clock = StepClock()
    tracker = TokenTracker(project_path=tmp_path, persist=False, clock=clock, interval_minutes=5)
    tracker.start_session()
    for seconds, prompt in ((60, 3_000), (300, 1_000)):
        clock.advance(seconds)
        tracker.record(usage("a", prompt, 200, model="gpt-4o-mini", timestamp=clock.now))
    assert capsys.readouterr().err.splitlines() == [
        "[+5min] Interval 1: 3,200 tokens (3,000 in, 200 out) | Cost: $0.0006 | 1 request"
    ]
