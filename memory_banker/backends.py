"""Choosing the model behind the six agents: the OpenAI provider, LiteLLM, or the offline engine.

- An OpenAI model (``gpt-…``, ``o3…``, ``openai/…``) runs through the Agents SDK's own OpenAI
  provider: the Responses API, or Chat Completions with ``--api chat``. Chat Completions is the
  default when a base URL is given (``--api-base``, ``OPENAI_BASE_URL``, ``OPENAI_API_BASE``),
  because OpenAI-compatible servers (Ollama, vLLM, proxies) rarely speak the Responses API.
- Every other LiteLLM model string runs through the SDK's ``LitellmModel``; LiteLLM reads the
  provider's own environment variables, ``--api-key``/``--api-base`` override them.
- ``--offline`` runs ``memory_banker.offline.engine``'s in-process model through the same pipeline.

Choosing (``choose_backend``) imports nothing heavy, so ``--dry-run`` can describe the backend;
building (``build_model``) imports the SDKs, lazily, after the key check has passed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from memory_banker.errors import UsageError
from memory_banker.keys import OFFLINE_MODEL, env_base_url, is_openai_model, provider_of

if TYPE_CHECKING:
    from agents import Model, ModelSettings

    from memory_banker.digest.build import Digest

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

    Left on without a real OpenAI key, the exporter slows process exit by ~3 s (DESIGN §9).
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
    the right agent (DESIGN §3).
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
    digest: Digest | None = None,
    environ: Mapping[str, str] | None = None,
) -> Model:
    """Return the Agents SDK ``Model`` for ``backend``.

    ``max_retries`` sets the OpenAI client's retries (its default, 2, when ``None``); ``digest`` is
    required by the offline engine. Raises ``UsageError`` when the offline engine gets no digest.
    """
    env = os.environ if environ is None else environ
    if backend.kind == "offline":
        if digest is None:
            raise UsageError("the offline engine needs the project digest")
        # Lazy: the offline engine subclasses the Agents SDK's Model.
        from memory_banker.offline.engine import offline_model

        return offline_model(digest)
    if backend.kind == "litellm":
        # Lazy: the SDK's LiteLLM model costs ~3.4 s to import (DESIGN §9).
        import litellm
        from agents.extensions.models.litellm_model import LitellmModel

        # Without these, LiteLLM prints "Provider List" noise on unknown names and spends ~23 s
        # retrying a Hugging Face tokenizer download for llama-family names (DESIGN §9).
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
