"""``memory-banker tokens dashboard``: options, output, errors, and a subprocess smoke test.

The command reads the window ending now, so these tests use ``--days 0`` (all history), whose
figures do not depend on today's date.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result

from tests.support.cli import invoke, run_installed
from tests.support.dashboard_seed import EXPECTED_TOKENS, Seeded, isolate_cache, seed_ledger
from token_tracking.history.dashboard.charts import cached_text, vega_bundle_path
from token_tracking.history.dashboard.data import DashboardData
from token_tracking.history.ledger import Ledger

# Every test runs on the SQLite file and on PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_ledger_backend")

# All history of the project, offline excluded: the 30-day sessions plus the October one.
ALL_HISTORY_TOKENS = EXPECTED_TOKENS + 7700
OFFLINE_TOKENS = 14000
OTHER_PROJECT_TOKENS = 1650


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_cache(monkeypatch, tmp_path)


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    # The default ledger path: conftest points TOKEN_TRACKING_DB_PATH under tmp_path.
    with Ledger() as ledger:
        yield seed_ledger(ledger, tmp_path)


def run(project: Path, *args: str) -> Result:
    """``memory-banker --project-path PROJECT tokens dashboard ARGS…`` in-process."""
    return invoke(project, "tokens", "dashboard", *args)


def test_writes_the_page_and_prints_its_path(seeded: Seeded, tmp_path: Path) -> None:
    output = tmp_path / "out" / "dash.html"
    output.parent.mkdir()

    result = run(seeded.project, "--days", "0", "--output", str(output))

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{output.resolve()}\n"
    page = output.read_text(encoding="utf-8")
    assert f'data-figure="tokens">{ALL_HISTORY_TOKENS:,}<' in page
    assert 'data-figure="sessions">4<' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    ("options", "tokens", "sessions"),
    [
        ((), ALL_HISTORY_TOKENS, 4),
        (("--include-offline",), ALL_HISTORY_TOKENS + OFFLINE_TOKENS, 5),
        (("--all-projects",), ALL_HISTORY_TOKENS + OTHER_PROJECT_TOKENS, 5),
    ],
)
def test_json_prints_the_dashboard_model(
    seeded: Seeded, tmp_path: Path, options: tuple[str, ...], tokens: int, sessions: int
) -> None:
    result = run(seeded.project, "--days", "0", "--json", *options)

    assert result.exit_code == 0, result.output
    data = DashboardData.model_validate_json(result.stdout)
    assert (data.summary.total_tokens, data.summary.sessions) == (tokens, sessions)
    assert data.days == 0


def test_empty_ledger_writes_a_no_data_page(tmp_path: Path) -> None:
    output = tmp_path / "empty.html"

    result = run(tmp_path, "--output", str(output))

    assert result.exit_code == 0, result.output
    assert "No data yet" in output.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("-1", "--days must be 0 (all history) or more, not -1"),
        # A window before year 1 cannot be computed: an error, not an OverflowError traceback.
        ("800000", "--days must be at most 36,500 (use 0 for all history), not 800,000"),
    ],
)
def test_days_out_of_range_is_a_one_line_usage_error(
    seeded: Seeded, tmp_path: Path, days: str, message: str
) -> None:
    output = tmp_path / "never.html"

    result = run(seeded.project, "--days", days, "--output", str(output))

    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""
    assert not output.exists()


def test_longest_window_is_accepted(seeded: Seeded) -> None:
    result = run(seeded.project, "--days", "36500", "--json")

    assert result.exit_code == 0, result.output
    assert DashboardData.model_validate_json(result.stdout).summary.total_tokens == (
        ALL_HISTORY_TOKENS
    )


@pytest.mark.parametrize("where", ["missing-folder", "a-folder"])
def test_unwritable_output_is_a_one_line_error(seeded: Seeded, tmp_path: Path, where: str) -> None:
    target = tmp_path / "missing" / "dash.html" if where == "missing-folder" else tmp_path

    result = run(seeded.project, "--days", "0", "--output", str(target))

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"Error: cannot write {target}: ")
    assert result.stdout == ""


def test_smoke_open_hands_the_page_to_the_browser_without_sdk_imports(
    seeded: Seeded, tmp_path: Path
) -> None:
    # BROWSER names the program webbrowser runs; this one records the URL it was given.
    opened = tmp_path / "opened.txt"
    recorder = tmp_path / "record-browser"
    recorder.write_text(
        f'#!/bin/sh\nprintf "%s" "$1" > "{opened}"\n',
        encoding="utf-8",
    )
    recorder.chmod(recorder.stat().st_mode | stat.S_IXUSR)
    output = tmp_path / "dash.html"
    # The bundle cached under this test's XDG_CACHE_HOME, with a marker in place of Vega: the page
    # holding the marker proves the command read the cache instead of bundling.
    cached_text(vega_bundle_path(), lambda: "window.cachedBundle = true;")
    probe = (
        "import sys\n"
        "from memory_banker.cli.main import cli\n"
        "try:\n"
        "    cli.main(sys.argv[1:], prog_name='memory-banker')\n"
        "finally:\n"
        "    sdks = ('agents', 'litellm', 'openai', 'anthropic')\n"
        "    print('heavy imports:', [m for m in sdks if m in sys.modules], file=sys.stderr)\n"
    )
    env = {**os.environ, "BROWSER": str(recorder)}

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            probe,
            "--project-path",
            str(seeded.project),
            "tokens",
            "dashboard",
            "--days",
            "0",
            "--output",
            str(output),
            "--open",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    installed = run_installed(
        "--project-path", str(seeded.project), "tokens", "dashboard", "--help"
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{output.resolve()}\n"
    assert "heavy imports: []" in done.stderr
    assert '<script type="module">window.cachedBundle = true;</script>' in output.read_text(
        encoding="utf-8"
    )
    assert opened.read_text(encoding="utf-8") == output.resolve().as_uri()
    assert installed.returncode == 0, installed.stderr
    assert "memory-banker tokens dashboard --open" in installed.stdout


def test_the_default_page_goes_into_the_reports_folder_not_the_project_root(
    seeded: Seeded,
) -> None:
    result = run(seeded.project, "--days", "0")

    page = seeded.project / "memory-bank" / "token-reports" / "dashboard.html"
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{page.resolve()}\n"
    assert f'data-figure="tokens">{ALL_HISTORY_TOKENS:,}<' in page.read_text(encoding="utf-8")
    assert not (seeded.project / "token_dashboard.html").exists()


def test_a_file_where_the_reports_folder_should_be_is_one_line(seeded: Seeded) -> None:
    (seeded.project / "memory-bank").mkdir(exist_ok=True)
    (seeded.project / "memory-bank" / "token-reports").write_text("not a folder")

    result = run(seeded.project, "--days", "0")

    assert result.exit_code == 2
    assert result.stderr.startswith("Error: cannot write ")
    assert result.stderr.count("\n") == 1
