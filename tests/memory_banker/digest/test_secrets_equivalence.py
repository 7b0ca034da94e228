"""The redactor's detect-secrets pass gives what a plain reference gives, byte for byte.

The reference is the straightforward scan kept here: every line tested with every pattern of the
plugins (:func:`secrets._plugin_patterns`), detect-secrets' default settings entered for each
text, the eager transformers asked through ``get_transformed_file``. The redactor skips lines it
has seen, gates each pattern on the strings its every match holds, keeps the default settings
entered and skips the INI transformer for a text configparser rejects; both must redact every
corpus text to the same text and counts.
"""

from __future__ import annotations

import functools
import io
import random
import re
import string
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from detect_secrets.core.scan import _process_line_based_plugins
from detect_secrets.plugins.keyword import (
    QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
)
from detect_secrets.settings import default_settings, get_plugins
from detect_secrets.transformers import get_transformed_file, get_transformers
from detect_secrets.transformers.base import BaseTransformer
from detect_secrets.transformers.config import EagerConfigFileTransformer

from memory_banker.digest import needles, secrets
from tests.memory_banker.digest.planted import make_planted_project, plant_bank

REPO = Path(__file__).resolve().parents[3]
Scan = Callable[[str], Iterator[tuple[str, str]]]


def _reference_scanner() -> Scan:
    """The scan as written before its shortcuts: the same lines handed to detect-secrets."""
    with default_settings():
        patterns = secrets._plugin_patterns(get_plugins())
    clean: set[str] = set()

    @functools.cache
    def candidate(line: str) -> bool:
        return any(pattern.search(line) for pattern in patterns)

    def found_in(lines: list[str], *, remember: bool) -> list[tuple[str, str]]:
        numbered: list[tuple[int, str]] = []
        previous = -2
        for index, line in enumerate(lines):
            if candidate(line.rstrip()) and not (remember and line in clean):
                if numbered and index != previous + 1:
                    numbered.append((len(numbered) + 1, ""))
                numbered.append((len(numbered) + 1, line))
                previous = index
        if not numbered:
            return []
        found: list[tuple[str, str]] = []
        flagged: set[int] = set()
        for secret in _process_line_based_plugins(lines=numbered, filename="digest.txt"):
            flagged.add(secret.line_number)
            if secret.secret_value:
                kind = secrets._DETECT_SECRETS_KINDS.get(secret.type, "detected-secret")
                found.append((kind, secret.secret_value))
        if remember:
            clean.update(line for number, line in numbered if number not in flagged)
        return found

    def scan(text: str) -> Iterator[tuple[str, str]]:
        with default_settings():
            found = found_in(text.split("\n"), remember=True)
            if not found:
                handle = io.StringIO(text)
                handle.name = "digest.txt"
                eager = get_transformed_file(handle, use_eager_transformers=True)  # type: ignore[arg-type]
                found = found_in(eager, remember=False) if eager else []
        yield from found

    return scan


_Memo = dict[tuple[str, int], tuple[str, Counter[str]]]


def _redactions(
    texts: Sequence[str], scan: Scan, memo: _Memo, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, dict[str, int]]]:
    """Each text's redaction (text and counts) with ``scan`` as the detect-secrets scan, on empty
    caches (no cache folder, no line seen). The pattern pass before it, the same code for both
    scans, is run once per text and pattern (``memo``)."""
    real = secrets._replace

    def replace(text: str, pattern: secrets._Pattern, counts: Counter[str]) -> str:
        key = (text, id(pattern))
        if key not in memo:
            found: Counter[str] = Counter()
            memo[key] = (real(text, pattern, found), found)
        replaced, found = memo[key]
        counts.update(found)
        return replaced

    with monkeypatch.context() as patch:
        patch.setattr(secrets, "_replace", replace)
        patch.setattr(secrets, "_SCAN", scan)
        patch.setattr(secrets, "_RESULTS", {})
        patch.setattr(secrets, "_CLEAN_LINES", set())
        patch.setattr(secrets, "_PLAIN_LINES", set())
        patch.setattr(secrets, "_cache_state", {"folder": None})
        done = [secrets.redact_counted(text) for text in texts]
        # Sent again (the outgoing requests), and as one text (the digest).
        done += [secrets.redact_counted(text) for text in texts[::7]]
        done.append(secrets.redact_counted("\n".join(texts[:40])))
    return [(item.text, item.counts) for item in done]


