"""The offline tokenizer builds ``o200k_base`` with the ranks its file lists."""

from __future__ import annotations

import base64
import hashlib

from memory_banker import tokenizer


def test_the_encoding_has_the_ranks_written_in_its_file() -> None:
    name = hashlib.sha1(tokenizer._ENCODING_URL.encode()).hexdigest()
    data = (tokenizer._bundled_tokenizer_dir() / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == tokenizer._ENCODING_SHA256
    written = {}
    for line in data.splitlines():
        token, rank = line.split()
        written[base64.b64decode(token)] = int(rank)

    assert tokenizer._encoding()._mergeable_ranks == written
