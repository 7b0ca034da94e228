"""One lock keeps the hook's import and a manual import from running at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from token_tracking.errors import ImportLockedError
from token_tracking.imports.post_commit import lock_path
from token_tracking.imports.run import import_lock


def test_a_second_import_cannot_take_the_lock_while_one_holds_it(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    with import_lock(ledger):
        with pytest.raises(ImportLockedError, match="another import holds"):
            with import_lock(ledger, wait=False):
                pass
    with import_lock(ledger, wait=False):
        assert lock_path(ledger).exists()
