"""Resolve + cost speed against ``litellm.cost_per_token``, and the price table's cold load time.

Run: ``python benchmarks/bench_pricing.py [--pairs 10000] [--runs 7]``.

1. Side by side in one process: ``PriceBook.cost(model, usage)`` (name resolution included) and
   ``litellm.cost_per_token(model, custom_llm_provider=…, usage_object=…)`` on the same 10,000
   (model, usage) pairs drawn from the table's chat entries (seeded, so every run draws the same
   pairs; a quarter of the names are upper-cased or provider-prefixed so resolution does work).
   Printed: microseconds per call for each (best of ``--repeats`` passes, after a warm-up pass
   that builds the table's entries and fills LiteLLM's caches), and the ratio (target: 100x).
2. Cold load, in fresh interpreters (median of ``--runs``): ``import pricing`` plus
   ``load_table()``, ``load_table()`` alone, and the first ``default_pricebook().cost(…)``
   (target for the table load: under 20 ms).

Figures are printed, never asserted: the machines are shared and timings vary.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# The repository root, for the parity test's LiteLLM usage mapping (tests/ is not installed).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pricing import PriceBook, Usage, load_table
from tests.pricing.parity_exceptions import PARITY_EXCEPTIONS
from tests.pricing.test_pricing_parity import litellm_usage

TARGET_RATIO = 100.0
TARGET_LOAD_MS = 20.0

COLD_SNIPPET = """
import time
t0 = time.perf_counter()
import pricing
t1 = time.perf_counter()
pricing.load_table()
t2 = time.perf_counter()
pricing.default_pricebook().cost("gpt-4o-mini", pricing.Usage(1000, 100, 200))
t3 = time.perf_counter()
print((t2 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t0) * 1e3)
"""


def draw_pairs(count: int) -> list[tuple[str, str, str | None, Usage]]:
    """Return ``count`` seeded (name asked, table key, provider, usage) tuples."""
    table = load_table()
    keys = [
        key
        for key in table.keys()
        if table.raw(key).get("mode") == "chat" and key not in PARITY_EXCEPTIONS
    ]
    rng = random.Random(20261123)
    pairs: list[tuple[str, str, str | None, Usage]] = []
    for _ in range(count):
        key = rng.choice(keys)
        entry = table.get(key)
        assert entry is not None
        prompt = rng.choice((800, 5_000, 30_000, 150_000, 250_000))
        cached = rng.choice((None, 0, prompt // 4))
        written = rng.choice((None, 0, prompt // 10))
        completion = rng.choice((200, 1_000, 4_000))
        reasoning = rng.choice((None, 0, completion // 2))
        name = key
        roll = rng.random()
        if roll < 0.125:
            name = key.upper()
        elif roll < 0.25 and entry.provider is not None and "/" not in key:
            name = f"{entry.provider}/{key}"
        pairs.append(
            (name, key, entry.provider, Usage(prompt, completion, cached, written, reasoning))
        )
    return pairs


def time_ours(pairs: list[tuple[str, str, str | None, Usage]], repeats: int) -> tuple[float, float]:
    """Best seconds for a pass on a fresh book (names resolved) and a second pass (memoized).

    The table's entries are built on first use; a warm-up pass builds them first, so the figures
    compare steady-state calls with LiteLLM's (whose own caches are warm too).
    """
    warm_up = PriceBook(load_table())
    spent = sum(warm_up.cost(name, usage).total for name, _key, _provider, usage in pairs)
    first: list[float] = []
    second: list[float] = []
    for _ in range(repeats):
        book = PriceBook(load_table())
        for passes in (first, second):
            start = time.perf_counter()
            total = 0.0
            for name, _key, _provider, usage in pairs:
                total += book.cost(name, usage).total
            passes.append(time.perf_counter() - start)
            assert total == spent  # same pairs, same prices: the passes did the work
    return min(first), min(second)


def time_litellm(pairs: list[tuple[str, str, str | None, Usage]], repeats: int) -> float:
    """Best seconds for ``litellm.cost_per_token`` over the same pairs (usage objects built
    first, one warm-up pass for LiteLLM's own caches)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    # Imported here only: the reference being measured against, not a pricing dependency.
    import litellm

    litellm.suppress_debug_info = True
    calls: list[tuple[str, str | None, Any, int, int]] = []
    for _name, key, provider, usage in pairs:
        assert usage.prompt_tokens is not None and usage.completion_tokens is not None
        block = litellm_usage(usage)
        calls.append((key, provider, block, usage.prompt_tokens, usage.completion_tokens))
    timings: list[float] = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        for key, provider, block, prompt, completion in calls:
            litellm.cost_per_token(
                model=key,
                custom_llm_provider=provider,
                usage_object=block,
                prompt_tokens=prompt,
                completion_tokens=completion,
            )
        timings.append(time.perf_counter() - start)
    return min(timings[1:])


def cold_load(runs: int) -> tuple[float, float, float]:
    """Median milliseconds (import + load, load alone, first cost) over fresh interpreters."""
    samples: list[list[float]] = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", COLD_SNIPPET], capture_output=True, text=True, check=True
        ).stdout
        samples.append([float(value) for value in out.split()])
    return (
        statistics.median(sample[0] for sample in samples),
        statistics.median(sample[1] for sample in samples),
        statistics.median(sample[2] for sample in samples),
    )


def main() -> None:
    """Run both benchmarks and print their figures beside the targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    pairs = draw_pairs(args.pairs)
    cold_pass, warm_pass = time_ours(pairs, args.repeats)
    theirs = time_litellm(pairs, args.repeats)
    per_call = {
        "pricing (first pass, names resolved)": cold_pass,
        "pricing (second pass, names memoized)": warm_pass,
        "litellm.cost_per_token": theirs,
    }
    print(
        f"Resolve + cost over {len(pairs):,} (model, usage) pairs from the chat entries "
        f"(best of {args.repeats})"
    )
    for label, seconds in per_call.items():
        print(f"  {label:<40} {seconds / len(pairs) * 1e6:8.2f} µs/call  ({seconds:.3f} s)")
    print(
        f"  ratio litellm / pricing: {theirs / cold_pass:,.0f}x first pass, "
        f"{theirs / warm_pass:,.0f}x memoized (target >= {TARGET_RATIO:.0f}x)"
    )
    both, load_only, first_cost = cold_load(args.runs)
    print(f"Cold start in a fresh interpreter (median of {args.runs})")
    print(
        f"  load_table()                        {load_only:7.1f} ms (target < {TARGET_LOAD_MS:.0f})"
    )
    print(f"  import pricing + load_table()       {both:7.1f} ms")
    print(f"  import + first default_pricebook().cost() {first_cost:7.1f} ms")


if __name__ == "__main__":
    main()
