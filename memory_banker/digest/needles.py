"""Which lines a set of regular expressions may match, found without searching every line with
every pattern: each pattern is tried only on the lines holding one of the strings its every
match holds (:func:`needles`, read from the parsed pattern).
"""

from __future__ import annotations

import bisect
import importlib
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any


class CandidateLines:
    """A test that is False only for a line none of ``patterns`` matches.

    A pattern whose every match holds one of a few strings (:func:`needles`) is tried only on
    the lines holding one (found for all lines of a text at once); the others on every line.
    Lines beyond ASCII are tried with every pattern, as case folding can turn them to ASCII."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        groups: dict[frozenset[tuple[str, bool]] | None, list[Callable[[str], object]]] = {}
        for pattern in patterns:
            held = needles(pattern)
            key = held if held and min(len(word) for word, _ in held) > 1 else None
            groups.setdefault(key, []).append(pattern.search)
        self.everywhere = tuple(groups.pop(None, []))
        self.every = self.everywhere + tuple(s for searches in groups.values() for s in searches)
        self.gated: list[
            tuple[
                Callable[[str, int], re.Match[str] | None],
                bool,
                tuple[Callable[[str], object], ...],
            ]
        ] = []
        for strings, searches in groups.items():
            assert strings is not None
            for folded in (False, True):
                words = sorted(word for word, fold in strings if fold == folded)
                if words:
                    finder = re.compile("|".join(map(re.escape, words))).search
                    self.gated.append((finder, folded, tuple(searches)))

    def __call__(self, line: str) -> bool:
        return self.which([line])[0]

    def which(self, lines: Sequence[str]) -> list[bool]:
        """For each of ``lines``, False when none of the patterns matches it."""
        everywhere, every = self.everywhere, self.every
        found = [
            any(search(line) for search in (everywhere if line.isascii() else every))
            for line in lines
        ]
        # The ASCII lines, the others left empty, joined; each needle found maps to its line.
        text = "\n".join(line if line.isascii() else "" for line in lines)
        lowered = text.lower()
        starts = list(
            itertools.accumulate(
                (len(line) + 1 if line.isascii() else 1 for line in lines), initial=0
            )
        )
        for finder, folded, searches in self.gated:
            haystack = lowered if folded else text
            hit = finder(haystack, 0)
            while hit is not None:
                index = bisect.bisect_right(starts, hit.start()) - 1
                if not found[index] and any(search(lines[index]) for search in searches):
                    found[index] = True
                hit = finder(haystack, starts[index + 1])  # the next line holding one
        return found


_SRE = importlib.import_module("re._parser")
_REPEATS = (_SRE.MAX_REPEAT, _SRE.MIN_REPEAT, _SRE.POSSESSIVE_REPEAT)
_FINITE_LIMIT = 256
_NEEDLES_LIMIT = 32
_FOUND: dict[tuple[int, bool], set[str] | None] = {}


def needles(pattern: re.Pattern[str]) -> frozenset[tuple[str, bool]] | None:
    """Strings one of which every match of ``pattern`` holds, each with whether it is held in
    any case (then given in lower case, ASCII only), or None when no such strings are found.

    Read from the parsed pattern: a match holds what each item of a sequence matches, in order
    (zero-width assertions match ""), one alternative of a branch, a repeated item at least once
    when it repeats at least once, and what a positive look-around matches next to it."""
    tree = _SRE.parse(pattern.pattern, pattern.flags)
    try:
        return _needles_in(tree, bool(tree.state.flags & re.IGNORECASE))
    finally:
        _FOUND.clear()


def _folds(folded: bool, add: int, remove: int) -> bool:
    return bool((folded or add & re.IGNORECASE) and not remove & re.IGNORECASE)


def _char(code: int, folded: bool) -> str | None:
    char = chr(code)
    if char == "\n" or (folded and not char.isascii()):
        return None  # a needle stays on one line; a folded non-ASCII letter may match ASCII
    return char.lower() if folded else char


def _finite(op: object, av: Any, folded: bool) -> set[str] | None:
    """Every string one parsed item matches (lower case when ``folded``), or None when there
    are more than a few, or they cannot be listed."""
    if op is _SRE.LITERAL:
        char = _char(av, folded)
        return None if char is None else {char}
    key = (id(av), folded)  # the parsed tree is held while its needles are sought
    if key not in _FOUND:
        _FOUND[key] = _listed(op, av, folded)
    return _FOUND[key]


def _listed(op: object, av: Any, folded: bool) -> set[str] | None:
    if op in (_SRE.AT, _SRE.ASSERT, _SRE.ASSERT_NOT):
        return {""}
    if op is _SRE.IN:
        chars: set[str] = set()
        for kind, value in av:
            if kind is _SRE.LITERAL:
                codes: Sequence[int] = [value]
            elif kind is _SRE.RANGE and value[1] - value[0] < 16:
                codes = range(value[0], value[1] + 1)
            else:
                return None
            for code in codes:
                char = _char(code, folded)
                if char is None:
                    return None
                chars.add(char)
        return chars if len(chars) <= 16 else None
    if op is _SRE.SUBPATTERN:
        _, add, remove, items = av
        return _sequence(items, folded) if _folds(folded, add, remove) == folded else None
    if op is _SRE.BRANCH:
        strings: set[str] = set()
        for alternative in av[1]:
            found = _sequence(alternative, folded)
            if found is None or len(strings | found) > _FINITE_LIMIT:
                return None
            strings |= found
        return strings
    if op in _REPEATS and av[1] <= 3:
        low, high, items = av
        once = _sequence(items, folded)
        if once is None:
            return None
        strings, power = set(), {""}
        for count in range(high + 1):
            if count >= low:
                strings |= power
            if count == high:
                break
            if len(power) * len(once) + len(strings) > _FINITE_LIMIT:
                return None
            power = {a + b for a in power for b in once}
        return strings
    return None


def _sequence(items: Iterable[tuple[object, Any]], folded: bool) -> set[str] | None:
    strings = {""}
    for op, av in items:
        found = _finite(op, av, folded)
        if found is None or len(strings) * len(found) > _FINITE_LIMIT:
            return None
        strings = {a + b for a in strings for b in found}
    return strings


def _needles_in(
    items: Sequence[tuple[object, Any]], folded: bool
) -> frozenset[tuple[str, bool]] | None:
    best: frozenset[tuple[str, bool]] | None = None

    def offer(needles: Iterable[tuple[str, bool]] | None) -> None:
        """Keep ``needles`` if their shortest is longer than the best's (or as long, and fewer)."""
        nonlocal best
        ordered = sorted(set(needles or ()), key=lambda item: len(item[0]))
        shortest = len(ordered[0][0]) if ordered else 0
        floor = min(len(word) for word, _ in best) if best else 1
        if shortest < floor:
            return
        kept: list[tuple[str, bool]] = []  # a needle holding a shorter one adds nothing
        for needle in ordered:
            if not any(fold == needle[1] and word in needle[0] for word, fold in kept):
                kept.append(needle)
                if len(kept) > _NEEDLES_LIMIT:
                    return  # too many to look for
        if best is None or shortest > floor or len(kept) < len(best):
            best = frozenset(kept)

    finite = [_finite(op, av, folded) for op, av in items]
    start = 0
    while start < len(items):  # the longest runs of listed items (a later start's are weaker)
        if not finite[start] or "" in finite[start]:  # type: ignore[operator]
            start += 1  # what a run from here holds, the run from the next item holds
            continue
        run: set[str] = {""}
        end = start
        while end < len(items) and (strings := finite[end]) is not None:
            if len(run) * len(strings) > _FINITE_LIMIT:
                break
            run = {a + b for a in run for b in strings}
            end += 1
        offer((word, folded) for word in run)
        overflowed = end < len(items) and finite[end] is not None
        start = start + 1 if overflowed else end + 1
    for (op, av), strings in zip(items, finite, strict=True):
        if op is _SRE.ASSERT:  # matches "", next to what it looks at
            offer(_needles_in(av[1], folded))
        elif strings is not None:
            continue
        elif op is _SRE.SUBPATTERN:
            offer(_needles_in(av[3], _folds(folded, av[1], av[2])))
        elif op is _SRE.ATOMIC_GROUP:
            offer(_needles_in(av, folded))
        elif op in _REPEATS and av[0] >= 1:
            offer(_needles_in(av[2], folded))
        elif op is _SRE.BRANCH:
            parts = [_needles_in(alternative, folded) for alternative in av[1]]
            if all(parts):
                offer(needle for part in parts if part for needle in part)
    return best


