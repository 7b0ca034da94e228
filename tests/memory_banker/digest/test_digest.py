"""The context digest: deterministic, bank-free, secret-free and within its token budget."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from memory_banker.digest.build import build_digest
from memory_banker.digest.facts import Command, Dependency, Marker
from memory_banker.digest.secrets import is_sensitive_path, redact
from memory_banker.errors import UsageError
from memory_banker.tokenizer import MESSAGE_OVERHEAD, count_prompt_tokens, count_tokens
from tests.support.sample_project import SECRET_STRINGS, make_sample_project


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return make_sample_project(tmp_path)


def test_digest_is_deterministic(sample: Path) -> None:
    first = build_digest(sample)
    second = build_digest(sample)
    assert first == second
    assert first.text == second.text


def test_digest_is_identical_for_a_second_clone_of_the_same_state(tmp_path: Path) -> None:
    one = make_sample_project(tmp_path / "one")
    two = make_sample_project(tmp_path / "two")
    assert build_digest(one).text == build_digest(two).text


def test_memory_bank_is_excluded_from_tree_log_and_status(sample: Path) -> None:
    bank = sample / "memory-bank"
    bank.mkdir()
    (bank / "projectbrief.md").write_text("# Brief\nBANK-MARKER\n", encoding="utf-8")
    before = build_digest(sample)
    subprocess.run(["git", "add", "memory-bank"], cwd=sample, check=True)
    subprocess.run(
        ["git", "-c", "user.name=Bot", "-c", "user.email=bot@example.com", "commit", "-q",
         "-m", "Commit the bank", "--", "memory-bank"],
        cwd=sample,
        check=True,
    )  # fmt: skip
    (bank / "techContext.md").write_text("untracked BANK-MARKER\n", encoding="utf-8")
    after = build_digest(sample)
    assert "memory-bank/" not in after.text
    assert "BANK-MARKER" not in after.text
    assert not any(path.startswith("memory-bank/") for path in after.files)
    # Committing a generated bank does not change the next run's input.
    assert after.text == before.text


def test_secrets_never_reach_the_digest(sample: Path) -> None:
    digest = build_digest(sample)
    for secret in SECRET_STRINGS:
        assert secret not in digest.text
    assert "BEGIN RSA PRIVATE KEY" not in digest.text
    assert ".env" not in digest.files
    assert "id_rsa" not in digest.files
    assert "deploy/server.pem" not in digest.files
    assert "id_rsa" not in digest.text
    assert digest.withheld == 3
    # The key pasted into source is read, but redacted.
    assert 'API_KEY = "[REDACTED:openai-key]"' in digest.text
    assert 'AWS_KEY = "[REDACTED:aws-access-key-id]"' in digest.text


@pytest.mark.parametrize("budget", [500, 700, 900, 1000, 30000])
def test_context_budget_is_respected_exactly(sample: Path, budget: int) -> None:
    digest = build_digest(sample, context_tokens=budget)
    assert digest.tokens == count_tokens(digest.text)
    assert digest.tokens <= budget
    assert digest.budget == budget


def test_a_small_budget_drops_excerpts_but_keeps_header_git_and_tree(sample: Path) -> None:
    small = build_digest(sample, context_tokens=600)
    full = build_digest(sample, context_tokens=30000)
    assert "## Git" in small.text
    assert "- widgets/inventory.py (15 lines, imported by 1): The widget inventory." in small.text
    assert len(small.excerpted) < len(full.excerpted)
    assert full.excerpted == (
        ".github/workflows/ci.yml",
        "README.md",
        "package.json",
        "pyproject.toml",
        "tests/test_inventory.py",
        "web/index.js",
        "widgets/__init__.py",
        "widgets/cli.py",
        "widgets/client.py",
        "widgets/inventory.py",
    )


def test_too_small_a_budget_is_a_usage_error(sample: Path) -> None:
    with pytest.raises(UsageError, match="at least 500"):
        build_digest(sample, context_tokens=100)


def test_facts_of_the_sample_project(sample: Path) -> None:
    facts = build_digest(sample).facts
    assert facts.name == "widget-service"
    assert facts.description == "Inventory of widgets with a small HTTP API"
    assert [(s.name, s.files, s.lines) for s in facts.languages if s.is_code] == [
        ("Python", 5, 46),
        ("JavaScript", 1, 5),
    ]
    assert [(f.name, f.files) for f in facts.top_folders] == [
        (".", 4),
        (".github", 1),
        ("tests", 1),
        ("web", 1),
        ("widgets", 4),
    ]
    assert facts.entry_points == (
        "console script `widget-service` -> `widgets.cli:main` (pyproject.toml)",
        "package main -> `web/index.js` (package.json)",
    )
    assert facts.dependencies == (
        Dependency("click", ">=8.1", "pyproject.toml", "runtime"),
        Dependency("httpx", ">=0.27,<1", "pyproject.toml", "runtime"),
        Dependency("pytest", ">=8", "pyproject.toml", "test"),
        Dependency("express", "^4.19.0", "package.json", "runtime"),
        Dependency("jest", "^29.7.0", "package.json", "dev"),
    )
    assert facts.test_files == ("tests/test_inventory.py",)
    assert facts.test_frameworks == ("jest", "pytest")
    assert facts.ci == (".github/workflows/ci.yml (CI)",)
    assert (facts.todo_count, facts.fixme_count) == (2, 2)
    assert facts.todo_files[0] == ("widgets/inventory.py", 2)
    assert facts.readme.startswith("Widget Service keeps an inventory of widgets")
    assert facts.git is not None
    assert facts.git.branch == "main"
    assert facts.git.total_commits == 3
    assert facts.git.authors == (("Ada Lovelace", 2), ("Grace Hopper", 1))
    assert [c.subject for c in facts.git.commits] == [
        "Add the stock API client",
        "Add the dashboard and CI",
        "Add the widget inventory and CLI",
    ]
    # The commit that added .env, id_rsa and the PEM file lists only the source file.
    assert facts.git.commits[0].paths == ("widgets/client.py",)
    assert facts.git.status == (" M widgets/inventory.py", "?? NOTES.txt")
    assert (facts.git.head_date, facts.git.recent_authors) == (
        "2026-01-03",
        (("Ada Lovelace", 2), ("Grace Hopper", 1)),
    )
    assert (facts.summary, facts.summary_source) == (
        "Inventory of widgets with a small HTTP API",
        "pyproject.toml",
    )
    assert facts.commands == (
        Command("run", "npm start", "package.json scripts.start: node web/index.js"),
        Command("test", "npm test", "package.json scripts.test: jest"),
        Command("test", "pip install -e .[test] && pytest", ".github/workflows/ci.yml (CI step)"),
    )
    assert facts.test_evidence == (
        "pytest: [tool.pytest] in pyproject.toml",
        "jest: devDependencies in package.json",
    )
    assert facts.markers == (
        Marker("widgets/inventory.py", 9, "TODO", "reject negative counts"),
        Marker("widgets/inventory.py", 15, "FIXME", "persist the stock"),
        Marker("widgets/client.py", 9, "TODO", "read the key from the environment instead"),
        Marker("web/index.js", 1, "FIXME", "read the port from the environment"),
    )
    assert facts.manifest_notes == (
        "pyproject.toml: package metadata, 3 dependencies",
        "package.json: 1 dependencies, 1 devDependencies",
    )
    assert facts.modules[0].path == "widgets/inventory.py"
    assert facts.modules[-1].imports == ("widgets/inventory.py",)


def test_a_folder_outside_git_honours_gitignore(tmp_path: Path) -> None:
    project = tmp_path / "plain"
    (project / "src").mkdir(parents=True)
    (project / "build").mkdir()
    (project / "logs").mkdir()
    (project / ".gitignore").write_text("*.log\n/logs/\n!keep.log\nsecret_dir/\n", encoding="utf-8")
    (project / "src" / "app.py").write_text("print('hi')\n", encoding="utf-8")
    (project / "src" / "debug.log").write_text("noise\n", encoding="utf-8")
    (project / "keep.log").write_text("kept\n", encoding="utf-8")
    (project / "logs" / "today.txt").write_text("noise\n", encoding="utf-8")
    (project / "build" / "out.py").write_text("generated\n", encoding="utf-8")
    (project / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    (project / "blob.dat").write_bytes(b"abc\0def")
    (project / ".env.local").write_text("TOKEN=sk-local-SECRET777\n", encoding="utf-8")
    digest = build_digest(project)
    assert digest.files == (".gitignore", "keep.log", "src/app.py")
    assert digest.facts.git is None
    assert "sk-local-SECRET777" not in digest.text
    assert digest.withheld == 1


@pytest.mark.parametrize(
    "path",
    [".env", ".env.production", "config/.env.local", "id_rsa", "id_ed25519.pub", "certs/site.pem",
     "tls.key", "store.p12", "cert.pfx", "ca.crt", "credentials.json", "aws/credentials",
     ".netrc", ".npmrc", ".pypirc", "secrets.yaml", "config/secrets.toml"],
)  # fmt: skip
def test_sensitive_paths(path: str) -> None:
    assert is_sensitive_path(path)


@pytest.mark.parametrize(
    "path", ["src/environment.py", "docs/keys.md", "README.md", "secretary.py", "env.py"]
)
def test_ordinary_paths_are_not_sensitive(path: str) -> None:
    assert not is_sensitive_path(path)


def test_redaction_patterns() -> None:
    text = (
        "openai sk-proj-abcdefgh12345678 aws AKIAABCDEFGHIJKLMNOP gh ghp_"
        + "a" * 36
        + " slack xoxb-1234567890-abcdef risk-averse task-sk-short\n"
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    assert redact(text) == (
        "openai [REDACTED:openai-key] aws [REDACTED:aws-access-key-id] gh [REDACTED:github-token]"
        " slack [REDACTED:slack-token] risk-averse task-sk-short\n[REDACTED:private-key]\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-abc123", "key [REDACTED:openai-key]"),
        ("id AKIAABCDEFGHIJKL.", "id [REDACTED:aws-access-key-id]."),
        ("token ghs_abcdefghijkl", "token [REDACTED:github-token]"),
        ("Authorization: Bearer abc.def=", "Authorization: Bearer [REDACTED:authorization]"),
        ('f"Bearer {token}"', 'f"Bearer {token}"'),
        ("google AIza" + "B" * 35, "google [REDACTED:google-api-key]"),
        ("pat github_pat_" + "a1" * 15, "pat [REDACTED:github-token]"),
    ],
)
def test_redaction_covers_every_key_kind(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redaction_replaces_the_given_secrets_first() -> None:
    assert redact("user=x pass=hunter2!", ["hunter2!", ""]) == "user=x pass=[REDACTED:api-key]"
    assert redact("auth: Bearer key:with$odd chars", ["key:with$odd"]) == (
        "auth: Bearer [REDACTED:api-key] chars"
    )


def test_prompt_token_count_is_texts_plus_fixed_overhead() -> None:
    assert MESSAGE_OVERHEAD == 4
    assert count_tokens("") == 0
    assert count_tokens("hello world") == 2
    assert count_prompt_tokens("hello world", "hello") == 2 + 1 + 2 * MESSAGE_OVERHEAD


def test_tokenizer_loads_from_litellms_files_without_network(tmp_path: Path) -> None:
    """A fresh process with an empty tiktoken cache and no sockets still counts tokens."""
    script = (
        "import os, socket\n"
        "def refuse(*a, **k): raise AssertionError('network')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from memory_banker.tokenizer import count_tokens\n"
        "print(count_tokens('hello world'), os.environ['TIKTOKEN_CACHE_DIR'])\n"
    )
    empty = tmp_path / "empty-cache"
    empty.mkdir()
    completed = subprocess.run(
        [sys.executable, "-c", script],
        # An empty cache folder too, so the count is not served from an earlier run's cache.
        env={
            **os.environ,
            "TIKTOKEN_CACHE_DIR": str(empty),
            "TOKEN_TRACKING_CACHE_DIR": str(tmp_path / "no-counts"),
        },
        capture_output=True,
        text=True,
        check=True,
    )
    # The bundled folder is used for the load only; the user's setting is restored after.
    assert completed.stdout == f"2 {empty}\n"
    assert list(empty.iterdir()) == []


def test_a_long_tree_is_folded_within_the_budget(tmp_path: Path) -> None:
    project = tmp_path / "wide"
    for index in range(300):
        module = project / f"pkg{index % 3}" / f"module_{index:03}.py"
        module.parent.mkdir(parents=True, exist_ok=True)
        module.write_text(f"VALUE = {index}\n" * 40, encoding="utf-8")
    digest = build_digest(project, context_tokens=1000)
    assert digest.tokens == count_tokens(digest.text)
    assert digest.tokens <= 1000
    assert len(digest.files) == 300
    assert "## Repo map (300 files;" in digest.text
    folded = [line for line in digest.text.splitlines() if " more files: " in line]
    assert len(folded) == 1
    assert folded[0] == "- … 275 more files: pkg0/ 75, pkg1/ 100, pkg2/ 100"


def test_only_comment_markers_count(tmp_path: Path) -> None:
    project = tmp_path / "markers"
    project.mkdir()
    (project / "a.py").write_text(
        '# TODO: one\nx = "TODO"  # FIXME two\n"""Count TODO markers."""\n'
        # Markers inside string literals (a test writing a fixture) are not the project's.
        + "fixture = \"    # TODO: in a string\"\nother = 'x = 1  # FIXME: quoted'\n"
        + 'escaped = "say \\"hi\\" # TODO: inside"\n',
        encoding="utf-8",
    )
    (project / "b.js").write_text(
        "// TODO three\n/* FIXME four */\n * TODO five\n", encoding="utf-8"
    )
    facts = build_digest(project).facts
    assert (facts.todo_count, facts.fixme_count) == (3, 2)
    assert facts.todo_files == (("b.js", 3), ("a.py", 2))


def _readme_of(tmp_path: Path, readme: str) -> str:
    project = tmp_path / "readme"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "foo-bar"\n', encoding="utf-8")
    (project / "README.md").write_text(readme, encoding="utf-8")
    return build_digest(project).facts.readme


def test_readme_summary_skips_code_and_prefers_the_paragraph_naming_the_project(
    tmp_path: Path,
) -> None:
    readme = (
        "# Foo Bar\n\n[![ci](badge.svg)](ci)\n\n"
        "```bash\npip install -e . && foo-bar run\n```\n\n"
        "The first line installs it.\n\n"
        "    indented code\n\n"
        "- a list item\n\n"
        "**Foo Bar** keeps an inventory.\nIt answers queries.\n\n"
        "Foo Bar also does more.\n"
    )

    assert _readme_of(tmp_path, readme) == "**Foo Bar** keeps an inventory. It answers queries."


def test_readme_summary_without_the_name_is_the_first_prose_cut_at_a_sentence(
    tmp_path: Path,
) -> None:
    sentence = "An inventory service that answers stock queries over HTTP for many shops. "
    readme = "```\nfoo-bar run\n```\n\n" + sentence * 10 + "\n\nSecond paragraph.\n"

    summary = _readme_of(tmp_path, readme)

    assert summary == (sentence * 8).strip()