def _assert_same(texts: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    secrets._scanner()
    scan = secrets._SCAN
    assert scan is not None
    memo: _Memo = {}
    expected = _redactions(texts, _reference_scanner(), memo, monkeypatch)
    actual = _redactions(texts, scan, memo, monkeypatch)
    assert len(actual) == len(expected)
    for (text, counts), (want_text, want_counts) in zip(actual, expected, strict=True):
        assert counts == want_counts
        assert text == want_text
    return sum(sum(counts.values()) for _, counts in expected)


def _chunks(text: str, rng: random.Random) -> Iterator[str]:
    """``text`` cut the way the digest cuts excerpts: runs of a few dozen to a few hundred lines."""
    lines = text.split("\n")
    start = 0
    while start < len(lines):
        size = rng.choice((12, 40, 120, 300))
        yield "\n".join(lines[start : start + size])
        start += size


# --- generated lines -----------------------------------------------------------------------------

_ALNUM = string.ascii_letters + string.digits
_HEX = "0123456789abcdef"


def _generated(seed: int) -> list[str]:
    """Texts mixing ordinary code with a line of each kind of secret detect-secrets knows, in .py,
    .yaml, .ini and .env styles, beside non-ASCII lines, allowlist comments and INI-only texts."""
    rng = random.Random(seed)

    def s(alphabet: str, n: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(n))

    upper = string.ascii_uppercase + string.digits
    b64 = _ALNUM + "+/"
    values = [
        "AKIA" + s(upper, 16),
        "ASIA" + s(upper, 16),
        "A3T" + s(upper, 17),
        "ghp_" + s(_ALNUM, 36),
        "gho_" + s(_ALNUM, 36),
        "glpat-" + s(_ALNUM + "_-", 20),
        "glcbt-" + s(_ALNUM, 24),
        "GR1348941" + s(_ALNUM, 20),
        f"xoxb-{s(string.digits, 11)}-{s(string.digits, 12)}-{s(_ALNUM.lower(), 24)}",
        f"https://hooks.slack.com/services/T{s(upper, 8)}/B{s(upper, 8)}/{s(_ALNUM, 24)}",
        "sk_live_" + s(_ALNUM, 24),
        "rk_live_" + s(_ALNUM, 24),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ" + s(_ALNUM, 20) + "." + s(_ALNUM + "-_", 43),
        "AC" + s(_HEX, 32),
        "SK" + s(_HEX, 32),
        s(_HEX, 32) + "-us" + str(rng.randint(1, 20)),
        "SG." + s(_ALNUM, 22) + "." + s(_ALNUM, 43),
        s("MNO", 1) + s(_ALNUM, 23) + "." + s(_ALNUM, 6) + "." + s(_ALNUM, 27),
        f"{rng.randint(10**7, 10**9)}:{s(_ALNUM, 35)}",
        "sk-" + s(_ALNUM, 20) + "T3BlbkFJ" + s(_ALNUM, 20),
        "pypi-AgEIcHlwaS5vcmc" + s(_ALNUM, 70),
        "sq0csp-" + s(_ALNUM, 43),
        "AKC" + s(_ALNUM, 12),
        "AP" + s("ABCDEF", 1) + s(_ALNUM, 10),
        s(b64, 40),
        s(_HEX, 40),
        s(_ALNUM, 18) + s(string.digits, 2),
        f"{rng.randint(11, 99)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
    ]
    templates = [
        'value_{i} = "{v}"',
        "token_{i}: {v}",
        "  password: '{v}'",
        "API_KEY_{i}={v}",
        "export SECRET_{i}={v}",
        "db_pass_{i} = {v}",
        'headers = {{"Authorization": "Bearer {v}"}}',
        'const apiKey{i} = "{v}";',
        "if secret_{i} == '{v}':",
        "aws_secret_access_key_{i} = '{v}'",
        "ibm_cloud_iam_key_{i} = '{v}'",
        "cloudant_password_{i}: '{v}'",
        "softlayer_api_key_{i} = '{v}'",
        "secret_access_key_{i} = '{v}'",
        "url = 'postgres://user{i}:{v}@db.example.com/app'",
        "//registry.npmjs.org/:_authToken=npm_{v}",
        "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + s(b64, 86) + "==",
        "# pragma: allowlist nextline secret",
        "pa\u017fsword_{i} = '{v}'",
        "\u212aey_{i} = '{v}'  # caf\u00e9",
        "contrase\u00f1a_{i} = '{v}'",
        "-----BEGIN RSA PRIVATE KEY-----",
        "{v}\r",
    ]
    code = (REPO / "memory_banker" / "digest" / "build.py").read_text(encoding="utf-8")
    ordinary = [line for line in code.splitlines() if line.strip()]
    texts = []
    for index in range(30):
        lines = rng.sample(ordinary, 12)
        for _ in range(12):
            value = rng.choice(values)
            line = rng.choice(templates).format(i=index, v=value)
            lines.insert(rng.randrange(len(lines) + 1), line)
        texts.append("\n".join(lines))
    for index in range(10):  # INI-like: every line an option, so the eager transformer runs
        pairs = [f"setting_{n} = {rng.choice(values)}" for n in range(rng.randint(1, 6))]
        pairs += [f"name_{n}: plain words" for n in range(rng.randint(0, 3))]
        rng.shuffle(pairs)
        texts.append(("[section]\n" if index % 2 else "") + "\n".join(pairs))
    texts.append("\n".join(values))
    return texts


# --- the corpora ---------------------------------------------------------------------------------


_SOURCE_FOLDERS = ("memory_banker", "token_tracking", "pricing", "tests", "benchmarks", "docs")


def _repository_texts(shard: int) -> list[str]:
    """This repository's files (its source folders and top-level files, every third from
    ``shard``), cut in chunks; found without git, which refuses a checkout another user owns."""
    listed = [path for path in REPO.iterdir() if path.is_file()]
    for folder in _SOURCE_FOLDERS:
        listed += [path for path in (REPO / folder).rglob("*") if path.is_file()]
    rng = random.Random(22)
    texts: list[str] = []
    for path in sorted(p for p in listed if "__pycache__" not in p.parts)[shard::3]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # binary files are never read into a digest
        texts.extend(_chunks(text, rng))
    return texts


@pytest.mark.parametrize("shard", [0, 1, 2])
def test_the_repository_redacts_as_the_reference_does(
    shard: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = _repository_texts(shard)
    assert len(texts) > 150
    _assert_same(texts, monkeypatch)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_planted_projects_redact_as_the_reference_does(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_planted_project(tmp_path, seed=seed)
    plant_bank(project, {"techContext.md": "# Tech\n", "activeContext.md": "# Active\n"})
    rng = random.Random(seed)
    texts = []
    for path in sorted(project.root.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(project.root).parts:
            text = path.read_text(encoding="utf-8")
            texts += [text, *_chunks(text, rng)]
    texts += [f"{item.marker} {item.value}" for item in project.secrets]

    assert _assert_same(texts, monkeypatch) > 80


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_secrets_redact_as_the_reference_does(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _assert_same(_generated(seed), monkeypatch) > 100


def test_the_eager_transformer_is_the_only_one_for_a_text_file() -> None:
    """The scan calls the INI transformer itself, as ``get_transformed_file`` picks it."""
    every: list[BaseTransformer] = list(get_transformers())
    eager = [item for item in every if item.is_eager and item.should_parse_file("digest.txt")]
    assert [type(item) for item in eager] == [EagerConfigFileTransformer]


@pytest.mark.parametrize(
    "text",
    [
        "a = 1\nb: 2",
        "a = 1\nplain words",
        "[s]\nkey = value\n  continued line\n# comment\n; comment\n\nother = x",
        "  indented words\nkey = 1",
        "key = 1\n\tindented words",
        "[link](https://example.com)\nkey = value",
        "=value\nkey = 1",
        "words\r\nkey = 1",
        "key = 1\n\u3000full-width space",
        "only words",
        "",
    ],
)
def test_a_text_the_ini_parser_rejects_is_never_transformed(text: str) -> None:
    handle = io.StringIO(text)
    handle.name = "digest.txt"
    with default_settings():
        lines = get_transformed_file(handle, use_eager_transformers=True)  # type: ignore[arg-type]
    if secrets._NOT_INI.search(text) is not None:
        assert lines is None


def test_the_needles_of_a_pattern_are_in_every_match() -> None:
    cases = {
        r"AKIA[0-9A-Z]{16}": {("AKIA", False)},
        r"(?i)api_?key": {("api_key", True), ("apikey", True)},
        r"(?:ghp|gho)_x": {("ghp_x", False), ("gho_x", False)},
        r"a(?i:b)c": None,
        r"x\.?y+": None,
        r"(?=abc)\w+": {("abc", False)},
        r"\d+": None,
        r"ab.cd": {("ab", False)},
        r"x(?:ab|cd){2}": {("xabab", False), ("xabcd", False), ("xcdab", False), ("xcdcd", False)},
        r"[^a]bc": {("bc", False)},
    }
    for source, expected in cases.items():
        found = needles.needles(re.compile(source))
        if expected is None:
            assert found is None or min(len(word) for word, _ in found) <= 1, source
        else:
            assert found == frozenset(expected), source


def test_folded_needles_leave_lines_beyond_ascii_to_the_patterns() -> None:
    """``(?i)s`` matches the long s and ``(?i)k`` the Kelvin sign: such lines meet every pattern."""
    gate = needles.CandidateLines([re.compile(r"(?i)secret_key = '\w{8}'")])
    assert gate.which(["\u017fecret_\u212aey = 'abcdefgh'", "secret_KEY = 'abcdefgh'", "no"]) == [
        True,
        True,
        False,
    ]


@pytest.mark.parametrize("seed", [1, 2])
def test_every_match_holds_one_of_its_patterns_needles(seed: int, tmp_path: Path) -> None:
    """On the lines the generated and planted secrets sit on, each plugin pattern's match."""
    project = make_planted_project(tmp_path, seed=seed)
    lines = [line for text in _generated(seed) for line in text.split("\n")]
    lines += [
        line
        for path in sorted(project.root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(project.root).parts
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    lines = [line for line in lines if line.isascii()]
    with default_settings():
        patterns = [p for plugin in get_plugins() for p in getattr(plugin, "denylist", ())]
    patterns += list(QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
    matched = 0
    for pattern in patterns:
        held = needles.needles(pattern)
        for line in lines:
            if held and pattern.search(line):
                matched += 1
                assert any(
                    (word in line.lower()) if fold else (word in line) for word, fold in held
                )
    assert matched > 100


def test_no_random_text_the_ini_parser_reads_is_taken_for_rejected() -> None:
    rng = random.Random(5)
    alphabet = ["a", "b", " ", "\t", "#", ";", "[", "]", "=", ":", "\r", "\u3000", "\n", "\n"]
    parsed = 0
    with default_settings():
        for _ in range(3000):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
            handle = io.StringIO(text)
            handle.name = "digest.txt"
            lines = get_transformed_file(handle, use_eager_transformers=True)  # type: ignore[arg-type]
            if lines is not None:
                parsed += 1
                assert secrets._NOT_INI.search(text) is None, repr(text)
    assert parsed > 100
