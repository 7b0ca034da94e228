"""Files never opened (by name, by content, by ``.memorybankignore``) and symlinks never followed:
in the digest, in the bank files used as inputs and in ``refresh``'s ``.history`` copy."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from memory_banker.digest.build import build_digest
from memory_banker.digest.files import withheld_files
from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider
from tests.support.generate import AGENT_NAMES, TEST_KEY, script_bank
from tests.support.sample_project import make_sample_project

RESPONSES = ("--api", "responses", "--max-retries", "0")
OUTSIDE = "OUTSIDE-THE-PROJECT-7f3a9c root:x:0:0"


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return make_sample_project(tmp_path)


def test_files_named_by_memorybankignore_are_never_read(sample: Path) -> None:
    (sample / "notes").mkdir()
    (sample / "notes" / "private.md").write_text("IGNORED-NOTE-CONTENT\n", encoding="utf-8")
    (sample / "widgets" / "internal.py").write_text('"""IGNORED-MODULE."""\n', encoding="utf-8")
    (sample / ".memorybankignore").write_text("# mine\nnotes/\n*/internal.py\n", encoding="utf-8")
    _git(sample, "add", "-A")
    _git(sample, "commit", "-q", "-m", "notes")

    digest = build_digest(sample)

    assert "IGNORED-NOTE-CONTENT" not in digest.text
    assert "IGNORED-MODULE" not in digest.text
    assert "notes/private.md" not in digest.files
    assert "widgets/internal.py" not in digest.files
    assert {"notes/private.md", "widgets/internal.py"} <= set(withheld_files(sample))


def test_secret_manifests_and_service_account_keys_are_never_sent(sample: Path) -> None:
    (sample / "k8s").mkdir()
    (sample / "k8s" / "db.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  pw: SECRETB64VALUE==\n",
        encoding="utf-8",
    )
    (sample / "gcp.json").write_text(
        '{"type": "service_account", "private_key_id": "SA-KEY-ID-123"}\n', encoding="utf-8"
    )
    _git(sample, "add", "-A")
    _git(sample, "commit", "-q", "-m", "deploy")

    digest = build_digest(sample)

    assert "SECRETB64VALUE" not in digest.text
    assert "SA-KEY-ID-123" not in digest.text
    assert {"k8s/db.yaml", "gcp.json"} <= set(withheld_files(sample))


def test_new_secret_file_names_are_withheld(sample: Path) -> None:
    for name in (".envrc", ".pgpass", "prod.tfvars", "deploy/id_github"):
        path = sample / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"NEVER-READ {name}\n", encoding="utf-8")
    _git(sample, "add", "-A")
    _git(sample, "commit", "-q", "-m", "secrets")

    digest = build_digest(sample)

    assert "NEVER-READ" not in digest.text
    assert {".envrc", ".pgpass", "prod.tfvars", "deploy/id_github"} <= set(withheld_files(sample))


def test_a_symlinked_bank_file_is_never_read_nor_copied_into_history(
    sample: Path, fake_provider: FakeProvider, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake_provider.openai_base_url}
    script_bank(fake_provider)
    assert invoke(sample, "init", *RESPONSES, env=env).exit_code == 0
    outside = tmp_path / "passwd"
    outside.write_text(OUTSIDE + "\n", encoding="utf-8")
    link = sample / "memory-bank" / "techContext.md"
    link.unlink()
    link.symlink_to(outside)
    _git(sample, "add", "-A")
    _git(sample, "commit", "-q", "-m", "bank")

    script_bank(fake_provider, names=AGENT_NAMES[4:], marker="v2")
    result = invoke(sample, "update", "--agents", "activeContext,progress", *RESPONSES, env=env)
    assert result.exit_code == 0
    assert "memory-bank/techContext.md is a symlink" in caplog.text
    script_bank(fake_provider, marker="v3")
    assert invoke(sample, "refresh", *RESPONSES, env=env).exit_code == 0

    assert all(OUTSIDE not in request.raw for request in fake_provider.requests)
    copies = list((sample / "memory-bank" / ".history").rglob("techContext.md"))
    assert len(copies) == 1
    assert copies[0].is_symlink()
    assert all(
        OUTSIDE not in path.read_text(encoding="utf-8")
        for path in (sample / "memory-bank" / ".history").rglob("*")
        if path.is_file() and not path.is_symlink()
    )
    assert outside.read_text(encoding="utf-8") == OUTSIDE + "\n"
