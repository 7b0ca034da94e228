"""A loopback OTLP/HTTP receiver: decodes the protobuf requests an OpenTelemetry exporter sends.

``POST /v1/traces`` bodies are decoded as ``ExportTraceServiceRequest`` and ``POST /v1/metrics``
bodies as ``ExportMetricsServiceRequest`` (``opentelemetry-proto``); each is kept, with its
headers, and answered with an empty success response, as a collector does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def plain(value: AnyValue) -> Any:
    """An attribute value as a Python value."""
    kind = value.WhichOneof("value")
    return None if kind is None else getattr(value, kind)


@dataclass
class ReceivedSpan:
    """One decoded span: its name, attributes, times, ids and its resource's attributes."""

    name: str
    attributes: dict[str, Any]
    start_ns: int
    end_ns: int
    span_id: bytes
    parent_span_id: bytes
    resource: dict[str, Any]
    status_code: int


@dataclass
class OtlpReceiver:
    """What the receiver got; ``url`` is its base (``http://127.0.0.1:PORT``)."""

    url: str = ""
    traces: list[ExportTraceServiceRequest] = field(default_factory=list)
    metrics: list[ExportMetricsServiceRequest] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def spans(self) -> list[ReceivedSpan]:
        """Every span received, in arrival order."""
        found: list[ReceivedSpan] = []
        for request in self.traces:
            for resource_spans in request.resource_spans:
                resource = {a.key: plain(a.value) for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        found.append(
                            ReceivedSpan(
                                name=span.name,
                                attributes={a.key: plain(a.value) for a in span.attributes},
                                start_ns=span.start_time_unix_nano,
                                end_ns=span.end_time_unix_nano,
                                span_id=span.span_id,
                                parent_span_id=span.parent_span_id,
                                resource=resource,
                                status_code=span.status.code,
                            )
                        )
        return found

    def metric_points(self) -> dict[str, list[tuple[dict[str, Any], Any]]]:
        """Per metric name, each data point as (attributes, point)."""
        points: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        for request in self.metrics:
            for resource_metrics in request.resource_metrics:
                for scope in resource_metrics.scope_metrics:
                    for metric in scope.metrics:
                        data = getattr(metric, metric.WhichOneof("data"))
                        for point in data.data_points:
                            attributes = {a.key: plain(a.value) for a in point.attributes}
                            points.setdefault(metric.name, []).append((attributes, point))
        return points

    def metric_units(self) -> dict[str, str]:
        """Per metric name, its unit."""
        return {
            metric.name: metric.unit
            for request in self.metrics
            for resource_metrics in request.resource_metrics
            for scope in resource_metrics.scope_metrics
            for metric in scope.metrics
        }


def _handler(received: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.headers.append({key.lower(): value for key, value in self.headers.items()})
            reply: bytes
            if self.path.endswith("/v1/traces"):
                received.traces.append(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
            elif self.path.endswith("/v1/metrics"):
                received.metrics.append(ExportMetricsServiceRequest.FromString(body))
                reply = ExportMetricsServiceResponse().SerializeToString()
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def serve() -> Iterator[OtlpReceiver]:
    """Run a receiver on a free loopback port for the duration of the ``with``/fixture."""
    received = OtlpReceiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(received))
    received.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.daemon = True
    thread.start()
    try:
        yield received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
