"""The redactor's shortcuts (a pattern skipped for a text that lacks what every match holds,
secret-name patterns tried only near a secret word) give what the plain patterns give."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import pytest

from memory_banker.digest import secrets
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
]


def _plain(pattern: secrets._Pattern) -> secrets._Pattern:
    return dataclasses.replace(pattern, needs=None, named=False)


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