# --- where a pattern may match ------------------------------------------------------------------

FOLDED_TO_ASCII = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}
"""The characters beyond ASCII that ``(?i:…)`` matches to an ASCII letter, with that letter;
once they are replaced, lowering a text keeps its length (the dotted capital I is the one
character it would lengthen)."""


def folded(text: str) -> str:
    """``text`` in lower case with the characters of :data:`FOLDED_TO_ASCII` replaced first: an
    ASCII word found in it is where the word matches in any case, at the same position."""
    lowered = text
    if not text.isascii():
        for char, letter in FOLDED_TO_ASCII.items():
            lowered = lowered.replace(char, letter)
    return lowered.lower()


def occurrences(text: str, words: Iterable[str]) -> list[int]:
    """Every position in ``text`` where one of ``words`` starts, overlapping ones too, in
    order."""
    found: set[int] = set()
    for word in words:
        position = text.find(word)
        while position >= 0:
            found.add(position)
            position = text.find(word, position + 1)
    return sorted(found)


def matches_at(regex: re.Pattern[str], text: str, starts: Iterable[int]) -> Iterator[re.Match[str]]:
    """What ``regex.finditer(text)`` yields, for a pattern whose every match starts at one of
    ``starts`` (ascending): only those starts are tried."""
    done = 0
    for start in starts:
        if start < done:
            continue
        match = regex.match(text, start)
        if match is not None:
            yield match
            done = max(match.end(), start + 1)
