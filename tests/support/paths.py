"""Folders the tests read: the repository root, the frozen fixtures and the artifacts folder."""

from __future__ import annotations

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
TESTS = REPOSITORY / "tests"
FIXTURES = TESTS / "fixtures"
ARTIFACTS = TESTS / "artifacts"
README = REPOSITORY / "README.md"
