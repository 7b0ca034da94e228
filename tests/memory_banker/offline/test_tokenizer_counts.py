"""Counts added up from parts are the counts of the joined text."""

from __future__ import annotations

import random

import pytest

from memory_banker import tokenizer
from memory_banker.tokenizer import count_joined, count_tokens, splits_at

ALPHABET = [
    "a", "b", "s", "t", "Z", "Q", "é", "ß", "中", "ـ", "\u0301", "1", "42", "7",
    " ", "  ", "\t", "\n", "\n", "\r", "\r\n", "\u00a0", "\u2028", "\x1c",
    "/", ".", ",", "'", "'s", "#", "##", "-", "`", "```", "(", ")", ":", "=", "<|endoftext|>",
]  # fmt: skip
"""Letters of each case class, marks, digits, every kind of white space and line break, and the
punctuation the encoding's pattern treats apart (``/``, contractions, special-token text)."""


def encoded(text: str) -> int:
    """The count straight from the encoding, with no cache or shortcut."""
    return len(tokenizer._encoding().encode(text, disallowed_special=()))


def random_texts(count: int, seed: int) -> list[str]:
    chooser = random.Random(seed)
    return ["".join(chooser.choices(ALPHABET, k=chooser.randint(1, 24))) for _ in range(count)]


def test_counts_add_up_wherever_splits_at_says_so() -> None:
    checked = 0
    for text in random_texts(4000, seed=5):
        whole = encoded(text)
        for cut in range(1, len(text)):
            before, after = text[:cut], text[cut:]
            if splits_at(before, after):
                checked += 1
                assert encoded(before) + encoded(after) == whole, (before, after)
    assert checked > 2000


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("x\n", "\ny"),  # the line breaks join into one piece
        ("x.\n", "/y"),  # the punctuation piece takes the slash
        ("x\n", " y"),  # the space goes with the word
        ("x \n", "\u00a0y"),
    ],
)
def test_a_boundary_it_refuses_can_change_the_count(before: str, after: str) -> None:
    assert not splits_at(before, after)
    if before == "x\n" and after == "\ny":
        assert encoded(before) + encoded(after) != encoded(before + after)


def test_joined_parts_are_counted_as_their_join() -> None:
    chooser = random.Random(11)
    texts = random_texts(400, seed=13)
    for _ in range(200):
        parts = chooser.sample(texts, chooser.randint(1, 6))
        parts = [part + "\n" if chooser.random() < 0.6 else part for part in parts]
        assert count_joined(parts) == encoded("".join(parts)), parts
    assert count_joined([]) == count_joined(["", ""]) == 0


def test_a_text_ending_with_a_long_text_counted_before_encodes_only_its_beginning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    digest = "# Digest\n" + "".join(f"- line {n}: value = {n * 7}\n" for n in range(600))
    preamble = "You write memory-bank files from the digest below.\n"
    assert count_joined(["# Digest\n", digest.removeprefix("# Digest\n")]) == encoded(digest)
    expected = encoded(preamble + digest), encoded(preamble.rstrip("\n") + " " + digest)
    seen: list[str] = []
    real = tokenizer._encoding()

    class Watched:
        def encode(self, text: str, disallowed_special: tuple[()]) -> list[int]:
            seen.append(text)
            return real.encode(text, disallowed_special=disallowed_special)

    monkeypatch.setattr(tokenizer, "_encoding", lambda: Watched())

    assert count_tokens(preamble + digest) == expected[0]
    assert seen == [preamble]
    # The digest after a space is not reused whole; its lines after its first line are (that
    # part was counted on its own above, and a line break ends the first line).
    assert count_tokens(preamble.rstrip("\n") + " " + digest) == expected[1]
    assert seen[1:] == [preamble.rstrip("\n") + " # Digest\n"]
