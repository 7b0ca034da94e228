"""Model prices from LiteLLM's bundled table: name resolution and exact cost breakdowns.

This package never imports ``litellm``, ``openai``, ``agents`` or ``anthropic``: it reads the
price JSON that ships inside the installed ``litellm`` distribution directly.
"""

from pricing.cost import CostBreakdown, IncompleteUsageError, NoTokenPriceError, Usage
from pricing.custom import PricingEnvError, PricingFileError
from pricing.errors import PricingError
from pricing.resolve import (
    PriceBook,
    Resolution,
    UnknownModelError,
    default_pricebook,
    load_pricebook,
)
from pricing.table import PriceEntry, PriceTable, PriceTableError, Tier, load_table

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
    "Resolution",
    "Tier",
    "UnknownModelError",
    "Usage",
    "default_pricebook",
    "load_pricebook",
    "load_table",
]
