"""Custom prices: a TOML or JSON price file, a per-1K dict, and the Claude environment variables.

A price file names models and gives their prices in one of two forms, per 1M or per 1K tokens::

    # prices.toml — per 1M tokens
    [models."my-model"]
    input_per_1m = 1.00
    output_per_1m = 4.00
    cached_input_per_1m = 0.25      # optional; default: the input rate
    cache_write_per_1m = 1.25       # optional; default: the input rate

    # per 1K tokens
    [models."gpt-4o"]
    prompt_per_1k = 0.0025
    completion_per_1k = 0.01

The ``[models]`` level is optional: a file (TOML or JSON) whose top level maps model names to price
tables directly is read the same way, which is also the shape of the per-1K dict that
``TokenUsageReport.calculate_cost`` accepts. A custom model overrides the LiteLLM entry of the same
name or adds a new one. Unlike LiteLLM's table, a custom model without a cache rate prices cached
and cache-write tokens at its input rate: a user who gives one input price means every input token.

``CLAUDE_COST_PER_1M_INPUT`` / ``CLAUDE_COST_PER_1M_OUTPUT``, when set, override the
input and output rates of every model whose name starts with ``claude`` (its LiteLLM cache rates
are kept, its long-context tiers dropped); a model named in a price file keeps the file's prices.
"""

from __future__ import annotations

import difflib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pricing.errors import PricingError
from pricing.table import PriceEntry, PriceTable

PER_1K_FIELDS = ("prompt_per_1k", "completion_per_1k")
"""The fields of the per-1K form; both are required."""
PER_1M_REQUIRED = ("input_per_1m", "output_per_1m")
"""The required fields of the per-1M form."""
PER_1M_OPTIONAL = ("cached_input_per_1m", "cache_write_per_1m")
"""The optional fields of the per-1M form."""
ALL_FIELDS = PER_1K_FIELDS + PER_1M_REQUIRED + PER_1M_OPTIONAL

ENV_INPUT = "CLAUDE_COST_PER_1M_INPUT"
"""USD per 1M input tokens for every ``claude*`` model."""
ENV_OUTPUT = "CLAUDE_COST_PER_1M_OUTPUT"
"""USD per 1M output tokens for every ``claude*`` model."""


class PricingFileError(PricingError):
    """A custom price file (or dict) is missing, unreadable or holds a bad value."""


class PricingEnvError(PricingError):
    """A pricing environment variable holds something that is not a non-negative number."""


@dataclass(frozen=True, slots=True)
class ClaudeOverride:
    """Input and output rates from the environment for every ``claude*`` model, per token."""

    input_cost_per_token: float | None
    """From ``CLAUDE_COST_PER_1M_INPUT`` ÷ 1M; ``None`` when the variable is not set."""
    output_cost_per_token: float | None
    """From ``CLAUDE_COST_PER_1M_OUTPUT`` ÷ 1M; ``None`` when the variable is not set."""

    def apply(self, entry: PriceEntry) -> PriceEntry:
        """Return ``entry`` with the overridden rates, marked custom (source ``env``)."""
        return replace(
            entry,
            input_cost_per_token=(
                entry.input_cost_per_token
                if self.input_cost_per_token is None
                else self.input_cost_per_token
            ),
            output_cost_per_token=(
                entry.output_cost_per_token
                if self.output_cost_per_token is None
                else self.output_cost_per_token
            ),
            # Flat prices from the user replace LiteLLM's long-context tiers.
            tiers=(),
            custom=True,
            custom_source="env",
        )


def is_claude_name(name: str) -> bool:
    """Whether ``name`` (ignoring any ``provider/`` prefix and case) is a ``claude*`` model."""
    base = name.rsplit("/", 1)[-1].lower()
    # Bedrock spells them "anthropic.claude-…" and regional "us.anthropic.claude-…".
    return base.startswith("claude") or ".claude" in base.split(":", 1)[0]


def claude_override(environ: Mapping[str, str]) -> ClaudeOverride | None:
    """Read the Claude price variables from ``environ``.

    Returns:
        The override, or ``None`` when neither variable is set (an empty value counts as unset).

    Raises:
        PricingEnvError: a variable is set to something other than a non-negative number.
    """
    rates: list[float | None] = []
    for variable in (ENV_INPUT, ENV_OUTPUT):
        text = environ.get(variable, "").strip()
        if not text:
            rates.append(None)
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            raise PricingEnvError(
                f"{variable}={text!r} is not a non-negative number of USD per 1M tokens"
            )
        rates.append(value / 1_000_000)
    if rates[0] is None and rates[1] is None:
        return None
    return ClaudeOverride(input_cost_per_token=rates[0], output_cost_per_token=rates[1])


