"""Every exception memory_banker raises on purpose, under one root.

The CLI prints a ``MemoryBankerError``'s message on one line on stderr and exits 2, except the two
gates (``BudgetRefusedError``, ``LimitsRefusedError``), which exit 1::

    MemoryBankerError
    ├── UsageError                  bad input on the command line or in the environment
    │   └── BankExistsError         init found bank files and --force was not given
    ├── MissingApiKeyError          the chosen model's provider needs a key that is not set
    ├── BudgetRefusedError          --max-cost refused the run before launch (exit 1)
    ├── LimitsRefusedError          a usage limit is above 100% (exit 1)
    └── TokenizerUnavailableError   the bundled tokenizer file is missing
"""


class MemoryBankerError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits 2."""


class UsageError(MemoryBankerError):
    """Bad input on the command line or in the environment."""


class BankExistsError(UsageError):
    """``init`` found memory-bank files and ``--force`` was not given."""


class MissingApiKeyError(MemoryBankerError):
    """The provider of the chosen model needs a key that is not set."""


class BudgetRefusedError(MemoryBankerError):
    """``--max-cost`` refused the run before launch: exit 1, not 2 (a gate, not bad input)."""


class LimitsRefusedError(MemoryBankerError):
    """A usage limit set in the environment is above 100%: exit 1 unless ``--ignore-limits``."""


class TokenizerUnavailableError(MemoryBankerError):
    """The bundled encoding file could not be found, so tokens cannot be counted offline."""
