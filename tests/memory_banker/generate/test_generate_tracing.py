"""Tracing: the Agents SDK's traces are off unless ``--trace`` asks for them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agents import set_trace_processors, set_tracing_disabled
from agents.tracing import TracingProcessor
from agents.tracing.processors import default_processor

from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider
from tests.support.generate import TEST_KEY, script_bank
from tests.support.sample_project import make_sample_project


class _Collector(TracingProcessor):
    """Keeps the name of every trace the SDK starts; exports nothing (no network)."""

    def __init__(self) -> None:
        self.traces: list[str] = []

    def on_trace_start(self, trace: Any) -> None:
        self.traces.append(trace.name)

    def on_trace_end(self, trace: Any) -> None:
        pass

    def on_span_start(self, span: Any) -> None:
        pass

    def on_span_end(self, span: Any) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[_Collector]:
    """Replace the SDK's exporting processor with a collector; restore it afterwards."""
    collected = _Collector()
    set_trace_processors([collected])
    try:
        yield collected
    finally:
        set_trace_processors([default_processor()])
        set_tracing_disabled(True)


def test_no_trace_without_the_flag_and_one_per_agent_with_it(
    tmp_path: Path, collector: _Collector, fake_provider: FakeProvider
) -> None:
    project = make_sample_project(tmp_path)
    env: dict[str, str | None] = {
        "OPENAI_API_KEY": TEST_KEY,
        "OPENAI_BASE_URL": fake_provider.openai_base_url,
    }
    set_tracing_disabled(False)  # the run itself must turn tracing off, not the environment
    script_bank(fake_provider)

    plain = invoke(project, "init", "--quiet", env=env)

    assert plain.exit_code == 0, plain.stderr
    assert collector.traces == []

    script_bank(fake_provider, marker="v2")
    traced = invoke(project, "update", "--quiet", "--trace", env=env)

    assert traced.exit_code == 0, traced.stderr
    assert collector.traces == ["Agent workflow"] * 6


def test_an_offline_run_starts_no_trace_even_with_the_flag(
    tmp_path: Path, collector: _Collector
) -> None:
    project = make_sample_project(tmp_path)
    set_tracing_disabled(False)

    traced = invoke(project, "init", "--offline", "--quiet", "--trace")

    assert traced.exit_code == 0, traced.stderr
    assert collector.traces == []
