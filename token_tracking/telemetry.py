"""OpenTelemetry export of a finished session: GenAI spans and metrics over OTLP/HTTP.

Opt-in (``TOKEN_TRACKING_OTEL=true``, ``memory-banker --otel``, or ``TokenTracker(otel=True)``) and
needs the ``otel`` extra (``pip install "memory-banker[otel]"``). The endpoint and headers come
from the standard variables, read by the OpenTelemetry exporter itself:
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` (full URLs), else
``OTEL_EXPORTER_OTLP_ENDPOINT`` plus ``/v1/traces`` and ``/v1/metrics`` (default
``http://localhost:4318``), and ``OTEL_EXPORTER_OTLP_HEADERS``.

What is sent, following the OpenTelemetry GenAI semantic conventions:

- a span ``invoke_agent {agent}`` per agent run (its real start and end), and below it a span
  ``chat {model}`` per request (ending when the request was recorded, starting its duration
  earlier), each with ``gen_ai.operation.name``, ``gen_ai.provider.name``,
  ``gen_ai.request.model``, ``gen_ai.response.model``, ``gen_ai.agent.name``,
  ``gen_ai.conversation.id`` (the session id) and the usage: ``gen_ai.usage.input_tokens`` (the
  prompt, cache included), ``gen_ai.usage.output_tokens`` (the completion, reasoning included),
  ``gen_ai.usage.cache_read.input_tokens``, ``gen_ai.usage.cache_creation.input_tokens``,
  ``gen_ai.usage.reasoning.output_tokens``; ``error.type`` on a failed agent; and this product's
  own ``memory_banker.cost.usd``. A count or cost that is unknown is left out, never sent as 0;
- the metrics ``gen_ai.client.token.usage`` (histogram, ``{token}``, one point per request and
  ``gen_ai.token.type`` input or output), ``gen_ai.client.operation.duration`` (histogram,
  seconds) and ``memory_banker.cost`` (counter, USD);
- the resource ``service.name=memory-banker`` (``OTEL_SERVICE_NAME`` overrides it), with
  ``memory_banker.project`` and ``memory_banker.branch``.

Export happens once, when the session finishes, and never fails or stalls the run: each of the two
requests (traces, metrics) has a one-second deadline, and a collector that is down or slow costs
one warning. The OpenTelemetry packages are imported only here, only when export is on.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from token_tracking.errors import SettingError
from token_tracking.records import AgentUsage, RequestUsage
from token_tracking.reports.file import TokenUsageReport

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

OTEL_VARIABLE = "TOKEN_TRACKING_OTEL"
"""Environment variable that turns the export on (true/false)."""
SERVICE_NAME = "memory-banker"
"""The ``service.name`` of the exported resource unless ``OTEL_SERVICE_NAME`` is set."""
EXPORT_TIMEOUT_SECONDS = 0.9
"""The deadline of each export request (traces, then metrics): at most two seconds in all."""
INSTALL_HINT = 'pip install "memory-banker[otel]"'
"""What to run when the exporter is missing."""

TOKEN_BUCKETS: tuple[float, ...] = tuple(float(4**power) for power in range(14))
"""Histogram boundaries of ``gen_ai.client.token.usage`` (1, 4, 16, … 4^13), as the conventions
recommend."""
DURATION_BUCKETS: tuple[float, ...] = tuple(0.01 * 2**power for power in range(14))
"""Histogram boundaries of ``gen_ai.client.operation.duration`` (0.01 s doubling to 81.92 s)."""

OFFLINE_PROVIDER = "memory_banker.offline"
"""``gen_ai.provider.name`` of the built-in offline engine's requests."""
_PROVIDER_NAMES: Mapping[str, str] = {
    "azure": "azure.ai.openai",
    "azure_ai": "azure.ai.inference",
    "bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "vertex_ai_beta": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
}
"""LiteLLM provider names whose GenAI convention name differs."""

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

logger = logging.getLogger(__name__)


