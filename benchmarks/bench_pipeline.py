"""Benchmark of the generation pipeline, measured side by side in one process.

    python benchmarks/bench_pipeline.py [--delay 1.0] [--files 5000]

Prints:

1. The pipeline's in-process wall time (SDKs already imported) against the loopback fake provider
   delaying every response by ``--delay`` seconds, as a ratio to the critical path of the three
   rounds (projectbrief; productContext, systemPatterns, techContext; activeContext, progress:
   3 x delay). Target: <= 1.2.
2. The cold ``memory-banker init`` process time against the same fake (imports included), and a
   cold ``memory-banker init --offline``.
3. The cold missing-key refusal (a process that must fail before importing any SDK).
4. The digest build time on ``bench_digest.py``'s generated git repository of ``--files`` files.
   Target: < 1 s.

Everything runs under a temporary directory; the ledger goes there too. No network.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Before anything imports litellm (DESIGN §9).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "1"

from benchmarks.bench_digest import commit_all  # noqa: E402
from memory_banker import pipeline  # noqa: E402
from memory_banker.digest.build import build_digest  # noqa: E402
from memory_banker.plan import GenerateOptions, prepare  # noqa: E402
from memory_banker.specs import ROUNDS  # noqa: E402
from pricing import load_pricebook  # noqa: E402
from tests.support.fake_provider import FakeProvider  # noqa: E402
from tests.support.generate import script_bank  # noqa: E402
from tests.support.sample_project import make_sample_project  # noqa: E402

KEY = "sk-bench-not-a-real-key"


def synthetic_repository(root: Path, files: int) -> Path:
    """A git repository of ``files`` small Python and TypeScript modules (one commit)."""
    project = root / "big"
    project.mkdir()
    (project / "README.md").write_text("# Big\n\nA synthetic project for the benchmark.\n")
    (project / "pyproject.toml").write_text(
        '[project]\nname = "big"\ndependencies = ["click>=8", "rich>=13"]\n'
    )
    body = "".join(
        f"def function_{n}(value: int) -> int:\n    return value * {n}\n\n" for n in range(12)
    )
    for index in range(files):
        package = project / ("src" if index % 3 else "tests") / f"pkg{index % 40}"
        package.mkdir(parents=True, exist_ok=True)
        suffix = ".ts" if index % 5 == 0 else ".py"
        prefix = "test_" if index % 3 == 0 else "module_"
        (package / f"{prefix}{index}{suffix}").write_text(f'"""Module {index}."""\n\n{body}')
    commit_all(project, "Initial import")
    return project


def in_process_run(project: Path, fake: FakeProvider, delay: float, command: str) -> float:
    """Run the six agents once in-process and return the wall time in seconds."""
    script_bank(fake, delay=delay, marker=command)
    options = GenerateOptions(
        command="init" if command == "init" else "update",
        project=project,
        api_base=fake.openai_base_url,
        api_key=KEY,
        max_retries=0,
    )
    pricebook = load_pricebook()
    plan = prepare(options, pricebook)
    tracker = pipeline.make_tracker(plan, pricebook)
    progress = pipeline.new_progress(plan)
    started = time.perf_counter()
    result = pipeline.run(plan, tracker, progress)
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"benchmark run failed: {[o.error for o in result.failures]}")
    return elapsed


def cold_process(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Run ``python -m memory_banker ARGS`` and return (wall seconds, exit code)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "memory_banker", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return time.perf_counter() - started, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=1.0, help="fake response delay (s)")
    parser.add_argument("--files", type=int, default=5000, help="files in the digest repo")
    parser.add_argument("--repeat", type=int, default=3, help="timed in-process runs")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        os.environ["TOKEN_TRACKING_DB_PATH"] = str(root / "ledger.sqlite3")
        for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE"):
            os.environ.pop(name, None)
        project = make_sample_project(root)
        critical = len(ROUNDS) * options.delay
        with FakeProvider() as fake:
            # Warm-up: imports the Agents SDK and openai, so the timed runs measure the pipeline.
            in_process_run(project, fake, 0.0, "init")
            walls = [
                in_process_run(project, fake, options.delay, f"update{i}")
                for i in range(options.repeat)
            ]
            best = min(walls)
            print(
                f"pipeline, in-process (6 agents in {len(ROUNDS)} rounds, "
                f"{options.delay:g} s per response):"
            )
            print(
                f"  wall {best:.3f} s (best of {options.repeat}; all: "
                f"{', '.join(f'{w:.3f}' for w in walls)}) / critical path {critical:.1f} s "
                f"= ratio {best / critical:.3f} (target <= 1.2)"
            )

            cold_env = {
                **os.environ,
                "OPENAI_API_KEY": KEY,
                "OPENAI_BASE_URL": fake.openai_base_url,
            }
            script_bank(fake, delay=options.delay, marker="cold")
            seconds, code = cold_process(
                ["--project-path", str(project), "update", "--quiet"], cold_env
            )
            print(
                f"cold `memory-banker update` process (imports + run, exit {code}): "
                f"{seconds:.3f} s = critical path + {seconds - critical:.3f} s"
            )
        seconds, code = cold_process(
            ["--project-path", str(project), "update", "--offline", "--quiet"], dict(os.environ)
        )
        print(f"cold `memory-banker update --offline` process (exit {code}): {seconds:.3f} s")
        seconds, code = cold_process(["--project-path", str(project), "update"], dict(os.environ))
        print(f"cold missing-key refusal (exit {code}): {seconds:.3f} s (target < 1 s)")

        big = synthetic_repository(root, options.files)
        build_digest(big)  # warm: the tokenizer's first load (~0.25 s) is not the digest's cost
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            digest = build_digest(big)
            timings.append(time.perf_counter() - started)
        print(
            f"digest of a {options.files:,}-file git repository: {min(timings):.3f} s "
            f"(best of 3; {digest.tokens:,} tokens, {len(digest.files):,} files listed; "
            "target < 1 s)"
        )


if __name__ == "__main__":
    main()
