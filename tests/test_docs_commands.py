"""Every ``memory-banker`` command shown in README.md and docs/*.md runs, with the exit code the
page writes beside it and no traceback.

The rules a page follows (docs/development.md, "Commands in the docs"):

- A command is a line of a fenced ``bash`` block that starts with ``memory-banker``, optionally
  after ``NAME=value`` environment assignments; a line ending in ``\\`` continues on the next.
- A trailing comment that starts with ``exit N`` gives the expected exit code; without one the
  command must exit 0.
- In a pipeline, only the ``memory-banker`` command before the first ``|`` runs.
- ``http://127.0.0.1:8000`` stands for a local model server: the test puts the loopback fake
  provider's address in its place. ``postgresql://ledger@127.0.0.1:5432/usage`` stands for a
  team's PostgreSQL ledger: the test puts a fresh database of its own server there. Every other
  name a command uses exists in the scratch folder; no argument is a placeholder (``FILE``,
  ``<path>``, ``[--json]``).

Each command runs in-process (click's ``CliRunner``) in a fresh copy of one scratch folder, from
its project (``scratch/project``). See :func:`build_scratch` for what the folder holds. Two README
commands also run as the installed executable.
"""

from __future__ import annotations

import re
import shlex
import shutil
import webbrowser
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from memory_banker.specs import AGENT_SPECS
from tests.support.cli import invoke, run_installed
from tests.support.environment import (
    PROVIDER_KEY_VARIABLES,
    SETTING_VARIABLES,
    isolated_variables,
)
from tests.support.fake_provider import FakeProvider, Reply
from tests.support.paths import REPOSITORY
from tests.support.sample_project import make_sample_project
from token_tracking import TokenTracker