def _number(where: str, model: str, field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PricingFileError(
            f"{where}: model {model!r}: field {field!r} must be a number, got {value!r}"
        )
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise PricingFileError(
            f"{where}: model {model!r}: field {field!r} must be a non-negative number, "
            f"got {value!r}"
        )
    return number


def _entry(
    where: str, source: str, model: str, prices: object, table: PriceTable | None
) -> PriceEntry:
    if not isinstance(prices, Mapping):
        raise PricingFileError(
            f"{where}: model {model!r} must be a table of prices "
            f"(for example input_per_1m and output_per_1m), got {prices!r}"
        )
    for field in prices:
        if field not in ALL_FIELDS:
            close = difflib.get_close_matches(str(field), ALL_FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PricingFileError(
                f"{where}: model {model!r}: unknown field {field!r}{hint}; "
                f"known fields: {', '.join(ALL_FIELDS)}"
            )
    per_1k = [field for field in PER_1K_FIELDS if field in prices]
    per_1m = [field for field in PER_1M_REQUIRED + PER_1M_OPTIONAL if field in prices]
    if per_1k and per_1m:
        raise PricingFileError(
            f"{where}: model {model!r}: mixes per-1K fields ({', '.join(per_1k)}) with per-1M "
            f"fields ({', '.join(per_1m)}); use one form"
        )
    if per_1k:
        required, scale = PER_1K_FIELDS, 1_000.0
    else:
        required, scale = PER_1M_REQUIRED, 1_000_000.0
    for field in required:
        if field not in prices:
            raise PricingFileError(f"{where}: model {model!r}: missing field {field!r}")
    rates = {field: _number(where, model, field, prices[field]) / scale for field in prices}
    input_rate = rates[required[0]]
    base = None if table is None else table.get(model)
    return PriceEntry(
        key=model,
        provider=None if base is None else base.provider,
        mode="chat" if base is None else base.mode,
        input_cost_per_token=input_rate,
        output_cost_per_token=rates[required[1]],
        cache_read_cost_per_token=rates.get("cached_input_per_1m", input_rate),
        cache_write_cost_per_token=rates.get("cache_write_per_1m", input_rate),
        cache_write_1h_cost_per_token=None,
        reasoning_cost_per_token=None,
        output_cost_per_image_token=None,
        tiers=(),
        max_input_tokens=None if base is None else base.max_input_tokens,
        max_output_tokens=None if base is None else base.max_output_tokens,
        has_priority_rates=False,
        has_tiered_pricing=False,
        custom=True,
        custom_source=source,
    )


def entries_from_mapping(
    data: Mapping[str, object],
    *,
    where: str,
    source: str,
    table: PriceTable | None = None,
) -> dict[str, PriceEntry]:
    """Turn a mapping of model name → prices (either form) into custom entries.

    ``where`` starts every error message (for example ``"pricing file prices.toml"``); ``source``
    is recorded on each entry. With ``table``, a model that overrides a LiteLLM entry keeps its
    provider, mode and context window.

    Raises:
        PricingFileError: naming the model and field at fault.
    """
    models: Mapping[str, object] = data
    wrapped = data.get("models")
    if isinstance(wrapped, Mapping) and not any(field in wrapped for field in ALL_FIELDS):
        extra = [name for name in data if name != "models"]
        if extra:
            raise PricingFileError(
                f"{where}: unknown top-level key {extra[0]!r}: put every model under [models]"
            )
        models = wrapped
    if not models:
        raise PricingFileError(f'{where}: no models; expected [models."NAME"] price tables')
    entries: dict[str, PriceEntry] = {}
    for model, prices in models.items():
        if not isinstance(model, str) or not model.strip():
            raise PricingFileError(f"{where}: a model name must be a non-empty string")
        entries[model] = _entry(where, source, model, prices, table)
    return entries


def read_pricing_file(path: Path, table: PriceTable | None = None) -> dict[str, PriceEntry]:
    """Read a TOML (``.toml``) or JSON (``.json``) custom price file.

    Returns:
        The custom entries by model name.

    Raises:
        PricingFileError: the file is missing, unreadable, of another format, malformed, or a
            model's prices are bad; the message names the file, the model and the field.
    """
    where = f"pricing file {path}"
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise PricingFileError(
            f"{where}: unknown format {suffix or '(no suffix)'!r}: use .toml or .json"
        )
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise PricingFileError(f"{where}: not found") from None
    except OSError as exc:
        raise PricingFileError(f"{where}: cannot be read: {exc.strerror or exc}") from exc
    data: Any
    try:
        text = content.decode("utf-8")
        data = tomllib.loads(text) if suffix == ".toml" else json.loads(text)
    except UnicodeDecodeError as exc:
        raise PricingFileError(f"{where}: not UTF-8 text: {exc.reason}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PricingFileError(f"{where}: invalid TOML: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise PricingFileError(f"{where}: invalid JSON: {exc}") from exc
    except RecursionError:
        # json.loads and tomllib give up on deep nesting with RecursionError, not a decode error.
        raise PricingFileError(f"{where}: nested too deeply to be a price table") from None
    if not isinstance(data, dict):
        raise PricingFileError(f"{where}: must hold a table of models, got {type(data).__name__}")
    return entries_from_mapping(data, where=where, source=str(path), table=table)
