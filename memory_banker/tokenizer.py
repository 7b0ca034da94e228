"""Offline token counting: tiktoken's ``o200k_base`` encoding, read from the files LiteLLM ships.

tiktoken downloads its encoding files on first use and caches them, each named by the SHA-1 of
its download URL. LiteLLM bundles exactly those cache files (``fb374d41…`` is ``o200k_base``,
``9b5ad71b…`` is ``cl100k_base``) in ``litellm/litellm_core_utils/tokenizers/``; the encoding is
built from that file (its SHA-256 checked) with tiktoken's own pattern and special tokens, with no
network. The folder is found with ``importlib.util.find_spec`` so that litellm itself, which takes
about 2 s to import, is never imported. The encoding is loaded once per process, on the first
count that is not cached.

The same counts serve the context-digest budget, the offline engine's usage figures and
``estimate``, so the three agree with one another exactly. Counts (and truncation points) are
kept by a hash of the text under the user cache folder, so a text counted once is not encoded
again, and a run whose texts were all counted before never loads the encoding.
"""

from __future__ import annotations

import atexit
import binascii
import hashlib
import importlib.util
import itertools
import json
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from memory_banker.errors import TokenizerUnavailableError
from token_tracking.files import write_cache_file
from token_tracking.settings import cache_dir

ENCODING_NAME = "o200k_base"
"""The encoding of the GPT-4o family, used for every model (an estimate for other providers)."""

