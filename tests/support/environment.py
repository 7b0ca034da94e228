"""The environment every test runs in, set by the autouse fixture in ``tests/conftest.py``.

No test reads the user's home, keys, settings or git configuration: ``HOME`` is an empty folder
under the test's ``tmp_path``; git reads no global or system configuration and commits as a fixed
author and committer; the ledger and the data, config and cache folders live under that home.
Subprocesses inherit these variables (:func:`tests.support.cli.clean_environment` keeps them).
"""

from __future__ import annotations

import os
from pathlib import Path

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
"""Provider keys and endpoints removed from every test's environment."""

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
"""The tool's settings removed from every test's environment (each test sets what it needs)."""

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
}
"""Who a test's ``git commit`` is by. Git's ``user.email`` setting stays unset: a test that needs
it sets it in its repository."""


def isolated_variables(home: Path) -> dict[str, str]:
    """Return the variables a test runs with, for the empty folder ``home``.

    ``home`` becomes ``HOME``; the ledger file and the XDG data, config and cache folders are
    placed under it (created by whoever first writes there).
    """
    return {
        "HOME": str(home),
        "TOKEN_TRACKING_DB_PATH": str(home / "ledger.sqlite3"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        **GIT_IDENTITY,
        "OPENAI_AGENTS_DISABLE_TRACING": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }


ISOLATED_NAMES = tuple(isolated_variables(Path("home")))
"""The names :func:`isolated_variables` sets."""
