"""Test isolation shared by every test: no test touches the user's home, keys or the network."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_provider import FakeProvider

# Set before anything imports litellm (DESIGN §9): a remote price-map fetch would reach the network.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "1"

PROVIDER_KEY_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "OPENAI_ORG_ID",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "DEEPSEEK_API_KEY",
    "OPENROUTER_API_KEY",
    "AZURE_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "XAI_API_KEY",
    "COHERE_API_KEY",
    "TOGETHERAI_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)

SETTING_VARIABLES = (
    "MEMORY_BANKER_PRICING_FILE",
    "CLAUDE_COST_PER_1M_INPUT",
    "CLAUDE_COST_PER_1M_OUTPUT",
    "CLAUDE_HOURLY_LIMIT",
    "CLAUDE_DAILY_LIMIT",
    "TOKEN_HOURLY_LIMIT",
    "TOKEN_DAILY_LIMIT",
    "TOKEN_DAILY_BUDGET_USD",
    "TOKEN_MONTHLY_BUDGET_USD",
    "TOKEN_WARNING_THRESHOLD",
    "TOKEN_CRITICAL_THRESHOLD",
    "TOKEN_TRACKING_ENABLED",
    "TOKEN_INTERVAL_MINUTES",
    "TOKEN_HISTORY_DAYS",
    "TOKEN_TRACKING_DB_URL",
)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the ledger and config at ``tmp_path`` and remove provider keys and settings.

    Yields the per-test home directory that holds the ledger file.
    """
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TOKEN_TRACKING_DB_PATH", str(home / "ledger.sqlite3"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "1")
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    for name in PROVIDER_KEY_VARIABLES + SETTING_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield home


# LiteLLM keeps callbacks in module-level lists and, on every call, copies ``litellm.callbacks``
# into the others. A callback one test leaves in any of them receives every later test's events
# and, because LiteLLM skips adding a logger equal to a listed one, can even keep a later test's
# callback out of the lists.
LITELLM_CALLBACK_LISTS = (
    "callbacks",
    "input_callback",
    "success_callback",
    "failure_callback",
    "_async_input_callback",
    "_async_success_callback",
    "_async_failure_callback",
)


@pytest.fixture(autouse=True)
def isolated_litellm_callbacks() -> Iterator[None]:
    """Put LiteLLM's callback lists back as the test found them (empty if it loaded litellm).

    Never imports litellm itself: tests that do not use it stay free of its import cost.
    """
    before = sys.modules.get("litellm")
    saved = (
        {}
        if before is None
        else {name: list(getattr(before, name, [])) for name in LITELLM_CALLBACK_LISTS}
    )
    yield
    litellm = sys.modules.get("litellm")
    if litellm is None:
        return
    for name in LITELLM_CALLBACK_LISTS:
        if hasattr(litellm, name):
            setattr(litellm, name, saved.get(name, []))


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    """A running loopback fake of the OpenAI and Anthropic APIs (tests/support/fake_provider.py).

    Yields the started :class:`FakeProvider`; it is stopped after the test.
    """
    with FakeProvider() as fake:
        yield fake
