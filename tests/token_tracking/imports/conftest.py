"""Shared pieces of the import tests: a ledger and the price book."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pricing import PriceBook, default_pricebook
from token_tracking.history.ledger import Ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite3") as opened:
        yield opened


@pytest.fixture(scope="session")
def pricebook() -> PriceBook:
    return default_pricebook()
