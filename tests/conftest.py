"""Test isolation shared by every test: no test touches the user's home, keys, git configuration
or the network."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.environment import (
    PROVIDER_KEY_VARIABLES,
    SETTING_VARIABLES,
    isolated_variables,
)
from tests.support.fake_provider import FakeProvider
from tests.support.postgres import PostgresServer, start_server

# Set before anything imports litellm: a remote price-map fetch would reach the network.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "1"


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Give the test an empty ``HOME``, no git configuration, and no provider keys or settings.

    The variables are those of :func:`tests.support.environment.isolated_variables`. Yields the
    test's home directory (empty at the start), which also holds the ledger file.
    """
    home = tmp_path / "home"
    home.mkdir()
    for name, value in isolated_variables(home).items():
        monkeypatch.setenv(name, value)
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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for this test process (tests/support/postgres.py).

    Started once per worker on a free loopback port and stopped at the end. A machine without the
    server binaries fails the tests that need it: CI installs Debian's ``postgresql`` package.
    """
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the session's PostgreSQL server."""
    return postgres_server.create_database()


LEDGER_BACKENDS = ("sqlite", "postgresql")
"""The two databases the ledger runs on; history tests run against each."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test using ``each_ledger_backend`` on both ledgers, or on SQLite alone when it is
    marked ``sqlite_ledger`` (it is about the file itself: paths, file corruption, old files)."""
    if "each_ledger_backend" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_ledger") is not None
        backends = LEDGER_BACKENDS[:1] if only_sqlite else LEDGER_BACKENDS
        metafunc.parametrize("each_ledger_backend", backends, indirect=True)


@pytest.fixture
def each_ledger_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once on the SQLite file and once on a fresh PostgreSQL database.

    ``Ledger()`` and every command open the test's ledger: the file of ``TOKEN_TRACKING_DB_PATH``
    (set by :func:`isolated_environment`), or, for ``postgresql``, the database of
    ``TOKEN_TRACKING_DB_URL`` set here. Yields the backend's name.
    """
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        monkeypatch.setenv("TOKEN_TRACKING_DB_URL", server.create_database())
    return str(request.param)
