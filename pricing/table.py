"""LiteLLM's bundled price JSON, read directly into typed, immutable entries.

The file is ``model_prices_and_context_window_backup.json`` inside the installed ``litellm``
package. It is located with :func:`importlib.util.find_spec`, which reads the package's location
without executing it, because importing ``litellm`` costs about two seconds.

Loading is lazy where it matters: :func:`load_table` parses the JSON and builds the lower-case
index once per process; a :class:`PriceEntry` is built the first time a key is asked for.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec

from pricing.errors import PricingError
from pricing.installed import distribution_version

PRICE_FILE_NAME = "model_prices_and_context_window_backup.json"
"""The file name of LiteLLM's bundled price table inside the ``litellm`` package directory."""

# The thresholds LiteLLM 1.83.0 applies: its ``get_model_info`` copies only these ``above_*`` keys
# into the model info that ``generic_cost_per_token`` reads, so any other tier in the file (for
# example ``input_cost_per_token_above_256k_tokens``) is shown by ``pricing show`` but not applied.
_APPLIED_INPUT_TIERS = ("128k", "200k", "272k")
_APPLIED_CACHE_READ_TIERS = ("200k", "272k")
_APPLIED_CACHE_WRITE_TIERS = ("200k",)
_TIER_KEY = re.compile(r"^(?P<kind>[a-z_]+?)_above_(?P<label>\d+k?)_tokens$")


class PriceTableError(PricingError):
    """LiteLLM's price table cannot be found or read."""


@dataclass(frozen=True, slots=True)
class Tier:
    """Rates that replace the base rates once a request's prompt exceeds ``threshold`` tokens."""

    label: str
    """The threshold as the table writes it, for example ``"200k"``."""
    threshold: int
    """Prompt tokens above which this tier applies (strictly greater, as LiteLLM compares)."""
    input_cost_per_token: float | None
    """USD per uncached input token above the threshold; ``None``: the base rate."""
    output_cost_per_token: float | None
    """USD per output token above the threshold; ``None``: the base rate."""
    cache_read_cost_per_token: float | None
    """USD per cached input token above the threshold; ``None``: the base cache-read rate."""
    cache_write_cost_per_token: float | None
    """USD per cache-write token above the threshold; ``None``: the base cache-write rate."""
    applied: bool
    """Whether cost calculation applies this tier (LiteLLM ignores some tier keys; see above)."""


@dataclass(frozen=True, slots=True)
class RangeTier:
    """One band of a ``tiered_pricing`` list: its rates apply to the tokens inside the band."""

    start: float
    """The band's first token count (exclusive)."""
    end: float
    """The band's last token count (inclusive)."""
    input_cost_per_token: float | None
    """USD per input token inside the band."""
    output_cost_per_token: float | None
    """USD per output token inside the band."""
    cache_read_cost_per_token: float | None
    """USD per cached input token inside the band; ``None``: the band's input rate."""
    reasoning_cost_per_token: float | None
    """USD per reasoning token inside the band; ``None``: the band's output rate."""


STYLE_BY_PROVIDER: Mapping[str, str] = {
    "fireworks_ai": "flat",
    "databricks": "flat",
    "perplexity": "flat_input",
    "dashscope": "dashscope",
}
"""Providers whose LiteLLM 1.83.0 cost function departs from the generic formula (see cost.py)."""


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """One model's prices, per token in USD; ``None`` means the table gives no such rate."""

    key: str
    """The table key (or custom model name) these prices belong to."""
    provider: str | None
    """LiteLLM's provider name (``litellm_provider``), for example ``"openai"``."""
    mode: str | None
    """``chat``, ``embedding``, ``completion``, ``responses``, … as LiteLLM records it."""
    input_cost_per_token: float | None
    """USD per uncached input token."""
    output_cost_per_token: float | None
    """USD per output token (text; reasoning too unless ``reasoning_cost_per_token`` is set)."""
    cache_read_cost_per_token: float | None
    """USD per input token read from a prompt cache."""
    cache_write_cost_per_token: float | None
    """USD per input token written to a prompt cache (5-minute cache where both are priced)."""
    cache_write_1h_cost_per_token: float | None
    """USD per input token written to a 1-hour prompt cache (not applied: usage has no 1h split)."""
    reasoning_cost_per_token: float | None
    """USD per reasoning output token, where the table prices reasoning separately."""
    output_cost_per_image_token: float | None
    """USD per output image token; LiteLLM uses it when a model has no output token rate."""
    tiers: tuple[Tier, ...]
    """Long-context tiers, highest threshold first (the order LiteLLM tries them)."""
    max_input_tokens: int | None
    """The context window in tokens, as the table gives it."""
    max_output_tokens: int | None
    """The most output tokens per request, as the table gives it."""
    has_priority_rates: bool
    """The table has priority-tier rates, which a usage record cannot select (never applied)."""
    has_tiered_pricing: bool
    """The table has a ``tiered_pricing`` band list (applied for ``dashscope`` only, as LiteLLM)."""
    ranges: tuple[RangeTier, ...] = ()
    """The ``tiered_pricing`` bands by start (empty when the table has none)."""
    style: str = "generic"
    """How LiteLLM prices this entry: ``generic``, ``flat``, ``flat_input`` or ``dashscope``."""
    custom: bool = False
    """Prices come from a custom price file, dict or environment variable, not from LiteLLM."""
    custom_source: str | None = None
    """Where custom prices came from: a file path, ``"dict"`` or ``"env"``."""

    @property
    def has_token_price(self) -> bool:
        """Whether usage can be priced: an input or output token rate, or dashscope bands.

        ``False`` for entries priced per second, image, character or query: their cost is
        unknown (never $0), and there is no close model name to suggest.
        """
        if self.input_cost_per_token is not None or self.output_cost_per_token is not None:
            return True
        return self.style == "dashscope" and bool(self.ranges)


