"""Close-name suggestions for an unpriced model are computed once per name and price book."""

from __future__ import annotations

import difflib
import io
import logging
from pathlib import Path

import pytest
from rich.console import Console

import pricing.resolve
from pricing import load_pricebook
from tests.support.clock import StepClock
from tests.support.records import usage
from token_tracking import TokenTracker


@pytest.fixture
def close_match_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every word difflib is asked to match, in order."""
    calls: list[str] = []
    real = difflib.get_close_matches

    def counting(word: str, *args: object, **kwargs: object) -> list[str]:
        calls.append(word)
        return real(word, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pricing.resolve.difflib, "get_close_matches", counting)
    return calls


def test_suggestions_for_a_name_are_computed_once(close_match_calls: list[str]) -> None:
    book = load_pricebook()
    first = book.suggestions("gpt-4o-mni")
    first.append("changed by the caller")
    again = book.suggestions("gpt-4o-mni")

    assert again == first[:-1]
    assert "gpt-4o-mini" in again
    assert close_match_calls == ["gpt-4o-mni"]
    book.suggestions("claude-haiku-typo")
    assert close_match_calls == ["gpt-4o-mni", "claude-haiku-typo"]


def test_recording_many_requests_of_an_unpriced_model_asks_difflib_once(
    tmp_path: Path, close_match_calls: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    tracker = TokenTracker(
        reports_dir=tmp_path / "reports",
        project_path=tmp_path,
        interval_console=Console(file=io.StringIO(), width=100),
        clock=StepClock(),
        pricebook=load_pricebook(),  # a book of its own: the shared one may know the name
    )
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            tracker.record(usage("a", 1_000, 100, model="gpt-4o-mini-typo"))
        report = tracker.finish()

    assert close_match_calls == ["gpt-4o-mini-typo"]
    assert report.total_cost_usd is None
    assert report.pricing is not None
    assert report.pricing.models[0].suggestions[:2] == ["gpt-4o-mini-tts", "gpt-4o-mini"]
