"""Model prices from LiteLLM's bundled table: name resolution and exact cost breakdowns.

This package never imports ``litellm``, ``openai``, ``agents`` or ``anthropic``: it reads the
price JSON that ships inside the installed ``litellm`` distribution directly (``pricing.table``).

- ``pricing.resolve``: :class:`PriceBook` resolves a name (exact key, case, provider prefix,
  undated name, fixed Claude 3 alias; never a substring) and prices a :class:`Usage`;
  ``cost_or_reason`` returns the breakdown or an :class:`Unpriced` saying why there is none.
- ``pricing.cost``: the cost formula (each token kind at its own rate, long-context tiers above
  their threshold), equal to ``litellm.cost_per_token`` for every chat entry except an exact
  list kept with the tests (``tests/pricing/parity_exceptions.py``), whose docstring gives each
  reason: entries with no per-token price (LiteLLM says $0, we say unknown), xAI/Perplexity
  reasoning billed on top of the completion count by LiteLLM, four names LiteLLM prices under
  another entry, and the Azure model router's fee that LiteLLM counts twice.
- ``pricing.custom``: TOML/JSON price files (per-1K or per-1M), the per-1K dict of
  ``calculate_cost`` and ``CLAUDE_COST_PER_1M_INPUT``/``_OUTPUT``.
- ``pricing.views``: the documents the ``memory-banker pricing`` commands print (dataclasses).
"""

from pricing.cost import CostBreakdown, IncompleteUsageError, NoTokenPriceError, Usage
from pricing.custom import PricingEnvError, PricingFileError
from pricing.errors import PricingError
from pricing.resolve import (
    PriceBook,
    Resolution,
    UnknownModelError,
    Unpriced,
    UnpricedReason,
    default_pricebook,
    load_pricebook,
)
from pricing.table import (
    PriceEntry,
    PriceTable,
    PriceTableError,
    RangeTier,
    Tier,
    load_table,
)

__all__ = [
    "CostBreakdown",
    "IncompleteUsageError",
    "NoTokenPriceError",
    "PriceBook",
    "PriceEntry",
    "PriceTable",
    "PriceTableError",
    "PricingEnvError",
    "PricingError",
    "PricingFileError",
    "RangeTier",
    "Resolution",
    "Tier",
    "UnknownModelError",
    "Unpriced",
    "UnpricedReason",
    "Usage",
    "default_pricebook",
    "load_pricebook",
    "load_table",
]
