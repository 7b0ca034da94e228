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
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from memory_banker.errors import UsageError
from memory_banker.keys import env_base_url, is_openai_model, provider_of
from memory_banker.offline.engine import OfflineRunner
from memory_banker.specs import AgentSpec
from token_tracking import OFFLINE_MODEL

if TYPE_CHECKING:
    from agents import Model, ModelSettings

    from memory_banker.digest.facts import Digest
    from token_tracking import TokenTracker

ApiKind = Literal["responses", "chat"]
BackendKind = Literal["openai-responses", "openai-chat", "litellm", "offline"]

# A key is required by the OpenAI client even when the server at --api-base needs none (Ollama,
# vLLM): this placeholder is sent instead, and it is not a secret.
_PLACEHOLDER_KEY = "not-needed"


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
    if max_retries is None:
        client = AsyncOpenAI(api_key=key, base_url=backend.base_url)
    else:
        client = AsyncOpenAI(api_key=key, base_url=backend.base_url, max_retries=max_retries)
    if backend.kind == "openai-chat":
        return OpenAIChatCompletionsModel(model=backend.api_model, openai_client=client)
    return OpenAIResponsesModel(model=backend.api_model, openai_client=client)


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
    the tracker's hooks record each response's usage."""

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

    async def run_agent(self, spec: AgentSpec, instructions: str, message: str) -> str:
        """Run ``spec``'s agent to its end with the tracker's hooks; return its final output."""
        # Lazy: see configure_tracing (already imported by __init__ on this path).
        from agents import Agent, RunConfig, Runner

        agent = Agent(
            name=spec.name,
            instructions=instructions,
            model=self.model,
            model_settings=agent_settings(self.backend, self.settings, spec.name),
        )
        result = await Runner.run(
            agent,
            message,
            hooks=self.tracker.agents_hooks(),
            run_config=RunConfig(tracing_disabled=not self.trace),
        )
        return str(result.final_output or "")


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
