"""The root exception of the pricing package and its specific subclasses."""


class PricingError(Exception):
    """Anything the pricing package cannot do; the CLI prints it on one line and exits 2."""