PAGES = (REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md")))
"""The pages whose commands run: the README and every page under docs/."""

LOCAL_SERVER = "http://127.0.0.1:8000"
"""The address the pages use for a local model server; replaced by the fake provider's."""
TEAM_LEDGER = "postgresql://ledger@127.0.0.1:5432/usage"
"""The URL the pages use for a team's PostgreSQL ledger; replaced by a fresh database on the tests'
own PostgreSQL server (tests/support/postgres.py) for the commands that name it."""

BASELINE_REPORT = "token_usage_20241206_143022.json"
OPTIMIZED_REPORT = "token_usage_20241207_091500.json"
BASELINE_SESSION = "3f2a9c41-7d3e-4b8a-9c21-5e6f7a8b9c0d"
OPTIMIZED_SESSION = "8e1b5d27-0c4f-4e6a-b3d2-1a2b3c4d5e6f"
RUN_DIRS = {
    "output/tech/run_tech_20260228_123456": 1.0,
    "output/tech/run_tech_baseline": 1.0,
    "output/tech/run_tech_with_scopes": 0.6,
}
"""Run directories of the scratch project, each with the share of the baseline tokens it logs."""

TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class DocCommand:
    """One command of a page: where it is, its words and the exit code the page expects."""

    page: str
    line: int
    text: str
    env: tuple[tuple[str, str], ...]
    args: tuple[str, ...]
    exit_code: int

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=[^\s$`()|;&]*")
_EXIT = re.compile(r"exit (\d+)\b")


def split_comment(line: str) -> tuple[str, str]:
    """Split a shell line into its code and its trailing comment (``#`` outside quotes)."""
    quote: str | None = None
    for index, char in enumerate(line):
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip(), line[index + 1 :].strip()
    return line.rstrip(), ""


def first_command_of_pipeline(code: str) -> str:
    """Return ``code`` up to its first ``|`` outside quotes."""
    quote: str | None = None
    for index, char in enumerate(code):
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "|":
            return code[:index].rstrip()
    return code


def parse_command(page: str, line: int, text: str) -> DocCommand | None:
    """Return the command ``text`` holds, or None when it is not a ``memory-banker`` line."""
    code, comment = split_comment(text)
    words = shlex.split(first_command_of_pipeline(code))
    env: list[tuple[str, str]] = []
    while words and _ASSIGNMENT.fullmatch(words[0]):
        name, _, value = words.pop(0).partition("=")
        env.append((name, value))
    if not words or words[0] != "memory-banker":
        return None
    expected = _EXIT.match(comment)
    return DocCommand(
        page=page,
        line=line,
        text=text.strip(),
        env=tuple(env),
        args=tuple(words[1:]),
        exit_code=int(expected.group(1)) if expected else 0,
    )


def page_commands(path: Path) -> list[DocCommand]:
    """Return every command of the fenced ``bash`` blocks of ``path``, in page order."""
    text = path.read_text(encoding="utf-8")
    page = path.relative_to(REPOSITORY).as_posix()
    commands: list[DocCommand] = []
    for block in _BLOCK.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        lines = block.group(1).splitlines()
        index = 0
        while index < len(lines):
            start = index
            joined = lines[index]
            while joined.rstrip().endswith("\\") and index + 1 < len(lines):
                index += 1
                joined = joined.rstrip()[:-1] + " " + lines[index].strip()
            index += 1
            command = parse_command(page, first_line + start, joined)
            if command is not None:
                commands.append(command)
    return commands


COMMANDS = [command for page in PAGES for command in page_commands(page)]


# --- the scratch folder ---------------------------------------------------------------------------


def bank_reply() -> Reply:
    """A reply every agent accepts: a title and every section of every agent."""
    sections = [
        f"## {section}\n\nWritten by the fake provider.\n"
        for spec in AGENT_SPECS
        for section in spec.sections
    ]
    return Reply(
        text="# Memory bank file\n\n" + "\n".join(sections),
        prompt_tokens=1200,
        completion_tokens=400,
    )


def record_session(project: Path, session_id: str, name: str, share: float) -> None:
    """Record a six-agent gpt-4o-mini session through the library and save its report as
    ``name``; ``share`` scales its tokens (the optimized run uses fewer and caches half)."""
    reports = project / "memory-bank" / "token-reports"
    tracker = TokenTracker(
        reports_dir=reports, command="update", model="gpt-4o-mini", project_path=project
    )
    tracker.session_id = session_id
    tracker.start_session()
    for spec in AGENT_SPECS:
        prompt, completion = round(4000 * share), round(1200 * share)
        cached = prompt // 2 if share < 1 else 0
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        }
        tracker.start_agent(spec.name)
        tracker.record_usage({"model": "gpt-4o-mini", "usage": usage}, operation=spec.name)
        tracker.end_agent(spec.name, success=True)
    tracker.finish()
    assert tracker.report_path is not None
    tracker.report_path.rename(reports / name)


def log_run_dir(run_dir: Path, share: float) -> None:
    """Write a run directory's ``tokens.jsonl``: two operations over two iterations."""
    run_dir.mkdir(parents=True)
    tracker = TokenTracker(run_dir)
    for iteration in (1, 2):
        tracker.log_usage("advocate", round(2500 * share), 1200, iteration=iteration, model="gpt-4")
        tracker.log_usage(
            "contrarian", round(3000 * share), 800, iteration=iteration, model="gpt-4"
        )


def docs_prices_toml() -> str:
    """The price file docs/pricing.md shows: the scratch project's ``prices.toml``."""
    text = (REPOSITORY / "docs" / "pricing.md").read_text(encoding="utf-8")
    block = re.search(r"^```toml\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert block is not None, "docs/pricing.md shows no TOML price file"
    return block.group(1)


def build_scratch(root: Path) -> Path:
    """Build the scratch folder every command starts from, under ``root``; return it.

    - ``project/``: a small git project (tests/support/sample_project.py) whose bank was written
      by ``update --offline``; then two six-agent gpt-4o-mini sessions, recorded through the
      library: the baseline (session ``3f2a9c41…``, saved as ``token_usage_20241206_143022.json``)
      and the optimized run (``8e1b5d27…``, ``token_usage_20241207_091500.json``, the latest);
      ``prices.toml`` (docs/pricing.md's price file, pricing ``my-model``); and the run
      directories of :data:`RUN_DIRS` under ``output/tech/``.
    - ``app/``: another copy of the small git project, with no bank.
    - ``ledger.sqlite3``: the ledger holding those three sessions.
    """
    scratch = root / "scratch"
    scratch.mkdir()
    project = make_sample_project(scratch)
    project.rename(scratch / "project")
    project = scratch / "project"
    make_sample_project(root / "other").rename(scratch / "app")
    result = invoke(project, "update", "--offline", "--quiet")
    assert result.exit_code == 0, result.stderr
    record_session(project, BASELINE_SESSION, BASELINE_REPORT, 1.0)
    record_session(project, OPTIMIZED_SESSION, OPTIMIZED_REPORT, 0.75)
    (project / "prices.toml").write_text(docs_prices_toml(), encoding="utf-8")
    for relative, share in RUN_DIRS.items():
        log_run_dir(project / relative, share)
    return scratch


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProvider]:
    """One fake provider for the module, answering every agent with a valid file."""
    with FakeProvider() as provider:
        provider.default = bank_reply()
        yield provider


@pytest.fixture(scope="module")
def scratch_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scratch folder, built once, with its own ledger and no provider key."""
    root = tmp_path_factory.mktemp("docs")
    home = root / "home"
    home.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in isolated_variables(home).items():
            patch.setenv(name, value)
        for name in PROVIDER_KEY_VARIABLES + SETTING_VARIABLES:
            patch.delenv(name, raising=False)
        patch.setenv("TOKEN_TRACKING_DB_PATH", str(root / "scratch" / "ledger.sqlite3"))
        return build_scratch(root)


@pytest.fixture(scope="module")
def chart_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of the dashboard's chart JavaScript for the module (built once, 1-3 s)."""
    return tmp_path_factory.mktemp("chart-cache")


@pytest.fixture
def scratch(
    scratch_template: Path,
    fake: FakeProvider,
    chart_cache: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A fresh copy of the scratch folder, its project the current folder, keys pointing at the
    fake provider, and no way to reach the network or a browser; returns the copy."""
    copy = tmp_path / "scratch"
    shutil.copytree(scratch_template, copy, symlinks=True)
    monkeypatch.chdir(copy / "project")
    monkeypatch.setenv("TOKEN_TRACKING_DB_PATH", str(copy / "ledger.sqlite3"))
    monkeypatch.setenv("TOKEN_TRACKING_CACHE_DIR", str(chart_cache))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-docs")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-docs")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
    # Anything that is not the fake provider goes to a closed port instead of the network.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    # A CI runner's job summary is not the place for the pages' `--format github` examples.
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(webbrowser, "open", lambda url, *args, **kwargs: True)
    return copy


# --- the tests ------------------------------------------------------------------------------------


def test_the_pages_show_commands() -> None:
    pages = {command.page for command in COMMANDS}
    assert "README.md" in pages
    assert {"docs/cli.md", "docs/history.md", "docs/pricing.md"} <= pages


@pytest.mark.parametrize("command", COMMANDS, ids=[command.id for command in COMMANDS])
def test_the_command_exits_as_the_page_says(
    command: DocCommand,
    scratch: Path,
    fake: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    team = ""
    if TEAM_LEDGER in command.text:
        team = request.getfixturevalue("postgres_server").create_database()
    for name, value in command.env:
        monkeypatch.setenv(name, value.replace(TEAM_LEDGER, team))
    args = [
        arg.replace(LOCAL_SERVER, fake.base_url).replace(TEAM_LEDGER, team) for arg in command.args
    ]

    result = invoke(None, *args)

    output = result.stdout + result.stderr
    assert TRACEBACK not in output, output
    assert result.exit_code == command.exit_code, (
        f"{command.id}: `{command.text}` exited {result.exit_code}, "
        f"the page says {command.exit_code}\n{output[-3000:]}"
    )


def test_no_command_holds_a_placeholder() -> None:
    # FILE, PATH, RUN_DIR… would be read as real names (and --note TEXT would even pass).
    placeholders = [
        f"{command.id}: {arg}"
        for command in COMMANDS
        for arg in command.args
        if re.fullmatch(r"[A-Z][A-Z0-9_]*|<[^>]*>|\[.*\]", arg)
    ]
    assert placeholders == []


@pytest.mark.parametrize(
    "text", ["memory-banker update --offline", "memory-banker tokens check --max-cost 1.00"]
)
def test_readme_command_as_the_installed_executable(text: str, scratch: Path) -> None:
    matches = [c for c in COMMANDS if c.page == "README.md" and split_comment(c.text)[0] == text]
    assert matches, f"README.md no longer shows `{text}`"
    command = matches[0]

    done = run_installed(
        *command.args,
        cwd=scratch / "project",
        env={"TOKEN_TRACKING_DB_PATH": str(scratch / "ledger.sqlite3")},
    )

    assert TRACEBACK not in done.stdout + done.stderr
    assert done.returncode == command.exit_code, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("memory-banker tokens", ((), ("tokens",), 0)),
        (
            "memory-banker tokens check --max-cost 0.001   # exit 1: over",
            ((), ("tokens", "check", "--max-cost", "0.001"), 1),
        ),
        (
            "TOKEN_DAILY_LIMIT=5 memory-banker tokens limits  # the limits",
            ((("TOKEN_DAILY_LIMIT", "5"),), ("tokens", "limits"), 0),
        ),
        (
            "memory-banker tokens export --format json | jq .summary  # exit 0",
            ((), ("tokens", "export", "--format", "json"), 0),
        ),
        (
            'memory-banker tokens add --input 1 --output 2 --note "a # b"',
            ((), ("tokens", "add", "--input", "1", "--output", "2", "--note", "a # b"), 0),
        ),
    ],
)
def test_a_page_line_is_read_by_the_documented_rules(
    line: str, expected: tuple[tuple[tuple[str, str], ...], tuple[str, ...], int]
) -> None:
    command = parse_command("page.md", 1, line)
    assert command is not None
    assert (command.env, command.args, command.exit_code) == expected


@pytest.mark.parametrize(
    "line",
    ["pip install -e .", 'COST=$(memory-banker tokens | grep "Estimated Cost")', "# memory-banker"],
)
def test_other_lines_are_not_commands(line: str) -> None:
    assert parse_command("page.md", 1, line) is None
