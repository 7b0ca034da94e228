"""Choosing the model behind the six agents: the OpenAI provider, LiteLLM, or the offline engine.

- An OpenAI model (``gpt-…``, ``o3…``, ``openai/…``) runs through the Agents SDK's own OpenAI
  provider: the Responses API, or Chat Completions with ``--api chat``. Chat Completions is the
  default when a base URL is given (``--api-base``, ``OPENAI_BASE_URL``, ``OPENAI_API_BASE``),
  because OpenAI-compatible servers (Ollama, vLLM, proxies) rarely speak the Responses API.
- Every other LiteLLM model string runs through the SDK's ``LitellmModel``; LiteLLM reads the
  provider's own environment variables, ``--api-key``/``--api-base`` override them.
- ``--offline`` runs the offline engine (``memory_banker.offline.engine``) in-process, behind the
  same :class:`AgentRunner` interface; that path imports no LLM SDK.

Choosing (``choose_backend``) imports nothing heavy, so ``--dry-run`` can describe the backend;
``open_runner`` imports the Agents SDK (and openai or litellm) only for a backend that calls a
model, after every up-front check has passed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from memory_banker.digest.build import build_digest
from memory_banker.digest.files import withheld_files
from memory_banker.digest.secrets import OutgoingRedactor
from memory_banker.errors import MemoryBankerError, UsageError
from memory_banker.keys import (
    env_base_url,
    is_openai_model,
    key_values,
    provider_of,
)
from memory_banker.offline.engine import OfflineRunner
from memory_banker.specs import AgentSpec, spec_by_name, system_instructions, user_message
from memory_banker.writer import read_bank_file
from token_tracking import OFFLINE_MODEL
from token_tracking.ratelimits import watch_client
from token_tracking.reports.file import DigestSummary

if TYPE_CHECKING:
    from agents import Model, ModelSettings

    from memory_banker.digest.facts import Digest
    from token_tracking import TokenTracker

ApiKind = Literal["responses", "chat"]
BackendKind = Literal["openai-responses", "openai-chat", "litellm", "offline"]

# A key is required by the OpenAI client even when the server at --api-base needs none (Ollama,
# vLLM): this placeholder is sent instead, and it is not a secret.
_PLACEHOLDER_KEY = "not-needed"

LOOPBACK_MAX_RETRIES = 1
"""Retries of a failed request to a server on this machine (the OpenAI client's default is 2,
with growing back-off): a refused connection there means nothing listens, so it fails fast."""

LOOPBACK_CONNECT_TIMEOUT = 2.0
"""Seconds to wait for a connection to a server on this machine (the client's default: 5)."""

REQUEST_TIMEOUT = 600.0
"""Seconds a request may take once connected (the OpenAI client's default); ``--timeout`` bounds
each agent as a whole."""


class ProviderConnectionError(MemoryBankerError):
    """An agent could not reach its provider: the message names the URL (never its credentials)
    and the reason (refused, timed out, DNS, TLS)."""


@dataclass(frozen=True)
class Backend:
    """Which model implementation the agents run on, and where it sends requests."""

    kind: BackendKind
    """``openai-responses``, ``openai-chat``, ``litellm`` or ``offline``."""
    model: str
    """The model as the user gave it (what reports and pricing use)."""
    api_model: str
    """The name sent to the provider (``openai/`` stripped for the OpenAI provider)."""
    base_url: str | None
    """The base URL requests go to; ``None`` for the provider's default."""

    def describe(self) -> str:
        """Return a one-line description for the dry-run plan (no credentials in it)."""
        where = f" at {_without_credentials(self.base_url)}" if self.base_url else ""
        if self.kind == "openai-responses":
            return f"OpenAI Responses API (Agents SDK OpenAI provider){where}"
        if self.kind == "openai-chat":
            return f"OpenAI Chat Completions API (Agents SDK OpenAI provider){where}"
        if self.kind == "litellm":
            provider = provider_of(self.model) or "provider inferred by LiteLLM"
            return f"LiteLLM ({provider}) through the Agents SDK LitellmModel{where}"
        return "offline engine (in-process static analysis; no network, no key)"


def _without_credentials(url: str) -> str:
    """Return ``url`` without a ``user:password@`` part."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def choose_backend(
    model: str,
    *,
    offline: bool = False,
    api: ApiKind | None = None,
    api_base: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Backend:
    """Return the backend for ``model`` and the options given. Imports no SDK.

    Raises ``UsageError`` when ``--api`` is given for a model that does not run through the OpenAI
    provider (LiteLLM picks the API itself), when the model name is empty, or when ``api_base`` is
    not an http(s) URL with a host.
    """
    env = os.environ if environ is None else environ
    if offline:
        return Backend(kind="offline", model=OFFLINE_MODEL, api_model=OFFLINE_MODEL, base_url=None)
    if not model.strip():
        raise UsageError("--model is empty: give a model such as gpt-4o-mini, or use --offline")
    if api_base is not None:
        _check_base_url(api_base)
    if is_openai_model(model):
        base_url = api_base or env_base_url(model, env)
        chosen: ApiKind = api if api is not None else ("chat" if base_url else "responses")
        api_model = model.split("/", 1)[1] if model.lower().startswith("openai/") else model
        kind: BackendKind = "openai-chat" if chosen == "chat" else "openai-responses"
        return Backend(kind=kind, model=model, api_model=api_model, base_url=base_url)
    if api == "responses":
        raise UsageError(
            f"--api responses needs an OpenAI model; {model} runs through LiteLLM "
            "(drop --api, or use an OpenAI model such as gpt-4o-mini)"
        )
    return Backend(kind="litellm", model=model, api_model=model, base_url=api_base)


def _check_base_url(url: str) -> None:
    """Refuse a ``--api-base`` no client could connect to, before six agents each fail on it."""
    try:
        parts = urlsplit(url.strip())
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        valid = False
    if not valid:
        # A URL with user:password@ may carry a credential: never repeat it.
        shown = repr(url) if "@" not in url else "(a URL with credentials, not shown)"
        raise UsageError(
            f"--api-base {shown} is not an http(s) URL with a host: give one such as "
            "http://localhost:11434/v1"
        )


def configure_tracing(trace: bool) -> None:
    """Turn the Agents SDK's trace export off unless ``--trace`` asked for it.

    Left on without a real OpenAI key, the exporter slows process exit by ~3 s.
    """
    # Lazy: the Agents SDK costs ~1.6 s to import, paid only by runs that use it.
    from agents import set_tracing_disabled

    set_tracing_disabled(not trace)


def model_settings(backend: Backend) -> ModelSettings:
    """Return the settings every agent runs with: usage reported, raw usage preserved.

    ``include_usage`` makes streaming Chat Completions and LiteLLM report usage;
    ``preserve_raw_usage`` keeps the provider's own counts (the SDK's ``Usage`` turns missing
    counts into 0) on the OpenAI models, the only ones that support it.
    """
    # Lazy: see configure_tracing.
    from agents import ModelSettings

    if backend.kind in ("openai-responses", "openai-chat"):
        return ModelSettings(include_usage=True, preserve_raw_usage=True)
    if backend.kind == "litellm":
        return ModelSettings(include_usage=True)
    return ModelSettings()


def agent_settings(backend: Backend, settings: ModelSettings, agent_name: str) -> ModelSettings:
    """Return ``settings`` for the agent ``agent_name``.

    On LiteLLM the request metadata names the agent, so the tracker's LiteLLM callback can file
    each request's own usage (cache writes included, which the SDK's LiteLLM model drops) under
    the right agent.
    """
    if backend.kind != "litellm":
        return settings
    # Lazy: the integration module is light, but it belongs to runs that use LiteLLM.
    from token_tracking.integrations.litellm import AGENT_METADATA_KEY

    return dataclasses.replace(settings, metadata={AGENT_METADATA_KEY: agent_name})


@contextlib.contextmanager
def usage_callbacks(backend: Backend, tracker: Any) -> Iterator[None]:
    """Register the tracker's LiteLLM callback for the duration of a LiteLLM run.

    Does nothing for the other backends, whose usage the Agents SDK hooks read directly.
    """
    if backend.kind != "litellm":
        yield
        return
    # Lazy: litellm is already imported by build_model on this path. registered_callback also
    # waits for LiteLLM's deferred callbacks and removes ours from every list LiteLLM copied it to.
    from token_tracking.integrations.litellm import registered_callback

    with registered_callback(tracker):
        yield


def build_model(
    backend: Backend,
    *,
    api_key: str | None = None,
    max_retries: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> Model:
    """Return the Agents SDK ``Model`` for ``backend``, one that calls a model.

    ``max_retries`` sets the OpenAI client's retries (its default, 2, when ``None``). Raises
    ``ValueError`` for the offline backend, which runs no SDK model (see ``open_runner``).
    """
    env = os.environ if environ is None else environ
    if backend.kind == "offline":
        raise ValueError("the offline engine runs no SDK model: use open_runner")
    if backend.kind == "litellm":
        # Lazy: the SDK's LiteLLM model costs ~3.4 s to import.
        import litellm
        from agents.extensions.models.litellm_model import LitellmModel

        # Without these, LiteLLM prints "Provider List" noise on unknown names and spends ~23 s
        # retrying a Hugging Face tokenizer download for llama-family names.
        litellm.suppress_debug_info = True
        litellm.disable_hf_tokenizer_download = True
        return LitellmModel(model=backend.api_model, base_url=backend.base_url, api_key=api_key)
    # Lazy: openai and the Agents SDK load only for runs that call a model.
    from agents import OpenAIChatCompletionsModel, OpenAIResponsesModel
    from openai import AsyncOpenAI

    key = api_key or env.get("OPENAI_API_KEY") or (_PLACEHOLDER_KEY if backend.base_url else None)
    client = AsyncOpenAI(
        api_key=key, base_url=backend.base_url, **client_options(backend, max_retries)
    )
    # The provider's rate-limit headers of every response go to the ledger (`tokens limits`).
    watch_client(client, provider="openai", source="memory-banker")
    if backend.kind == "openai-chat":
        return OpenAIChatCompletionsModel(model=backend.api_model, openai_client=client)
    return OpenAIResponsesModel(model=backend.api_model, openai_client=client)


def is_loopback(url: str | None) -> bool:
    """True when ``url``'s host is this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if not url:
        return False
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_options(backend: Backend, max_retries: int | None) -> dict[str, Any]:
    """Return the OpenAI client's ``max_retries`` and ``timeout`` for ``backend``.

    ``max_retries`` given wins; a loopback base URL gets :data:`LOOPBACK_MAX_RETRIES` and a
    :data:`LOOPBACK_CONNECT_TIMEOUT` connect timeout; otherwise the client's defaults.
    """
    # Lazy: openai loads only for runs that call a model.
    from openai import Timeout

    options: dict[str, Any] = {}
    if is_loopback(backend.base_url):
        options["max_retries"] = LOOPBACK_MAX_RETRIES
        options["timeout"] = Timeout(REQUEST_TIMEOUT, connect=LOOPBACK_CONNECT_TIMEOUT)
    if max_retries is not None:
        options["max_retries"] = max_retries
    return options


