"""OpenTelemetry export: GenAI spans and metrics reach a loopback OTLP/HTTP receiver exactly."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.support.clock import START, StepClock
from tests.support.otlp_receiver import OtlpReceiver, serve
from tests.support.records import usage
from token_tracking import TokenTracker
from token_tracking.errors import SettingError
from token_tracking.records import RequestUsage
from token_tracking.reports.file import TokenUsageReport
from token_tracking.telemetry import (
    export_session,
    provider_name,
    require_exporter,
    telemetry_enabled,
)

MODEL = "gpt-4o-mini"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[OtlpReceiver]:
    for received in serve():
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", received.url)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=blue")
        yield received


def _session() -> tuple[TokenUsageReport, list[RequestUsage]]:
    """Two agents: one with two requests (one without usage), one failed with one request."""
    clock = StepClock()
    tracker = TokenTracker(
        command="test", persist=False, interval_minutes=600, clock=clock, model=MODEL
    )
    tracker.start_session()
    tracker.start_agent("writer", MODEL)
    clock.advance(2)
    tracker.record(
        usage(
            "writer",
            1_200,
            300,
            model=MODEL,
            cached_tokens=1_000,
            reasoning_tokens=40,
            duration_seconds=1.5,
            response_id="resp-1",
            timestamp=clock(),
        )
    )
    clock.advance(1)
    tracker.record(usage("writer", None, None, model=MODEL, timestamp=clock()))
    tracker.end_agent("writer", success=True)
    tracker.start_agent("critic", MODEL)
    clock.advance(1)
    tracker.record(usage("critic", 500, 20, model=MODEL, duration_seconds=0.25, timestamp=clock()))
    tracker.end_agent("critic", success=False, error="APIConnectionError: refused")
    report = tracker.finish()
    return report, tracker.requests()


def test_spans_carry_the_genai_attributes_and_omit_unknown_counts(
    receiver: OtlpReceiver,
) -> None:
    report, requests = _session()

    assert export_session(report, requests) is None

    all_spans = receiver.spans()
    assert sorted(span.name for span in all_spans) == [
        f"chat {MODEL}",
        f"chat {MODEL}",
        f"chat {MODEL}",
        "invoke_agent critic",
        "invoke_agent writer",
    ]
    spans = {span.name: span for span in all_spans}
    writer = spans["invoke_agent writer"]
    critic = spans["invoke_agent critic"]
    assert writer.resource["service.name"] == "memory-banker"
    assert writer.resource["memory_banker.project"] == report.project_path
    agent_of = {agent.agent_name: agent for agent in report.agent_usage}
    assert writer.attributes == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "writer",
        "gen_ai.conversation.id": report.session_id,
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL,
        "gen_ai.usage.input_tokens": agent_of["writer"].prompt_tokens,
        "gen_ai.usage.output_tokens": agent_of["writer"].completion_tokens,
        "gen_ai.usage.cache_read.input_tokens": agent_of["writer"].cached_tokens,
        "gen_ai.usage.reasoning.output_tokens": agent_of["writer"].reasoning_tokens,
        **(
            {"gen_ai.usage.cache_creation.input_tokens": agent_of["writer"].cache_write_tokens}
            if agent_of["writer"].cache_write_tokens is not None
            else {}
        ),
        **(
            {"memory_banker.cost.usd": agent_of["writer"].cost_usd}
            if agent_of["writer"].cost_usd is not None
            else {}
        ),
    }
    assert critic.attributes["error.type"] == "APIConnectionError"
    assert critic.status_code == 2  # STATUS_CODE_ERROR

    chats = [span for span in all_spans if span.name.startswith("chat ")]
    by_parent = {span.span_id: name for name, span in spans.items() if name.startswith("invoke")}
    assert sorted(by_parent[chat.parent_span_id] for chat in chats) == [
        "invoke_agent critic",
        "invoke_agent writer",
        "invoke_agent writer",
    ]
    first = next(c for c in chats if c.attributes.get("gen_ai.response.id") == "resp-1")
    assert first.attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.conversation.id": report.session_id,
        "gen_ai.request.model": MODEL,
        "gen_ai.response.model": MODEL,
        "gen_ai.agent.name": "writer",
        "gen_ai.response.id": "resp-1",
        "gen_ai.usage.input_tokens": 1_200,
        "gen_ai.usage.output_tokens": 300,
        "gen_ai.usage.cache_read.input_tokens": 1_000,
        "gen_ai.usage.reasoning.output_tokens": 40,
        "memory_banker.cost.usd": requests[0].cost_usd,
    }
    end = START + timedelta(seconds=2)
    assert first.end_ns == int(end.timestamp() * 1e9)
    assert first.end_ns - first.start_ns == 1_500_000_000
    unknown = [c for c in chats if "gen_ai.usage.input_tokens" not in c.attributes]
    assert len(unknown) == 1
    assert "memory_banker.cost.usd" not in unknown[0].attributes
    assert {"x-team": "blue"}.items() <= receiver.headers[0].items()


def test_metrics_count_exactly_what_the_report_counts(receiver: OtlpReceiver) -> None:
    report, requests = _session()

    assert export_session(report, requests) is None

    points = receiver.metric_points()
    assert receiver.metric_units() == {
        "gen_ai.client.token.usage": "{token}",
        "gen_ai.client.operation.duration": "s",
        "memory_banker.cost": "USD",
    }
    by_type: dict[str, float] = {}
    counts: dict[str, int] = {}
    for attributes, point in points["gen_ai.client.token.usage"]:
        kind = attributes["gen_ai.token.type"]
        by_type[kind] = by_type.get(kind, 0) + point.sum
        counts[kind] = counts.get(kind, 0) + point.count
        assert attributes["gen_ai.request.model"] == MODEL
    assert by_type == {
        "input": report.total_prompt_tokens,
        "output": report.total_completion_tokens,
    }
    assert counts == {"input": 2, "output": 2}
    durations = points["gen_ai.client.operation.duration"]
    assert sum(point.sum for _, point in durations) == pytest.approx(1.75)
    cost = sum(point.as_double for _, point in points["memory_banker.cost"])
    assert cost == pytest.approx(sum(r.cost_usd for r in requests if r.cost_usd is not None))


def test_service_name_comes_from_otel_service_name(
    receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "team-bank")
    report, requests = _session()

    assert export_session(report, requests) is None

    assert {span.resource["service.name"] for span in receiver.spans()} == {"team-bank"}


def test_a_collector_that_is_down_costs_one_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://user:secret@127.0.0.1:{port}")
    report, requests = _session()

    warning = export_session(report, requests)

    assert warning == (
        f"OpenTelemetry export failed: the collector at http://127.0.0.1:{port} did not accept "
        f"the spans and metrics of session {report.session_id} (the run is not affected)"
    )


@pytest.mark.parametrize(
    ("value", "expected"), [("", False), ("false", False), ("TRUE", True), ("1", True)]
)
def test_the_switch_reads_booleans(value: str, expected: bool) -> None:
    assert telemetry_enabled({"TOKEN_TRACKING_OTEL": value}) is expected


def test_a_bad_switch_names_the_variable() -> None:
    with pytest.raises(SettingError, match="TOKEN_TRACKING_OTEL must be true or false, got 'y'"):
        telemetry_enabled({"TOKEN_TRACKING_OTEL": "y"})


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-mini", "openai"),
        ("claude-sonnet-4-20250514", "anthropic"),
        ("gemini/gemini-2.0-flash", "gcp.gemini"),
        ("offline", "memory_banker.offline"),
        ("acme/private-model", "acme"),
        (None, "unknown"),
    ],
)
def test_provider_names_follow_the_conventions(model: str | None, expected: str) -> None:
    assert provider_name(model) == expected


def test_a_missing_exporter_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http", None)

    with pytest.raises(SettingError) as raised:
        require_exporter()

    assert str(raised.value) == (
        "TOKEN_TRACKING_OTEL must be off, or the OpenTelemetry exporter installed "
        "(pip install \"memory-banker[otel]\"), got 'true'"
    )
