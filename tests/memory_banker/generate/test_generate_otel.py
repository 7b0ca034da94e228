"""``--otel`` / ``TOKEN_TRACKING_OTEL``: a run's spans and metrics reach an OTLP receiver and carry
exactly the report's counts; a collector that is down costs one warning, never the run."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider
from tests.support.generate import TEST_KEY, reports, script_bank
from tests.support.otlp_receiver import OtlpReceiver, serve
from tests.support.sample_project import make_sample_project
from token_tracking.reports.file import TokenUsageReport


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    for received in serve():
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", received.url)
        yield received


def _assert_spans_match(received: OtlpReceiver, report: TokenUsageReport) -> None:
    spans = received.spans()
    agents = {s.attributes["gen_ai.agent.name"]: s for s in spans if s.name.startswith("invoke_")}
    assert sorted(agents) == sorted(agent.agent_name for agent in report.agent_usage)
    for agent in report.agent_usage:
        attributes = agents[agent.agent_name].attributes
        assert attributes["gen_ai.conversation.id"] == report.session_id
        assert attributes.get("gen_ai.usage.input_tokens") == agent.prompt_tokens
        assert attributes.get("gen_ai.usage.output_tokens") == agent.completion_tokens
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert sum(s.attributes.get("gen_ai.usage.input_tokens", 0) for s in chats) == (
        report.total_prompt_tokens
    )
    assert sum(s.attributes.get("gen_ai.usage.output_tokens", 0) for s in chats) == (
        report.total_completion_tokens
    )
    assert len(chats) == report.total_requests
    points = received.metric_points()["gen_ai.client.token.usage"]
    by_type = {"input": 0.0, "output": 0.0}
    for attributes, point in points:
        by_type[attributes["gen_ai.token.type"]] += point.sum
    assert by_type == {
        "input": report.total_prompt_tokens,
        "output": report.total_completion_tokens,
    }


def test_an_offline_run_sends_one_span_per_agent_and_per_request(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    project = make_sample_project(tmp_path)

    result = invoke(
        project, "init", "--offline", "--quiet", "--json", env={"TOKEN_TRACKING_OTEL": "true"}
    )

    assert result.exit_code == 0, result.output
    report = TokenUsageReport.model_validate(json.loads(result.stdout))
    _assert_spans_match(receiver, report)
    assert {s.attributes["gen_ai.provider.name"] for s in receiver.spans()} == {
        "memory_banker.offline"
    }
    assert {s.resource["service.name"] for s in receiver.spans()} == {"memory-banker"}


def test_a_model_run_with_the_otel_flag_sends_the_reports_counts(
    tmp_path: Path, receiver: OtlpReceiver, fake_provider: FakeProvider
) -> None:
    project = make_sample_project(tmp_path)
    script_bank(fake_provider)
    env = {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake_provider.openai_base_url}

    result = invoke(project, "init", "--otel", "--quiet", env=env)

    assert result.exit_code == 0, result.output
    [report] = reports(project)
    _assert_spans_match(receiver, report)
    assert {s.attributes["gen_ai.provider.name"] for s in receiver.spans()} == {"openai"}
    assert all(TEST_KEY not in json.dumps(h) for h in receiver.headers)


def test_a_collector_that_is_down_costs_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    project = make_sample_project(tmp_path)

    result = invoke(project, "update", "--offline", "--quiet", "--otel")

    assert result.exit_code == 0, result.output
    warnings = [r.getMessage() for r in caplog.records if "OpenTelemetry" in r.getMessage()]
    assert len(warnings) == 1
    assert f"the collector at http://127.0.0.1:{port} did not accept" in warnings[0]
    assert "Traceback" not in result.stderr