def _chain(error: BaseException) -> Iterator[BaseException]:
    """Yield ``error`` and its causes and contexts, each once."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _connection_reason(errors: Sequence[BaseException]) -> str | None:
    """Say in a few words why a connection failed, from the exceptions of one chain."""
    names = {type(error).__name__ for error in errors}
    for error in errors:
        if isinstance(error, ssl.SSLCertVerificationError):
            detail = getattr(error, "verify_message", None) or "verify failed"
            return f"TLS certificate not accepted ({detail})"
        if isinstance(error, ssl.SSLError):
            return f"TLS handshake failed ({getattr(error, 'reason', None) or 'SSL error'})"
    for error in errors:
        if isinstance(error, ConnectionRefusedError):
            return "connection refused (is the server running?)"
        if isinstance(error, socket.gaierror):
            return "DNS lookup failed (unknown host)"
    if any(
        isinstance(error, TimeoutError) or "Timeout" in type(error).__name__ for error in errors
    ):
        return "timed out"
    for error in errors:
        if isinstance(error, ConnectionResetError):
            return "connection reset by the server"
    if names & {"APIConnectionError", "ConnectError", "ClientConnectorError"}:
        return "connection failed"
    return None


def _request_url(errors: Sequence[BaseException]) -> str | None:
    """Return the URL of the failed request named deepest in the chain (the transport's)."""
    found: str | None = None
    for error in errors:
        try:
            request = getattr(error, "request", None)
            url = getattr(request, "url", None)
        except RuntimeError:  # httpx raises when an error has no request attached
            continue
        if url is not None:
            found = str(url)
    return found


def connection_failure(error: BaseException, backend: Backend) -> str | None:
    """Return ``cannot connect to <url>: <reason>`` when ``error`` is a failure to reach the
    provider (refused, timed out, DNS, TLS), else None. The URL never carries credentials or a
    query, and no object repr is ever part of the line."""
    errors = list(_chain(error))
    reason = _connection_reason(errors)
    if reason is None:
        return None
    url = backend.base_url or _request_url(errors)
    if url is None:
        where = f"the {provider_of(backend.model) or 'provider'}'s server"
    else:
        parts = urlsplit(_without_credentials(url))
        where = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return f"cannot connect to {where}: {reason}"


# --- running agents ------------------------------------------------------------------------------


class AgentRunner(Protocol):
    """What the pipeline calls to run one agent, whichever backend runs it.

    The pipeline starts and ends the agent in the run's tracker; the runner records the agent's
    requests into it, under ``spec.name``.
    """

    async def run_agent(self, spec: AgentSpec, instructions: str, message: str) -> str:
        """Run ``spec``'s agent on ``instructions`` and ``message``; return its raw output.

        Raises whatever the agent's run raised (the pipeline records it as the agent's failure).
        """
        ...


class SdkRunner:
    """Runs agents through the OpenAI Agents SDK's ``Runner`` on a model that calls a provider;
    the tracker's hooks record each response's usage.

    Every text sent (the system instructions and each user message) passes through
    :attr:`redactor` right before it is sent, the one place a run's texts leave the machine.
    """

    def __init__(
        self,
        backend: Backend,
        tracker: TokenTracker,
        *,
        api_key: str | None = None,
        max_retries: int | None = None,
        trace: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """Build ``backend``'s model (importing the SDKs) with tracing off unless ``trace``."""
        configure_tracing(trace)
        self.backend = backend
        self.tracker = tracker
        self.trace = trace
        self.model = build_model(backend, api_key=api_key, max_retries=max_retries, environ=environ)
        self.settings = model_settings(backend)
        self.redactor = OutgoingRedactor(key_values(backend.model, api_key, environ))
        """Redacts what is sent and counts the redactions by kind."""

    async def run_agent(self, spec: AgentSpec, instructions: str, message: str) -> str:
        """Run ``spec``'s agent to its end with the tracker's hooks; return its final output."""
        # Lazy: see configure_tracing (already imported by __init__ on this path).
        from agents import Agent, RunConfig, Runner

        instructions, message = self.redactor.outgoing(instructions, message)
        agent = Agent(
            name=spec.name,
            instructions=instructions,
            model=self.model,
            model_settings=agent_settings(self.backend, self.settings, spec.name),
        )
        try:
            result = await Runner.run(
                agent,
                message,
                hooks=self.tracker.agents_hooks(),
                run_config=RunConfig(tracing_disabled=not self.trace),
            )
        except Exception as error:  # classified here, re-raised unchanged when not a connection
            failure = connection_failure(error, self.backend)
            if failure is None:
                raise
            raise ProviderConnectionError(failure) from error
        return str(result.final_output or "")


def digest_summary(runner: AgentRunner, project: Path) -> DigestSummary | None:
    """Return what a run of ``runner`` kept from the provider: redactions by kind, withheld files.

    ``None`` for a runner that sends nothing (the offline engine).
    """
    if not isinstance(runner, SdkRunner):
        return None
    return DigestSummary(
        redactions=dict(sorted(runner.redactor.counts.items())),
        withheld_file_count=len(withheld_files(project)),
    )


def open_runner(
    backend: Backend,
    tracker: TokenTracker,
    digest: Digest,
    *,
    api_key: str | None = None,
    max_retries: int | None = None,
    trace: bool = False,
    environ: Mapping[str, str] | None = None,
) -> AgentRunner:
    """Return the runner of ``backend``'s agents, recording their usage into ``tracker``.

    The offline backend gets the offline engine over ``digest`` and imports no SDK; the others
    get an :class:`SdkRunner` (see its parameters).
    """
    if backend.kind == "offline":
        return OfflineRunner(digest, tracker)
    return SdkRunner(
        backend,
        tracker,
        api_key=api_key,
        max_retries=max_retries,
        trace=trace,
        environ=environ,
    )


# --- what a run sends ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """What a run would send for the existing bank state, exactly as the runner sends it."""

    system: str
    """The system instructions every agent shares (preamble and digest), redacted."""
    agents: dict[str, str]
    """Each agent's user message, redacted, in run order."""
    tokens: int
    """Tokens of the digest."""
    withheld_files: list[str]
    """Files never opened: possibly secret, or named by ``.memorybankignore``."""
    redactions: dict[str, int]
    """Secrets replaced in those texts, by kind."""


def outgoing(
    project: Path, specs: Sequence[AgentSpec], *, context_tokens: int, secrets: Sequence[str] = ()
) -> Outgoing:
    """Return what a run of ``specs`` would send, passed through the runner's redactor.

    Inputs come from the existing bank files (in a run, an input regenerated in an earlier round
    is that agent's new output). ``secrets``: exact values to withhold too. Raises ``UsageError``
    for a ``context_tokens`` below the minimum or a bank input that cannot be read.
    """
    digest = build_digest(project, context_tokens=context_tokens)
    redactor = OutgoingRedactor(secrets)
    shared = system_instructions(digest)
    system, _ = redactor.outgoing(shared, "")
    messages: dict[str, str] = {}
    for spec in specs:
        inputs = {dep: read_bank_file(project, spec_by_name(dep).file) for dep in spec.depends_on}
        _, messages[spec.name] = redactor.outgoing(shared, user_message(spec, inputs))
    return Outgoing(
        system=system,
        agents=messages,
        tokens=digest.tokens,
        withheld_files=withheld_files(project),
        redactions=dict(sorted(redactor.counts.items())),
    )
