"""Installed versions read from ``.dist-info`` folders are the ones ``importlib.metadata`` gives."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from pricing import installed
from pricing.installed import distribution_version


def test_every_installed_distribution_has_the_version_importlib_metadata_gives() -> None:
    names = {dist.metadata["Name"] for dist in importlib.metadata.distributions()}
    assert len(names) > 20
    assert {name: distribution_version(name) for name in names} == {
        name: importlib.metadata.version(name) for name in names
    }


def test_names_are_matched_as_importlib_metadata_matches_them() -> None:
    expected = importlib.metadata.version("detect-secrets")
    assert distribution_version("Detect_Secrets") == distribution_version("detect.secrets")
    assert distribution_version("detect.secrets") == expected
    assert distribution_version("no-such-distribution-here") is None


def _site(tmp_path: Path, *folders: tuple[str, str]) -> Path:
    site = tmp_path / "site"
    for name, metadata in folders:
        (site / name).mkdir(parents=True)
        (site / name / ("PKG-INFO" if name.endswith(".egg-info") else "METADATA")).write_text(
            metadata, encoding="utf-8"
        )
    return site


@pytest.mark.parametrize(
    ("folders", "expected"),
    [
        ([("demo_pkg-1.2.3.dist-info", "Name: demo-pkg\nVersion: 1.2.3\n")], "1.2.3"),
        # An egg-info folder beside it, or two dist-info folders: importlib.metadata decides.
        (
            [
                ("demo_pkg-1.2.3.dist-info", "Name: demo-pkg\nVersion: 1.2.3\n"),
                ("demo_pkg-0.9.egg-info", "Name: demo-pkg\nVersion: 0.9\n"),
            ],
            "fallback",
        ),
        ([("demo_pkg-1.0.dist-info", "Name: demo-pkg\n\nVersion: 9\n")], "fallback"),
    ],
)
def test_a_folder_it_does_not_read_with_certainty_is_left_to_importlib_metadata(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    folders: list[tuple[str, str]],
    expected: str,
) -> None:
    site = _site(tmp_path, *folders)
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    installed._listing.cache_clear()
    asked: list[str] = []
    monkeypatch.setattr(installed, "_from_importlib", lambda name: asked.append(name) or "fallback")

    assert distribution_version("demo-pkg") == expected
    assert asked == ([] if expected != "fallback" else ["demo-pkg"])


def test_report_and_table_versions_need_no_importlib_metadata(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from token_tracking.reports.build import tool_version\n"
        "from pricing.table import load_table\n"
        "print(tool_version() is not None, load_table().version != 'unknown',"
        " 'importlib.metadata' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,  # a source checkout may hold an egg-info folder, left to importlib.metadata
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.split() == ["True", "True", "False"]
