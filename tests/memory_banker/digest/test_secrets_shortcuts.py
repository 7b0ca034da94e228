"""The redactor's shortcuts (a pattern skipped for a text that lacks what every match holds,
secret-name patterns tried only near a secret word) give what the plain patterns give."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path

import pytest

from memory_banker.digest import needles, secrets
from tests.memory_banker.digest import planted

TEXTS = [
    'password = "hunter2-correct"\nAPI_KEY: AbCdEf123456\n',
    "export DB_PASSWORD=s3cr3tValue9\nENV SECRET_KEY=abcDEF123456\n",
    "self.token = get_token()\nmax_tokens = 4096\ntokenizer = load()\n",
    "x.api-key: 'zzz99zzzQQ'\n<passwd>abc123XYZ</passwd>\n",
    "auth = 'Bearer abcdefGHIJ1234'\nAuthorization: token ghp_abcdefghijklmnop1234\n",
    "postgres://user:pa55word@db.example.com/app\nsk-ant-abcdefghijklmnopqrstuv1234\n",
    "\u017fecret = 'abcDEF123456'\npa\u017fsword: value12345\n",  # the long s folds to s
    "a" * 50 + "_secret = 'abcDEF123456'\n",  # a name longer than 40 characters
    "no secrets here, just code()\n",
    # Connection strings: each setting word in any case, after a separator or inside a word.
    "Server=db;Password=pa55word;AccountKey=Zm9vYmFy;SharedAccessSignature=sv=2020&sig=abcd1234\n"
    "x?client_secret=xyz987&ACCESS_TOKEN=tok123&refresh_token=r1;api-key=k9;APIKEY=k8\n"
    "PA\u017fSWORD=val123 mypassword=nope Pwd=\u212aey42 sharedaccesskey=zz99 secret=(x)\n",
    # Twilio keys: after a letter (left alone), after a separator, upper-case hex (left alone).
    "sid=AC" + "0123456789abcdef" * 2 + " xAC" + "0123456789abcdef" * 2 + " SK" + "A" * 32 + "\n",
]


def _plain(pattern: secrets._Pattern) -> secrets._Pattern:
    return dataclasses.replace(pattern, needs=None, starts=None)


def _files() -> list[str]:
    here = Path(__file__).resolve().parent
    return [path.read_text(encoding="utf-8") for path in sorted(here.glob("*.py"))] + [
        Path(planted.__file__).read_text(encoding="utf-8")
    ]


@pytest.mark.parametrize("text", TEXTS + _files())
def test_each_pattern_replaces_what_the_plain_pattern_replaces(text: str) -> None:
    for pattern in secrets._PATTERNS:
        fast: Counter[str] = Counter()
        plain: Counter[str] = Counter()
        assert secrets._replace(text, pattern, fast) == secrets._replace(
            text, _plain(pattern), plain
        )
        assert fast == plain


def test_secret_words_beyond_ascii_start_where_the_pattern_finds_them() -> None:
    every_start = re.compile(f"(?=(?i:{secrets._SECRET_WORD}))")
    texts = [
        *TEXTS,
        "\u0130\u0130 pa\u017f\u017fword \u212aey api_\u212aEY \u0131 \u0130token s\u0131gning_key",
        "caf\u00e9 \U0001f600 secret \u5bc6\u7801 password=\u00e9t\u00e9 \u017fecret_\u212aey",
        "\u0130" * 30 + "secret" + "\u0131" * 3 + "AUTH_KEY \u00dfpassword",
    ]
    for text in texts:
        assert secrets._secret_word_starts(text) == [m.start() for m in every_start.finditer(text)]


def test_only_the_listed_characters_beyond_ascii_match_an_ascii_letter_in_any_case() -> None:
    """Every other character lowers to one character beyond ASCII, so positions stay aligned."""
    beyond = "".join(map(chr, range(0x80, 0x110000)))
    folding = {match[0] for match in re.finditer("(?i)[a-z]", beyond)}
    table = needles.FOLDED_TO_ASCII
    assert folding == set(table)
    assert all(re.fullmatch(f"(?i){letter}", char) for char, letter in table.items())
    lowered = beyond.translate(str.maketrans(table)).lower()
    assert len(lowered) == len(beyond)
    assert sum(char.isascii() for char in lowered) == len(table)