def telemetry_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Return whether ``TOKEN_TRACKING_OTEL`` turns the export on (default off).

    Raises:
        SettingError: the value is not a boolean word.
    """
    env = os.environ if environ is None else environ
    raw = env.get(OTEL_VARIABLE, "")
    value = raw.strip().lower()
    if value == "" or value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise SettingError(OTEL_VARIABLE, raw, "true or false")


def require_exporter() -> None:
    """Check that the OpenTelemetry SDK and OTLP/HTTP exporter are installed.

    Raises:
        SettingError: they are not (the message names the extra to install).
    """
    try:
        found = all(
            importlib.util.find_spec(name) is not None
            for name in ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http")
        )
    except (ModuleNotFoundError, ValueError):
        found = False
    if not found:
        raise SettingError(
            OTEL_VARIABLE, "true", f"off, or the OpenTelemetry exporter installed ({INSTALL_HINT})"
        )


def provider_name(model: str | None) -> str:
    """Return ``gen_ai.provider.name`` for ``model``: from the price table, else its prefix."""
    if model is None:
        return "unknown"
    if model == "offline":
        return OFFLINE_PROVIDER
    from pricing import default_pricebook

    resolution = default_pricebook().lookup(model)
    provider = resolution.entry.provider if resolution is not None else None
    if provider is None and "/" in model:
        provider = model.split("/", 1)[0]
    if provider is None:
        return "unknown"
    return _PROVIDER_NAMES.get(provider, provider)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000_000)


def _usage_attributes(
    usage: RequestUsage | AgentUsage, cost_usd: float | None
) -> dict[str, int | float]:
    """The usage attributes of a request or agent span; unknown values are left out."""
    values: dict[str, int | float | None] = {
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cached_tokens,
        "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
        "gen_ai.usage.reasoning.output_tokens": usage.reasoning_tokens,
        "memory_banker.cost.usd": cost_usd,
    }
    return {name: value for name, value in values.items() if value is not None}


def _error_type(error: str | None) -> str:
    """``error.type`` of a failed agent: the exception name its error text starts with."""
    head = (error or "").split(":", 1)[0].strip()
    return head if head.isidentifier() else "_OTHER"


def _request_attributes(request: RequestUsage, session_id: str) -> dict[str, Any]:
    requested = request.request_model or request.model
    answered = request.response_model or request.model
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider_name(requested),
        "gen_ai.conversation.id": session_id,
    }
    if requested:
        attributes["gen_ai.request.model"] = requested
    if answered:
        attributes["gen_ai.response.model"] = answered
    if request.agent_name:
        attributes["gen_ai.agent.name"] = request.agent_name
    if request.response_id:
        attributes["gen_ai.response.id"] = request.response_id
    return attributes


def build_spans(report: TokenUsageReport, requests: Sequence[RequestUsage]) -> list[ReadableSpan]:
    """Return the session's finished spans: one per agent run, one per request below it."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    collected = InMemorySpanExporter()
    provider = TracerProvider(resource=_resource(report))
    provider.add_span_processor(SimpleSpanProcessor(collected))
    tracer = provider.get_tracer("memory-banker")
    by_agent: dict[str | None, list[RequestUsage]] = {}
    for request in requests:
        by_agent.setdefault(request.agent_name, []).append(request)
    for agent in report.agent_usage:
        start = agent.start_time or report.start_time
        end = agent.end_time or report.end_time
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent.agent_name,
            "gen_ai.conversation.id": report.session_id,
            "gen_ai.provider.name": provider_name(agent.model or report.model),
            **_usage_attributes(agent, agent.cost_usd),
        }
        if agent.model or report.model:
            attributes["gen_ai.request.model"] = agent.model or report.model
        if not agent.success:
            attributes["error.type"] = _error_type(agent.error)
        span = tracer.start_span(
            f"invoke_agent {agent.agent_name}",
            kind=trace.SpanKind.INTERNAL,
            start_time=_ns(start),
            attributes=attributes,
        )
        if not agent.success:
            span.set_status(trace.Status(trace.StatusCode.ERROR, agent.error or "failed"))
        parent = trace.set_span_in_context(span)
        for request in by_agent.pop(agent.agent_name, []):
            _request_span(tracer, request, report.session_id, parent)
        span.end(end_time=_ns(end))
    for leftover in by_agent.values():
        for request in leftover:
            _request_span(tracer, request, report.session_id, None)
    provider.shutdown()
    return list(collected.get_finished_spans())