def litellm_package_dir() -> Path:
    """Return the installed ``litellm`` package directory, without importing ``litellm``.

    Raises:
        PriceTableError: ``litellm`` is not installed.
    """
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        raise PriceTableError(
            "the litellm package is not installed: its bundled price table is the price source"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _rate(raw: Mapping[str, Any], key: str) -> float | None:
    """One per-token rate as a float; ``None`` when absent or null (numeric text is accepted)."""
    value = raw.get(key)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _count(raw: Mapping[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value)


def _threshold(label: str) -> int:
    return int(label[:-1]) * 1000 if label.endswith("k") else int(label)


def _tiers(raw: Mapping[str, Any]) -> tuple[Tier, ...]:
    labels: set[str] = set()
    for name in raw:
        if "_above_" not in name:
            continue
        match = _TIER_KEY.match(name)
        if match is not None and match.group("kind") in (
            "input_cost_per_token",
            "output_cost_per_token",
        ):
            labels.add(match.group("label"))
    tiers = [
        Tier(
            label=label,
            threshold=_threshold(label),
            input_cost_per_token=_rate(raw, f"input_cost_per_token_above_{label}_tokens"),
            output_cost_per_token=_rate(raw, f"output_cost_per_token_above_{label}_tokens"),
            cache_read_cost_per_token=(
                _rate(raw, f"cache_read_input_token_cost_above_{label}_tokens")
                if label in _APPLIED_CACHE_READ_TIERS
                else None
            ),
            cache_write_cost_per_token=(
                _rate(raw, f"cache_creation_input_token_cost_above_{label}_tokens")
                if label in _APPLIED_CACHE_WRITE_TIERS
                else None
            ),
            # LiteLLM starts a tier only from an input key it copies into its model info.
            applied=label in _APPLIED_INPUT_TIERS
            and _rate(raw, f"input_cost_per_token_above_{label}_tokens") is not None,
        )
        for label in labels
    ]
    tiers.sort(key=lambda tier: tier.threshold, reverse=True)
    return tuple(tiers)


def _ranges(raw: Mapping[str, Any]) -> tuple[RangeTier, ...]:
    bands = raw.get("tiered_pricing")
    if not isinstance(bands, list):
        return ()
    ranges: list[RangeTier] = []
    for band in bands:
        if not isinstance(band, Mapping):
            continue
        limits = band.get("range")
        if not isinstance(limits, list) or len(limits) != 2:
            continue
        ranges.append(
            RangeTier(
                start=float(limits[0]),
                end=float(limits[1]),
                input_cost_per_token=_rate(band, "input_cost_per_token"),
                output_cost_per_token=_rate(band, "output_cost_per_token"),
                cache_read_cost_per_token=_rate(band, "cache_read_input_token_cost"),
                reasoning_cost_per_token=_rate(band, "output_cost_per_reasoning_token"),
            )
        )
    # Stable sort by start: the order LiteLLM walks the bands in.
    ranges.sort(key=lambda band: band.start)
    return tuple(ranges)


def entry_from_raw(key: str, raw: Mapping[str, Any]) -> PriceEntry:
    """Build the typed entry for one table key from its raw JSON object."""
    provider = raw.get("litellm_provider")
    mode = raw.get("mode")
    return PriceEntry(
        key=key,
        provider=provider if isinstance(provider, str) else None,
        mode=mode if isinstance(mode, str) else None,
        input_cost_per_token=_rate(raw, "input_cost_per_token"),
        output_cost_per_token=_rate(raw, "output_cost_per_token"),
        cache_read_cost_per_token=_rate(raw, "cache_read_input_token_cost"),
        cache_write_cost_per_token=_rate(raw, "cache_creation_input_token_cost"),
        cache_write_1h_cost_per_token=_rate(raw, "cache_creation_input_token_cost_above_1hr"),
        reasoning_cost_per_token=_rate(raw, "output_cost_per_reasoning_token"),
        output_cost_per_image_token=_rate(raw, "output_cost_per_image_token"),
        tiers=_tiers(raw),
        max_input_tokens=_count(raw, "max_input_tokens"),
        max_output_tokens=_count(raw, "max_output_tokens"),
        has_priority_rates=any(name.endswith("_priority") for name in raw),
        has_tiered_pricing=bool(raw.get("tiered_pricing")),
        ranges=_ranges(raw),
        style=STYLE_BY_PROVIDER.get(provider, "generic")
        if isinstance(provider, str)
        else "generic",
    )


class PriceTable:
    """LiteLLM's price table: raw JSON objects by key, typed entries built on first use.

    Thread-safe for reading; the entry cache is filled under a lock.
    """

    def __init__(self, raw: Mapping[str, Mapping[str, Any]], *, version: str, path: Path | None):
        self._raw = raw
        self.version = version
        """The installed ``litellm`` version: the table's version."""
        self.path = path
        """The JSON file the table was read from (``None`` for a table built in memory)."""
        self._entries: dict[str, PriceEntry] = {}
        self._lock = threading.Lock()
        lower: dict[str, str] = {}
        for name in raw:
            # The first key wins when two differ only in case: file order is deterministic.
            lower.setdefault(name.lower(), name)
        self._lower = lower

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def __len__(self) -> int:
        return len(self._raw)

    def keys(self) -> Iterator[str]:
        """Iterate over every table key, in file order."""
        return iter(self._raw)

    def raw(self, key: str) -> Mapping[str, Any]:
        """Return the raw JSON object of ``key``; raises ``KeyError`` when absent."""
        return self._raw[key]

    def key_ignoring_case(self, name: str) -> str | None:
        """Return the table key equal to ``name`` ignoring case, or ``None``."""
        return self._lower.get(name.lower())

    def lower_keys(self) -> Mapping[str, str]:
        """Every key by its lower-case form (the case-insensitive index)."""
        return self._lower

    def get(self, key: str) -> PriceEntry | None:
        """Return the typed entry of an exact table key, or ``None`` when absent."""
        entry = self._entries.get(key)
        if entry is not None:
            return entry
        raw = self._raw.get(key)
        if raw is None:
            return None
        entry = entry_from_raw(key, raw)
        with self._lock:
            self._entries.setdefault(key, entry)
        return entry

    def entries(self) -> Iterator[PriceEntry]:
        """Iterate over every entry in file order (builds the entries not built yet)."""
        for key in self._raw:
            entry = self.get(key)
            if entry is not None:
                yield entry


def read_table(path: Path, version: str) -> PriceTable:
    """Read a LiteLLM-format price JSON file into a :class:`PriceTable`.

    The ``sample_spec`` documentation entry and any non-object value are left out.

    Raises:
        PriceTableError: the file cannot be read or is not a JSON object.
    """
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise PriceTableError(f"cannot read LiteLLM's price table {path}: {exc}") from exc
    try:
        # msgspec reads the same objects in half the time; what it rejects (NaN and Infinity
        # literals, which the json module accepts) is read by the json module.
        data = msgspec.json.decode(text)
    except msgspec.DecodeError:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise PriceTableError(f"LiteLLM's price table {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise PriceTableError(f"LiteLLM's price table {path} is not a JSON object")
    data.pop("sample_spec", None)
    raw = {key: value for key, value in data.items() if isinstance(value, dict)}
    return PriceTable(raw, version=version, path=path)


def litellm_version() -> str:
    """Return the installed litellm version (what ``importlib.metadata.version`` reports);
    ``"unknown"`` when it is not installed as a distribution."""
    return distribution_version("litellm") or "unknown"


@lru_cache(maxsize=1)
def load_table() -> PriceTable:
    """Return LiteLLM's bundled price table, read once per process.

    Raises:
        PriceTableError: ``litellm`` is not installed or its price file cannot be read.
    """
    package_dir = litellm_package_dir()
    return read_table(package_dir / PRICE_FILE_NAME, litellm_version())
