"""Which variable holds the API key a model's provider needs, checked before any SDK loads.

The check is a static table, not a question put to LiteLLM: importing LiteLLM or the Agents SDK
costs seconds, and a user who forgot a key should hear so in well under a second.

- A model string ``provider/name`` names its provider; a bare name is mapped by its family
  (``gpt-…``, ``o1…``/``o3…``/``o4…`` → OpenAI, ``claude-…`` → Anthropic, …).
- Local servers (``ollama/…``, ``lm_studio/…``, ``hosted_vllm/…``) need no key.
- Providers that find credentials through a chain of their own (``bedrock``, ``vertex_ai``,
  ``sagemaker``) and providers missing from the table are not checked: their SDK reports the gap.
- A run with ``--api-base`` (or ``OPENAI_BASE_URL`` / ``OPENAI_API_BASE`` for an OpenAI model) talks
  to a server the user chose, which may need no key: it is not checked either.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from memory_banker.errors import MissingApiKeyError
from token_tracking import OFFLINE_MODEL

PROVIDER_KEYS: Mapping[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY",),
    "anthropic": ("ANTHROPIC_API_KEY",),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    "mistral": ("MISTRAL_API_KEY",),
    "groq": ("GROQ_API_KEY",),
    "deepseek": ("DEEPSEEK_API_KEY",),
    "openrouter": ("OPENROUTER_API_KEY",),
    "azure": ("AZURE_API_KEY", "AZURE_OPENAI_API_KEY"),
    "azure_ai": ("AZURE_AI_API_KEY",),
    "xai": ("XAI_API_KEY",),
    "cohere": ("COHERE_API_KEY", "CO_API_KEY"),
    "cohere_chat": ("COHERE_API_KEY", "CO_API_KEY"),
    "together_ai": ("TOGETHERAI_API_KEY", "TOGETHER_API_KEY"),
    "fireworks_ai": ("FIREWORKS_API_KEY", "FIREWORKS_AI_API_KEY"),
    "perplexity": ("PERPLEXITYAI_API_KEY", "PERPLEXITY_API_KEY"),
    "cerebras": ("CEREBRAS_API_KEY",),
    "deepinfra": ("DEEPINFRA_API_KEY",),
    "huggingface": ("HF_TOKEN", "HUGGINGFACE_API_KEY"),
}
"""Provider (LiteLLM's prefix) → the variables that can hold its key; any one set is enough."""

KEYLESS_PROVIDERS: frozenset[str] = frozenset(
    {"ollama", "ollama_chat", "lm_studio", "hosted_vllm", "vllm", "llamafile", "xinference"}
)
"""Local servers that need no key."""

CREDENTIAL_CHAIN_PROVIDERS: frozenset[str] = frozenset({"bedrock", "vertex_ai", "sagemaker"})
"""Providers whose SDK finds credentials in several places (profiles, metadata): unchecked."""

_BARE_NAME_FAMILIES: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"),
    ("chatgpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("codex-", "openai"),
    ("claude-", "anthropic"),
)
"""How a model name without a ``provider/`` prefix maps to its provider, by name family."""


@dataclass(frozen=True)
class KeyRequirement:
    """The key a model needs."""

    provider: str
    """The provider, as LiteLLM spells its prefix (``openai``, ``anthropic``, …)."""
    variables: tuple[str, ...]
    """The environment variables that can hold the key; the first is the one to suggest."""


def provider_of(model: str) -> str | None:
    """Return the provider of ``model``, or ``None`` when a bare name's family is not known.

    ``anthropic/claude-3-5-haiku`` → ``anthropic``; ``gpt-4o-mini`` → ``openai``.
    """
    if "/" in model:
        return model.split("/", 1)[0].lower()
    lowered = model.lower()
    for prefix, provider in _BARE_NAME_FAMILIES:
        if lowered.startswith(prefix):
            return provider
    return None


def is_openai_model(model: str) -> bool:
    """Return True when ``model`` runs through the Agents SDK's own OpenAI provider."""
    return provider_of(model) == "openai"


def key_requirement(model: str) -> KeyRequirement | None:
    """Return the key ``model`` needs, or ``None`` for keyless, credential-chain or unknown ones."""
    provider = provider_of(model)
    if provider is None or provider in KEYLESS_PROVIDERS or provider in CREDENTIAL_CHAIN_PROVIDERS:
        return None
    variables = PROVIDER_KEYS.get(provider)
    if variables is None:
        return None
    return KeyRequirement(provider=provider, variables=variables)


def env_base_url(model: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Return the base URL the environment sets for an OpenAI model, else ``None``.

    ``OPENAI_BASE_URL`` (the OpenAI SDK's variable) wins over ``OPENAI_API_BASE`` (LiteLLM's).
    """
    env = os.environ if environ is None else environ
    if not is_openai_model(model):
        return None
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
        value = env.get(name)
        if value:
            return value
    return None


def check_api_key(
    model: str,
    *,
    api_key: str | None = None,
    api_base: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Raise ``MissingApiKeyError`` when ``model``'s provider needs a key that nobody gave.

    Returns quietly for the offline model, for keyless, credential-chain and unknown providers,
    when ``api_key`` is given, and when a base URL is given (``api_base`` or, for an OpenAI model,
    ``OPENAI_BASE_URL`` / ``OPENAI_API_BASE``). The message names the variable and ``--offline``;
    it never contains a key.
    """
    env = os.environ if environ is None else environ
    if model == OFFLINE_MODEL or api_key or api_base or env_base_url(model, env):
        return
    requirement = key_requirement(model)
    if requirement is None:
        return
    if any(env.get(name) for name in requirement.variables):
        return
    variable = requirement.variables[0]
    alternatives = requirement.variables[1:]
    also = f" (or {', '.join(alternatives)})" if alternatives else ""
    raise MissingApiKeyError(
        f"{variable} is not set: model {model} needs an API key for the {requirement.provider} "
        "provider. "
        f"Set {variable}{also} or pass --api-key, or run with --offline to generate the "
        "memory bank without a model."
    )


def key_values(
    model: str, api_key: str | None, environ: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """Return the key values a run of ``model`` could hold (the given key and the provider's key
    variables): never sent, never printed, whatever a text contains."""
    env = os.environ if environ is None else environ
    requirement = key_requirement(model)
    variables = requirement.variables if requirement is not None else ()
    values = [api_key, *(env.get(name) for name in variables)]
    return tuple(value for value in values if value)
