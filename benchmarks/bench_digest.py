"""Digest build time on a 5,000-file git repository (target: under 1 s).

Run: ``python benchmarks/bench_digest.py [--files N]``. It builds a synthetic repository in a
temporary folder (Python and TypeScript sources in nested packages, tests, a README and a
pyproject, two commits), then times the tokenizer's first load, a first
:func:`memory_banker.digest.build.build_digest` and the median of five more builds, and
prints them with the target beside them. The machine is shared, so compare figures from one run
only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from memory_banker.digest.build import build_digest
from memory_banker.tokenizer import count_tokens

TARGET_SECONDS = 1.0


def _git(root: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def make_repository(root: Path, files: int) -> Path:
    """Create a git repository with ``files`` source files under ``root`` and return it."""
    project = root / "big"
    project.mkdir()
    (project / "README.md").write_text("# Big\n\nA synthetic project for the benchmark.\n")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "big"\ndependencies = ["click>=8", "rich>=13"]\n'
    )
    marker = "TODO"  # spelled apart so this file itself carries no marker
    body = "".join(
        f"def function_{n}(value: int) -> int:\n    # {marker}: tune {n}\n"
        f"    return value * {n}\n\n"
        for n in range(12)
    )
    for index in range(files):
        package = (
            project / ("src" if index % 3 else "tests") / f"pkg{index % 40}" / f"sub{index % 7}"
        )
        package.mkdir(parents=True, exist_ok=True)
        suffix = ".ts" if index % 5 == 0 else ".py"
        prefix = "test_" if index % 3 == 0 else "module_"
        (package / f"{prefix}{index}{suffix}").write_text(f'"""Module {index}."""\n\n{body}')
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "Initial import")
    (project / "README.md").write_text("# Big\n\nChanged.\n")
    _git(project, "commit", "-q", "-am", "Update the README")
    return project


def main() -> None:
    """Build the repository, time the digest and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project = make_repository(Path(folder), args.files)
        start = time.perf_counter()
        count_tokens("load")
        tokenizer_load = time.perf_counter() - start
        start = time.perf_counter()
        digest = build_digest(project)
        cold = time.perf_counter() - start
        warm_runs = []
        for _ in range(5):
            start = time.perf_counter()
            build_digest(project)
            warm_runs.append(time.perf_counter() - start)
        warm = statistics.median(warm_runs)
    print(f"files listed:        {len(digest.files):,}")
    print(f"digest tokens:       {digest.tokens:,} of {digest.budget:,}")
    print(f"tokenizer load:      {tokenizer_load:.3f} s (once per process)")
    print(f"first build:         {cold:.3f} s (tokenizer loaded)")
    print(f"warm build (median): {warm:.3f} s")
    ratio = warm / TARGET_SECONDS
    print(f"target:              < {TARGET_SECONDS:.1f} s -> ratio warm/target {ratio:.2f}")


if __name__ == "__main__":
    main()