def _request_span(tracer: Any, request: RequestUsage, session_id: str, parent: Any) -> None:
    from opentelemetry import trace

    end = _ns(request.timestamp)
    start = end - int((request.duration_seconds or 0.0) * 1_000_000_000)
    name = request.request_model or request.model or "unknown"
    span = tracer.start_span(
        f"chat {name}",
        context=parent,
        kind=trace.SpanKind.CLIENT,
        start_time=start,
        attributes={
            **_request_attributes(request, session_id),
            **_usage_attributes(request, request.cost_usd),
        },
    )
    span.end(end_time=end)


def _resource(report: TokenUsageReport) -> Any:
    from opentelemetry.sdk.resources import Resource

    attributes: dict[str, str] = {
        "service.name": os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME,
        "memory_banker.project": report.project_path,
    }
    if report.git is not None and report.git.branch:
        attributes["memory_banker.branch"] = report.git.branch
    return Resource.create(attributes)


def build_metrics(report: TokenUsageReport, requests: Sequence[RequestUsage]) -> Any:
    """Return the session's metrics as an OpenTelemetry ``MetricsData``."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=_resource(report), metric_readers=[reader])
    meter = provider.get_meter("memory-banker")
    tokens = meter.create_histogram(
        "gen_ai.client.token.usage",
        unit="{token}",
        description="Tokens used per request, by token type.",
        explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
    )
    duration = meter.create_histogram(
        "gen_ai.client.operation.duration",
        unit="s",
        description="Duration of each request.",
        explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
    )
    cost = meter.create_counter(
        "memory_banker.cost", unit="USD", description="Estimated cost of the requests."
    )
    for request in requests:
        attributes = _request_attributes(request, report.session_id)
        attributes.pop("gen_ai.response.id", None)
        attributes.pop("gen_ai.conversation.id", None)
        if request.prompt_tokens is not None:
            tokens.record(request.prompt_tokens, {**attributes, "gen_ai.token.type": "input"})
        if request.completion_tokens is not None:
            tokens.record(request.completion_tokens, {**attributes, "gen_ai.token.type": "output"})
        if request.duration_seconds is not None:
            duration.record(request.duration_seconds, attributes)
        if request.cost_usd is not None:
            cost.add(request.cost_usd, attributes)
    data = reader.get_metrics_data()
    provider.shutdown()
    return data


@contextmanager
def _quiet_exporters() -> Iterator[None]:
    """Silence the exporters' own log lines: a failed export is one warning of ours."""
    loggers = [logging.getLogger(name) for name in ("opentelemetry", "urllib3")]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for each, level in zip(loggers, levels, strict=True):
            each.setLevel(level)


def export_session(report: TokenUsageReport, requests: Sequence[RequestUsage]) -> str | None:
    """Send the session's spans and metrics to the OTLP/HTTP endpoint.

    Returns ``None`` when both were accepted, else a one-line warning (the run goes on): the
    collector refused, timed out or is not listening, or the exporter is not installed.
    """
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics.export import MetricExportResult
        from opentelemetry.sdk.trace.export import SpanExportResult
    except ImportError:
        return f"OpenTelemetry export skipped: the exporter is not installed ({INSTALL_HINT})"
    spans = build_spans(report, requests)
    metrics = build_metrics(report, requests)
    with _quiet_exporters():
        span_exporter = OTLPSpanExporter(timeout=EXPORT_TIMEOUT_SECONDS)
        metric_exporter = OTLPMetricExporter(timeout=EXPORT_TIMEOUT_SECONDS)
        try:
            traces_sent = span_exporter.export(spans) == SpanExportResult.SUCCESS
            metrics_sent = (
                metric_exporter.export(metrics, timeout_millis=EXPORT_TIMEOUT_SECONDS * 1000)
                == MetricExportResult.SUCCESS
            )
        finally:
            span_exporter.shutdown()  # type: ignore[no-untyped-call]
            metric_exporter.shutdown()
    if traces_sent and metrics_sent:
        return None
    failed = " and ".join(
        kind for kind, sent in (("spans", traces_sent), ("metrics", metrics_sent)) if not sent
    )
    endpoint = _without_credentials(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "http://localhost:4318"
    )
    return (
        f"OpenTelemetry export failed: the collector at {endpoint} did not accept the {failed} "
        f"of session {report.session_id} (the run is not affected)"
    )


def _without_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` removed."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    host, at, path = rest.partition("@")
    return f"{scheme}://{path}" if at and "/" not in host else url