_ENCODING_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
_ENCODING_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
"""The SHA-256 of the ``o200k_base`` file, whose lines list the ranks 0, 1, 2, ... in order."""

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
    path = folder / cache_name
    if not path.is_file():
        raise TokenizerUnavailableError(
            f"the {ENCODING_NAME} tokenizer file {cache_name} is missing from {folder}"
        )
    # Imported on first load: a run whose counts are all cached never needs it.
    import tiktoken
    from tiktoken_ext import openai_public  # type: ignore[import-untyped]

    original = openai_public.load_tiktoken_bpe

    def load_ranks(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        """tiktoken's ``load_tiktoken_bpe`` for the bundled file, with no network and the same
        ranks: one ``a2b_base64`` per line instead of ``base64.b64decode`` (half the load)."""
        if url != _ENCODING_URL:  # another encoding, loaded meanwhile by another thread
            return original(url, expected_hash)  # type: ignore[no-any-return]
        data = path.read_bytes()
        if expected_hash is not None and hashlib.sha256(data).hexdigest() != expected_hash:
            raise TokenizerUnavailableError(f"the {ENCODING_NAME} tokenizer file is damaged")
        fields = data.split()
        if len(fields) % 2:
            raise TokenizerUnavailableError(f"the {ENCODING_NAME} tokenizer file is damaged")
        tokens = map(binascii.a2b_base64, fields[0::2])
        if expected_hash == _ENCODING_SHA256:  # the file checked above: its ranks are 0, 1, 2, ...
            return dict(zip(tokens, range(len(fields) // 2), strict=True))
        return dict(zip(tokens, map(int, fields[1::2]), strict=True))

    # tiktoken's own constructor gives the pattern and special tokens; only its file loader is
    # replaced, for the call, by one that reads the bundled file.
    openai_public.load_tiktoken_bpe = load_ranks
    try:
        params = openai_public.o200k_base()
    finally:
        openai_public.load_tiktoken_bpe = original
    return tiktoken.Encoding(**params)


def count_tokens(text: str) -> int:
    """Return the number of ``o200k_base`` tokens in ``text``.

    Special-token strings such as ``<|endoftext|>`` are counted as plain text, never rejected.
    Raises ``TokenizerUnavailableError`` when LiteLLM's bundled encoding file is missing (and the
    count is not cached).

    A text that ends with a long text counted in this process, after a boundary where counts
    add up (:func:`splits_at`), is counted as its beginning plus that text's count: a prompt
    made of instructions and a digest encodes only the instructions.
    """
    if not text:
        return 0
    known = _known()
    key = _key(text)
    count = known.get(key)
    if count is None:
        count = _count_after_known_tail(text)
        if count is None:
            count = len(_encoding().encode(text, disallowed_special=()))
        _remember(key, count)
        _remember_long(text, count)
    return count


def splits_at(before: str, after: str) -> bool:
    """Whether ``count_tokens(before + after)`` is ``count_tokens(before) +
    count_tokens(after)`` by the encoding's rules: True when ``before`` ends with a newline and
    ``after`` starts with neither white space nor ``/``.

    The encoding splits a text into pieces with a pattern that looks behind nowhere, and encodes
    each piece apart. Scanning ``before + after``, the pieces of ``before`` come out unchanged
    and the last one ends at the join: its final newline either closes a run of white space,
    which the next character does not continue and the pattern takes whole up to its last line
    break, or ends the ``[\\r\\n/]*`` tail of a run of punctuation, which a character that is
    neither ``/`` nor a line break does not continue (no letter or digit piece holds a line
    break). The scan then goes on from the join exactly as a scan of ``after`` alone. Python's
    ``str.isspace`` holds for every character the pattern's ``\\s`` matches, so the test errs
    only toward False.
    """
    return before.endswith("\n") and bool(after) and not after[0].isspace() and after[0] != "/"


def count_joined(parts: Sequence[str]) -> int:
    """Return ``count_tokens("".join(parts))`` from the parts' counts where they add up
    (:func:`splits_at`), counting the parts joined at any other boundary together; the joined
    text's count is remembered, as :func:`count_tokens` remembers it."""
    pieces = [part for part in parts if part]
    if not pieces:
        return 0
    key = _key(whole := "".join(pieces))
    count = _known().get(key)
    if count is not None:
        return count
    count = 0
    run = [pieces[0]]
    for before, after in itertools.pairwise(pieces):
        if splits_at(before, after):
            count += count_tokens("".join(run))
            run = []
        run.append(after)
    count += count_tokens("".join(run))
    _remember(key, count)
    _remember_long(whole, count)
    return count


_LONG_TEXT = 4096
"""Texts at least this long are kept (a few at a time) as known tails of later texts."""
_LONG_KEPT = 4
_long_texts: list[tuple[str, int]] = []
"""The last long texts counted in this process, with their counts, newest first."""


def _remember_long(text: str, count: int) -> None:
    if len(text) >= _LONG_TEXT:
        with _cache_lock:
            _long_texts.insert(0, (text, count))
            del _long_texts[_LONG_KEPT:]


def _count_after_known_tail(text: str) -> int | None:
    """The count of ``text`` when it ends with a long text counted before, after a boundary
    where counts add up; None otherwise."""
    with _cache_lock:
        kept = list(_long_texts)
    for tail, tail_count in kept:
        start = len(text) - len(tail)
        if start > 0 and text.endswith(tail) and splits_at(text[:start], tail):
            return count_tokens(text[:start]) + tail_count
    return None


def truncate_to_tokens(text: str, limit: int) -> str:
    """Return the longest prefix of ``text`` that encodes to at most ``limit`` tokens.

    The result is re-checked, because decoding a token prefix can split a multi-byte character.
    """
    if limit <= 0:
        return ""
    key = f"{limit}:{_key(text)}"
    length = _known().get(key)
    if length is not None and 0 <= length <= len(text):
        return text[:length]
    result = _truncate(text, limit)
    _remember(key, len(result))
    return result


def _truncate(text: str, limit: int) -> str:
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


# --- the cache of counts -------------------------------------------------------------------------

_CACHE_LIMIT = 50_000
"""Entries kept at most; past it the file starts again from this process's entries."""
_cache_lock = threading.Lock()
_cache: dict[str, int] | None = None
_added: dict[str, int] = {}


def _key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def _cache_file() -> Path:
    return cache_dir() / f"token-counts-{ENCODING_NAME}.json"


def _known() -> dict[str, int]:
    """The cached counts (read from the cache file on first use; empty when it is unreadable)."""
    global _cache
    if _cache is None:
        with _cache_lock:
            if _cache is None:
                try:
                    raw = json.loads(_cache_file().read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    raw = {}
                loaded = raw if isinstance(raw, dict) else {}
                _cache = {k: v for k, v in loaded.items() if type(v) is int and v >= 0}
    return _cache


def _remember(key: str, count: int) -> None:
    with _cache_lock:
        if not _added:
            atexit.register(_save)
        _added[key] = count
        known = _cache if _cache is not None else {}
        known[key] = count


def _save() -> None:
    """Write the cache file with this process's new counts; a cache that cannot be written is
    skipped."""
    with _cache_lock:
        if not _added:
            return
        try:
            raw = json.loads(_cache_file().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        merged = raw if isinstance(raw, dict) and len(raw) < _CACHE_LIMIT else {}
        merged.update(_added)
        _added.clear()
        try:
            _cache_file().parent.mkdir(parents=True, exist_ok=True)
            write_cache_file(_cache_file(), json.dumps(merged, separators=(",", ":")))
        except OSError:
            pass  # a cache that cannot be written only costs an encoding next time


def count_prompt_tokens(system: str, user: str) -> int:
    """Return the prompt tokens of a request made of one system and one user message.

    Each message adds ``MESSAGE_OVERHEAD`` framing tokens to its text's count.
    """
    return count_tokens(system) + count_tokens(user) + 2 * MESSAGE_OVERHEAD
