"""The digest and ``update --offline`` against commit 605a592, each figure beside its baseline.

Run: ``python benchmarks/bench_digest.py [--runs 5] [--only digest,offline]``. Every figure is a
ratio measured in one run, because absolute times move with the machine's load:

- **digest**: LiteLLM's installed package copied into a scratch git repository (one commit); the
  digest of this tree against 605a592's digest of the same repository (its tree is extracted with
  ``git archive`` and imported through ``PYTHONPATH``, same interpreter), cold (a new process and
  an empty cache folder) and on a second run (a new process, the cache the cold run filled).
- **offline**: ``update --offline`` on a copy of this repository (committed once), cold (a new
  process, an empty cache folder), against 605a592's; and its peak memory (max RSS).

Each process of a figure and of its baseline alternates, so a change in load touches both; a
figure is the median over ``--runs`` runs of the process's CPU time (user + system), steadier on
a shared machine than its wall time, which is printed beside it. The output is one line per
figure: figure · value · baseline · ratio · target; nothing is asserted.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASE_COMMIT = "605a592"
"""The commit the figures compare with."""

_DIGEST_SCRIPT = """
import sys
from pathlib import Path
try:
    from memory_banker.digest.build import build_digest
except ImportError:  # the layout of commit 605a592
    from memory_banker.scan import build_digest
