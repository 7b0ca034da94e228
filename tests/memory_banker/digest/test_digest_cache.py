"""What is kept by content hash (outlines, the repo map, markers, redactions, token counts) changes
nothing: a digest built on a filled cache is the one built on an empty cache, and the lines the
redactor's pre-filter rules out are lines detect-secrets flags nothing in."""

from __future__ import annotations

from pathlib import Path

import pytest
from detect_secrets.core.scan import _process_line_based_plugins
from detect_secrets.settings import default_settings, get_plugins

from memory_banker.digest import secrets
from memory_banker.digest.build import build_digest
from memory_banker.digest.repomap import OutlineCache, symbol_from_item, symbol_item
from memory_banker.digest.secrets import _candidate_test, redact_counted
from tests.memory_banker.digest.planted import make_planted_project
from tests.support.sample_project import make_sample_project


def test_a_digest_on_a_filled_cache_is_the_digest_on_an_empty_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_planted_project(tmp_path).root
    monkeypatch.setenv("TOKEN_TRACKING_CACHE_DIR", str(tmp_path / "cache"))

    cold = build_digest(project)
    assert any((tmp_path / "cache").rglob("*.json"))
    warm = build_digest(project)

    assert warm == cold


def test_a_digest_on_a_sample_project_is_the_same_with_a_filled_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_sample_project(tmp_path)
    monkeypatch.setenv("TOKEN_TRACKING_CACHE_DIR", str(tmp_path / "cache"))

    assert build_digest(project, context_tokens=2000) == build_digest(project, context_tokens=2000)


def test_a_signature_not_yet_written_is_cached_as_its_header(tmp_path: Path) -> None:
    source = b"class A(Base):\n    def run(self, *, retries: int = 3) -> None:\n        pass\n"
    filled = OutlineCache(tmp_path)
    cold = filled.outline("a.py", source)
    filled.save()
    assert [s.header for s in cold.symbols] == [
        None,
        "def run(self, *, retries: int = 3) -> None:\n",
    ]
    assert [symbol_item(s) for s in cold.symbols] == [
        ["class", "A", "class A(Base)", 1, ""],
        ["method", "A.run", None, 2, "", "def run(self, *, retries: int = 3) -> None:\n"],
    ]

    warm = OutlineCache(tmp_path).outline("a.py", source)

    assert warm.symbols[1].header is not None
    assert warm == cold
    assert warm.symbols[1].signature == "def run(self, *, retries: int=3) -> None"
    for damaged in (["method", "A.run", None, 2, ""], ["class", "A", "class A", 1, "", "x"]):
        with pytest.raises(TypeError):
            symbol_from_item(damaged)


def test_a_cached_redaction_is_the_redaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = make_planted_project(tmp_path)
    monkeypatch.setenv("TOKEN_TRACKING_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(secrets, "_cache_state", {})
    text = "\n".join(f"{item.marker} {item.value}" for item in planted.secrets)

    monkeypatch.setattr(secrets, "_RESULTS", {})
    first = redact_counted(text, ["my-run-key"])
    monkeypatch.setattr(secrets, "_RESULTS", {})  # served from the cache folder now
    second = redact_counted(text, ["my-run-key"])

    assert second == first
    assert "api-key" not in first.counts
    assert sum(first.counts.values()) > 20


def test_the_prefilter_rules_out_no_line_detect_secrets_flags(tmp_path: Path) -> None:
    planted = make_planted_project(tmp_path)
    lines = [
        line.rstrip()
        for path in sorted(planted.root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(planted.root).parts
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
    ]
    lines += [f"{item.marker} = '{item.value}'" for item in planted.secrets]
    with default_settings():
        candidate = _candidate_test(get_plugins())
        flagged = {
            secret.line_number
            for secret in _process_line_based_plugins(
                lines=list(enumerate(lines, start=1)), filename="digest.txt"
            )
        }

    assert flagged
    assert all(candidate(lines[number - 1]) for number in flagged)
    assert not candidate("def add(a: int, b: int) -> int:")
