"""The import path ``from memory_banker.token_tracking import TokenUsageReport``.

It re-exports every public name of the top-level ``token_tracking`` package (which other agent
apps use without the CLI), so the two lists can never drift apart.
"""

import token_tracking as _package
from token_tracking import *  # noqa: F403  (the re-export is this module's whole purpose)

__all__ = list(_package.__all__)
