"""Git state in reports: branch, commit, dirty, remote without credentials, user e-mail."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from token_tracking import TokenTracker
from token_tracking.git import git_info, project_root, run_git, strip_credentials


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    (path / "src").mkdir(parents=True)
    git(path, "init", "-q", "-b", "feature/tokens")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev")
    git(path, "remote", "add", "origin", "https://dev:ghp_secret123@github.com/example/shop.git")
    (path / "README.md").write_text("shop\n")
    git(path, "add", "README.md")
    git(path, "commit", "-q", "-m", "first")
    return path


def test_git_info_reads_the_repository(repo: Path) -> None:
    info = git_info(repo / "src")
    assert info is not None
    assert info.branch == "feature/tokens"
    assert info.commit == git(repo, "rev-parse", "HEAD")
    assert info.dirty is False
    assert info.remote == "https://github.com/example/shop.git"
    assert info.user_email == "dev@example.com"
    (repo / "new.txt").write_text("x")
    dirty = git_info(repo)
    assert dirty is not None
    assert dirty.dirty is True


def test_remote_and_email_are_what_git_config_get_answers(repo: Path) -> None:
    git(repo, "config", "--add", "user.email", "Second Dev <second@example.com>")
    git(repo, "config", "--add", "remote.origin.url", "https://example.com/mirror.git")
    info = git_info(repo)
    assert info is not None
    assert info.user_email == git(repo, "config", "--get", "user.email")
    assert info.user_email == "Second Dev <second@example.com>"
    assert info.remote == git(repo, "config", "--get", "remote.origin.url")
    git(repo, "config", "--unset-all", "user.email")
    git(repo, "remote", "remove", "origin")
    bare = git_info(repo)
    assert bare is not None
    assert (bare.remote, bare.user_email) == (None, None)


def test_a_detached_head_has_no_branch(repo: Path) -> None:
    git(repo, "checkout", "-q", "--detach")
    info = git_info(repo)
    assert info is not None
    assert (info.branch, info.commit) == (None, git(repo, "rev-parse", "HEAD"))


def test_outside_git_there_is_no_git_info(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert git_info(plain) is None
    assert project_root(plain) == plain.resolve()


def test_project_root_is_the_top_level(repo: Path) -> None:
    assert project_root(repo / "src") == repo.resolve()


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://user:token@github.com/o/r.git", "https://github.com/o/r.git"),
        ("https://x-access-token@github.com/o/r", "https://github.com/o/r"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("ssh://git@host:2222/o/r.git", "ssh://host:2222/o/r.git"),
        ("/srv/git/r.git", "/srv/git/r.git"),
    ],
)
def test_credentials_are_stripped_from_remotes(url: str, clean: str) -> None:
    assert strip_credentials(url) == clean


def test_the_report_carries_the_git_state_and_never_the_token(repo: Path) -> None:
    tracker = TokenTracker(project_path=repo, reports_dir=repo / "reports")
    report = tracker.finish()
    assert report.git is not None
    assert report.git.branch == "feature/tokens"
    assert report.project_path == str(repo.resolve())
    assert tracker.report_path is not None
    assert "ghp_secret123" not in tracker.report_path.read_text()


def test_run_git_returns_stdout_or_none_and_never_raises(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "feature/tokens\n"
    plain = tmp_path / "plain"
    plain.mkdir()
    assert run_git(plain, "rev-parse", "HEAD") is None
    assert run_git(repo, "log", "-n1", timeout=0.0) is None
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-folder"))
    assert run_git(repo, "status") is None
