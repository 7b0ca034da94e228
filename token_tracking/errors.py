"""The root exception of the token_tracking package and its specific subclasses."""


class TrackingError(Exception):
    """Anything token_tracking cannot do; the CLI prints it on one line and exits 2."""
