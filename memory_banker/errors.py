"""The root exception of the memory_banker package and its specific subclasses."""


class MemoryBankerError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits 2."""


class UsageError(MemoryBankerError):
    """Bad input on the command line or in the environment."""


class MissingApiKeyError(MemoryBankerError):
    """The provider of the chosen model needs a key that is not set."""