build_digest(Path(sys.argv[1]))
"""


@dataclass(frozen=True)
class Figure:
    """One measured figure against its baseline."""

    name: str
    value: float
    baseline: float
    unit: str
    target: float
    """The largest ratio value/baseline that meets the target."""

    @property
    def ratio(self) -> float:
        """value / baseline."""
        return self.value / self.baseline if self.baseline else float("inf")

    def line(self) -> str:
        """figure · value · baseline · ratio · target, and whether it holds."""
        holds = "holds" if self.ratio <= self.target else "FALLS SHORT"
        return (
            f"{self.name} · {self.value:.3f} {self.unit} · {self.baseline:.3f} {self.unit}"
            f" · {self.ratio:.2f}x · <= {self.target:.2f}x ({holds})"
        )


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
        cwd=folder,
        check=True,
        capture_output=True,
    )


def commit_all(folder: Path, message: str) -> None:
    """Make ``folder`` a git repository whose one commit holds every file in it."""
    _git(folder, "init", "-q", "-b", "main")
    _git(folder, "add", "-A")
    _git(folder, "commit", "-q", "-m", message)


def extract(commit: str, folder: Path) -> Path:
    """The tree of ``commit`` of this repository, extracted into ``folder``."""
    folder.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def litellm_repository(folder: Path) -> Path:
    """LiteLLM's installed package (its sources, no byte code) in a git repository of one
    commit."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or spec.origin is None:
        raise SystemExit("LiteLLM is not installed")
    source = Path(spec.origin).resolve().parent
    target = folder / "litellm-repo"
    shutil.copytree(
        source, target / "litellm", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    commit_all(target, "Import LiteLLM")
    return target


def this_repository(folder: Path) -> Path:
    """This repository's work tree (tracked and untracked files git does not ignore) in a git
    repository of one commit."""
    target = folder / "self-repo"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        path = ROOT / os.fsdecode(raw)
        if path.is_file() and not path.is_symlink():
            destination = target / os.fsdecode(raw)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
    commit_all(target, "Snapshot")
    return target


def run(command: Sequence[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Run ``command``; return its (CPU seconds, wall seconds, peak RSS in MiB)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.stderr:
        process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr}")
    peak = usage.ru_maxrss // 1024 if sys.platform != "darwin" else usage.ru_maxrss // 2**20
    return usage.ru_utime + usage.ru_stime, wall, int(peak)


def environment(tree: Path | None, cache: Path, ledger: Path) -> dict[str, str]:
    """The environment of one measured process: its own cache folder and ledger, and for the
    base commit its tree first on ``PYTHONPATH`` (before the editable install). Byte code goes
    to one prefix beside the cache folders, written by the untimed first run of each side, so
    both sides load compiled modules, as an installed copy does."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    }
    env["TOKEN_TRACKING_CACHE_DIR"] = str(cache)
    env["TOKEN_TRACKING_DB_PATH"] = str(ledger)
    env["PYTHONPYCACHEPREFIX"] = str(cache.parent / "pycache")
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    return env


def digest_figures(runs: int, scratch: Path, base: Path) -> list[Figure]:
    """The digest of a LiteLLM repository, cold and on a second run, against 605a592's."""
    project = litellm_repository(scratch)
    trees = {"current": None, BASE_COMMIT: base}
    cold: dict[str, list[float]] = {label: [] for label in trees}
    warm: dict[str, list[float]] = {label: [] for label in trees}
    walls: dict[str, list[float]] = {label: [] for label in trees}
    for number in range(runs + 1):
        for label, tree in trees.items():
            cache = scratch / f"digest-cache-{label}-{number}"
            env = environment(tree, cache, scratch / f"ledger-{label}.sqlite3")
            command = [sys.executable, "-P", "-c", _DIGEST_SCRIPT, str(project)]
            first = run(command, env, scratch)
            second = run(command, env, scratch)
            shutil.rmtree(cache, ignore_errors=True)
            if number == 0:
                continue  # warm-up: files in the page cache, byte code compiled
            cold[label].append(first[0])
            warm[label].append(second[0])
            walls[label].append(first[1])
    base_cold = statistics.median(cold[BASE_COMMIT])
    print(
        f"  (wall, cold: {statistics.median(walls['current']):.2f} s against"
        f" {statistics.median(walls[BASE_COMMIT]):.2f} s)"
    )
    return [
        Figure("digest of LiteLLM, cold (CPU)", statistics.median(cold["current"]), base_cold,
               "s", 1.0),
        Figure("digest of LiteLLM, second run (CPU)", statistics.median(warm["current"]),
               base_cold, "s", 0.3),
    ]  # fmt: skip


def offline_figures(runs: int, scratch: Path, base: Path) -> list[Figure]:
    """Cold ``update --offline`` on a copy of this repository against 605a592's: CPU and peak
    memory."""
    project = this_repository(scratch)
    trees = {"current": None, BASE_COMMIT: base}
    times: dict[str, list[float]] = {label: [] for label in trees}
    peaks: dict[str, list[int]] = {label: [] for label in trees}
    for number in range(runs + 1):
        for label, tree in trees.items():
            copy = scratch / f"offline-{label}-{number}"
            shutil.copytree(project, copy, symlinks=True)
            cache = scratch / f"offline-cache-{label}-{number}"
            env = environment(tree, cache, scratch / f"offline-ledger-{label}.sqlite3")
            # -P: the working folder is not put first on sys.path (the copy holds a package of
            # its own); the current code is this work tree's, 605a592's comes from PYTHONPATH.
            command = [sys.executable, "-P", "-m", "memory_banker", "--project-path", str(copy),
                       "update", "--offline"]  # fmt: skip
            cpu, _, peak = run(command, env, scratch)
            shutil.rmtree(copy)
            shutil.rmtree(cache, ignore_errors=True)
            if number == 0:
                continue
            times[label].append(cpu)
            peaks[label].append(peak)
    return [
        Figure("update --offline on this repository, cold (CPU)",
               statistics.median(times["current"]), statistics.median(times[BASE_COMMIT]),
               "s", 0.4),
        Figure("update --offline peak memory", statistics.median(peaks["current"]),
               statistics.median(peaks[BASE_COMMIT]), "MiB", 0.75),
    ]  # fmt: skip


def main() -> None:
    """Measure the chosen figures and print them with their baselines and targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per figure")
    parser.add_argument("--only", default="digest,offline", help="digest, offline or both")
    args = parser.parse_args()
    chosen = {part.strip() for part in args.only.split(",") if part.strip()}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"bench_digest: {os.cpu_count()} cores, load average {load:.2f}, median of {args.runs}")
    print("figure · value · baseline · ratio · target")
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-digest-") as folder:
        scratch = Path(folder)
        base = extract(BASE_COMMIT, scratch / "base-tree")
        if "digest" in chosen:
            for figure in digest_figures(args.runs, scratch, base):
                figures.append(figure)
                print(figure.line(), flush=True)
        if "offline" in chosen:
            for figure in offline_figures(args.runs, scratch, base):
                figures.append(figure)
                print(figure.line(), flush=True)
    short = [figure.name for figure in figures if figure.ratio > figure.target]
    print("falls short: " + (", ".join(short) if short else "none"))


if __name__ == "__main__":
    main()
