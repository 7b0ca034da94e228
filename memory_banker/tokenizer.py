"""Offline token counting: tiktoken's ``o200k_base`` encoding, read from the files LiteLLM ships.

tiktoken downloads its encoding files on first use and caches them under ``TIKTOKEN_CACHE_DIR``,
each named by the SHA-1 of its download URL. LiteLLM bundles exactly those cache files
(``fb374d41…`` is ``o200k_base``, ``9b5ad71b…`` is ``cl100k_base``) in
``litellm/litellm_core_utils/tokenizers/``. Pointing ``TIKTOKEN_CACHE_DIR`` there before tiktoken
loads an encoding makes counting work with no network. The folder is found with
``importlib.util.find_spec`` so that litellm itself, which takes about 2 s to import, is never
imported.

The same counts serve the context-digest budget, the offline engine's usage figures and
``estimate``, so the three agree with one another exactly.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

import tiktoken

from memory_banker.errors import TokenizerUnavailableError

ENCODING_NAME = "o200k_base"
"""The encoding of the GPT-4o family, used for every model (an estimate for other providers)."""

_ENCODING_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"

MESSAGE_OVERHEAD = 4
"""Tokens a chat message costs beyond its text: the start marker, the role, the separator and the
end marker of OpenAI's chat framing. A prompt of a system and a user message therefore counts
``count_tokens(system) + count_tokens(user) + 2 * MESSAGE_OVERHEAD``. Fixed and documented so that
``estimate`` and a test that tokenizes what a provider received arrive at the same number."""


def _bundled_tokenizer_dir() -> Path:
    """Return LiteLLM's folder of tiktoken cache files, without importing litellm."""
    spec = importlib.util.find_spec("litellm")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise TokenizerUnavailableError("litellm is not installed: its tokenizer files are needed")
    return Path(locations[0]) / "litellm_core_utils" / "tokenizers"


_LOAD_LOCK = threading.Lock()


@cache
def _encoding() -> Any:
    with _LOAD_LOCK:
        return _load_encoding()


def _load_encoding() -> Any:
    folder = _bundled_tokenizer_dir()
    cache_name = hashlib.sha1(_ENCODING_URL.encode()).hexdigest()
    if not (folder / cache_name).is_file():
        raise TokenizerUnavailableError(
            f"the {ENCODING_NAME} tokenizer file {cache_name} is missing from {folder}"
        )
    # tiktoken reads the variable when it loads an encoding (not at import), so it is set for the
    # load only: a cache folder the user chose may lack the file, and then tiktoken would download.
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
    try:
        return tiktoken.get_encoding(ENCODING_NAME)
    finally:
        if previous is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous


def count_tokens(text: str) -> int:
    """Return the number of ``o200k_base`` tokens in ``text``.

    Special-token strings such as ``<|endoftext|>`` are counted as plain text, never rejected.
    Raises ``TokenizerUnavailableError`` when LiteLLM's bundled encoding file is missing.
    """
    if not text:
        return 0
    return len(_encoding().encode(text, disallowed_special=()))


def truncate_to_tokens(text: str, limit: int) -> str:
    """Return the longest prefix of ``text`` that encodes to at most ``limit`` tokens.

    The result is re-checked, because decoding a token prefix can split a multi-byte character.
    """
    if limit <= 0:
        return ""
    encoding = _encoding()
    tokens = encoding.encode(text, disallowed_special=())
    if len(tokens) <= limit:
        return text
    keep = limit
    while keep > 0:
        candidate: str = encoding.decode(tokens[:keep])
        if count_tokens(candidate) <= limit:
            return candidate
        keep -= 1
    return ""


def count_prompt_tokens(system: str, user: str) -> int:
    """Return the prompt tokens of a request made of one system and one user message.

    Each message adds ``MESSAGE_OVERHEAD`` framing tokens to its text's count.
    """
    return count_tokens(system) + count_tokens(user) + 2 * MESSAGE_OVERHEAD
