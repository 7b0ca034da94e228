"""The documented import path ``from memory_banker.token_tracking import TokenUsageReport``.

memory-banker 0.1 shipped its tracker inside the app; the code now lives in the top-level
``token_tracking`` package so other agent apps can use it without the CLI. This module re-exports
every public name of that package, so the two lists can never drift apart.
"""

import token_tracking as _package
from token_tracking import *  # noqa: F403  (the re-export is this module's whole purpose)

__all__ = list(_package.__all__)
