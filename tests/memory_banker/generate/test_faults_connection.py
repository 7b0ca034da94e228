"""A provider that cannot be reached: one line per failed agent naming the URL (never its
credentials) and the reason (refused, timed out, DNS, TLS), on stderr and in the report; a
loopback base URL gets bounded retries and a short connect timeout. Tests check the mechanism
(retry count, timeout value), never the wall clock."""

from __future__ import annotations

import errno
import json
import socket
import ssl
from pathlib import Path

import httpx2 as httpx
import openai
import pytest

from memory_banker.backends import (
    LOOPBACK_CONNECT_TIMEOUT,
    LOOPBACK_MAX_RETRIES,
    Backend,
    build_model,
    choose_backend,
    client_options,
    connection_failure,
    is_loopback,
)
from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider
from tests.support.generate import TEST_KEY, reports
from tests.support.sample_project import make_sample_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_sample_project(tmp_path)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # closed: nothing listens there now


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000/v1", True),
        ("http://127.3.4.5/v1", True),
        ("http://localhost:11434", True),
        ("http://[::1]:8000/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://10.0.0.1/v1", False),
        (None, False),
    ],
)
def test_loopback_urls_are_recognised(url: str | None, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_a_loopback_server_gets_bounded_retries_and_a_short_connect_timeout() -> None:
    backend = choose_backend("gpt-4o-mini", api_base="http://127.0.0.1:8000/v1", environ={})
    options = client_options(backend, None)
    assert options["max_retries"] == LOOPBACK_MAX_RETRIES == 1
    assert options["timeout"].connect == LOOPBACK_CONNECT_TIMEOUT == 2.0
    model = build_model(backend, api_key="k", environ={})
    client = model._client  # type: ignore[attr-defined]
    assert client.max_retries == 1
    assert client.timeout.connect == 2.0
    # --max-retries given wins; a remote server keeps the client's defaults.
    assert client_options(backend, 0)["max_retries"] == 0
    remote = choose_backend("gpt-4o-mini", environ={})
    assert client_options(remote, None) == {}


def _chained(root: BaseException, url: str) -> BaseException:
    """An openai APIConnectionError over an httpx ConnectError over ``root``, as the SDK raises."""
    request = httpx.Request("POST", url)
    try:
        try:
            raise root
        except BaseException as cause:
            raise httpx.ConnectError(str(cause), request=request) from cause
    except httpx.ConnectError as transport:
        error = openai.APIConnectionError(request=request)
        error.__cause__ = transport
        return error


BACKEND = Backend(
    kind="openai-chat",
    model="gpt-4o-mini",
    api_model="gpt-4o-mini",
    base_url="http://user:s3cret@127.0.0.1:8000/v1",
)


@pytest.mark.parametrize(
    ("root", "reason"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"), "connection refused"),
        (socket.gaierror(-2, "Name or service not known"), "DNS lookup failed (unknown host)"),
        (TimeoutError(), "timed out"),
        (
            ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED]"),
            "TLS certificate not accepted",
        ),
    ],
)
def test_each_connection_failure_is_named_with_the_url_without_credentials(
    root: BaseException, reason: str
) -> None:
    error = _chained(root, "http://user:s3cret@127.0.0.1:8000/v1/chat/completions")
    line = connection_failure(error, BACKEND)
    assert line is not None
    assert line.startswith(f"cannot connect to http://127.0.0.1:8000/v1: {reason}")
    assert "s3cret" not in line and "user" not in line
    assert " object at 0x" not in line


def test_an_aiohttp_style_error_with_an_ssl_context_repr_is_one_plain_line() -> None:
    context = ssl.create_default_context()
    root = ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 11434)")
    error = _chained(root, "http://localhost:11434/api/generate")
    error.args = (f"Cannot connect to host localhost:11434 ssl:{context!r}",)
    ollama = Backend(
        kind="litellm", model="ollama/llama3", api_model="ollama/llama3", base_url=None
    )
    assert connection_failure(error, ollama) == (
        "cannot connect to http://localhost:11434/api/generate: connection refused "
        "(is the server running?)"
    )


def test_other_errors_are_not_connection_failures() -> None:
    assert connection_failure(ValueError("bad output"), BACKEND) is None


def _run(project: Path, base_url: str) -> tuple[int, str, dict[str, object]]:
    result = invoke(
        project,
        "init",
        "--api-base",
        base_url,
        "--max-retries",
        "0",
        "--json",
        env={"OPENAI_API_KEY": TEST_KEY},
    )
    return result.exit_code, result.stderr, json.loads(result.stdout)


def test_a_refused_connection_is_one_line_on_stderr_and_in_the_report(project: Path) -> None:
    port = _free_port()
    code, stderr, printed = _run(project, f"http://user:s3cret@127.0.0.1:{port}/v1")

    line = (
        f"cannot connect to http://127.0.0.1:{port}/v1: connection refused (is the server running?)"
    )
    assert code == 1
    assert stderr.count(line) == 1
    assert f"Agent projectbrief failed: {line}" in stderr.splitlines()
    assert "s3cret" not in stderr and " object at 0x" not in stderr
    assert "Traceback" not in stderr
    agents = printed["agent_usage"]
    assert isinstance(agents, list)
    assert [agent["error"] for agent in agents] == [line]
    [saved] = reports(project)
    assert [agent.error for agent in saved.agent_usage] == [line]


def test_tls_to_a_plain_http_server_is_named_as_tls(
    project: Path, fake_provider: FakeProvider
) -> None:
    https = fake_provider.openai_base_url.replace("http://", "https://")
    code, stderr, _ = _run(project, https)
    assert code == 1
    failed = [line for line in stderr.splitlines() if line.startswith("Agent ")]
    assert failed == [
        f"Agent projectbrief failed: cannot connect to {https}: TLS handshake failed "
        "(WRONG_VERSION_NUMBER)"
    ]
    assert " object at 0x" not in stderr
