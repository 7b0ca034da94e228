"""Model prices from LiteLLM's bundled table: name resolution and exact cost breakdowns.

This package never imports ``litellm``, ``openai``, ``agents`` or ``anthropic``: it reads the
price JSON that ships inside the installed ``litellm`` distribution directly.
"""

from pricing.errors import PricingError

__all__ = ["PricingError"]
