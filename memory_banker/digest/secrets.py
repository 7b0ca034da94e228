"""What is never read, and the one redactor of everything that leaves the machine.

- **Never read**: ``.env*`` and ``.envrc`` files, private keys (``id_rsa``, ``id_*`` files without
  an extension, ``*.pem``, ``*.key``, ``*.p12`` …), keystores (``*.jks``, ``*.keystore``),
  certificates, Terraform variables (``*.tfvars``) and credential files (``credentials*``,
  ``.netrc``, ``.npmrc``, ``.pypirc``, ``.pgpass``, ``.git-credentials``, ``.htpasswd``,
  ``secrets.*`` …), matched on the file name; Kubernetes ``Secret`` manifests and service-account
  JSON, recognised by content (:func:`is_secret_content`).
- **Redacted**: :func:`redact` replaces every secret it finds with ``[REDACTED:<kind>]``: what
  detect-secrets flags, credentials in URLs of any scheme, connection-string secrets
  (``Password=``, ``AccountKey=``, ``SharedAccessSignature``, ``sig=``), ``Authorization``
  credentials, values assigned to password-, secret-, token- or key-named settings in code and
  config files, the known token shapes and PEM/PGP blocks. :func:`redact_counted` also counts the
  redactions by kind.
- **Sent**: an :class:`OutgoingRedactor` redacts each text a run sends to a provider right before
  it is sent (the one place texts leave the machine) and counts the markers in what it sent.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import fnmatch
import hashlib
import io
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from memory_banker.digest.needles import CandidateLines, folded, matches_at, occurrences
from memory_banker.digest.paths import file_name, file_suffix
from pricing.installed import distribution_version
from token_tracking.files import write_cache_file
from token_tracking.settings import cache_dir

_SECRET_EXACT_NAMES = frozenset(
    {
        "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk",
        ".netrc", "_netrc", ".npmrc", ".pypirc", ".git-credentials", ".htpasswd", ".pgpass",
        ".dockercfg", "kubeconfig", ".boto", ".s3cfg", "known_hosts", "authorized_keys",
        ".envrc",
    }
)  # fmt: skip
_SECRET_EXTENSIONS = frozenset(
    {
        ".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".ppk", ".crt", ".cer", ".der",
        ".csr", ".p7b", ".p7c", ".gpg", ".pgp", ".asc", ".kdbx", ".tfvars", ".tfstate",
    }
)  # fmt: skip
_SECRET_GLOBS = (
    ".env*",
    "*.env",
    "credentials*",
    "secrets.*",
    "secret.*",
    "*.secret",
    "*.secrets",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "service-account*.json",
    "client_secret*.json",
    "*.tfstate.*",
    "*.tfvars.json",
)
_SECRET_GLOB_RE = re.compile("|".join(fnmatch.translate(glob) for glob in _SECRET_GLOBS))


_MARKER = re.compile(r"\[REDACTED:([a-z0-9-]+)\]")

# Recognised by content: a Kubernetes Secret manifest, a Google service-account key.
_SECRET_CONTENT = re.compile(
    rb"""^\s*kind:\s*["']?Secret["']?\s*$|"private_key"\s*:|"type"\s*:\s*"service_account\"""",
    re.MULTILINE,
)


def is_sensitive_path(path: str) -> bool:
    """Return True when ``path`` names a file the digest must never read or list.

    Covers ``.env*``, private keys (and ``id_*`` files without an extension), certificates,
    keystores and credential files (matched on the file name, case-insensitively).
    """
    name = file_name(path).lower()
    if name in _SECRET_EXACT_NAMES or file_suffix(name) in _SECRET_EXTENSIONS:
        return True
    if name.startswith("id_") and "." not in name:
        return True
    return _SECRET_GLOB_RE.match(name) is not None


def is_secret_content(data: bytes) -> bool:
    """Return True when ``data`` is a Kubernetes ``Secret`` manifest or a service-account key."""
    # Each form holds one of these words; the pattern, without a literal prefix, is slow.
    if not any(word in data for word in (b"Secret", b'"private_key"', b"service_account")):
        return False
    return _SECRET_CONTENT.search(data) is not None


# --- patterns ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    kind: str
    regex: re.Pattern[str]
    group: int | str = 0
    """The group replaced (0: the whole match)."""
    keep: Callable[[re.Match[str]], bool] | None = None
    """Return True to leave a match alone (a placeholder, code rather than a value)."""
    needs: Callable[[str], object] | None = None
    """False for a text the pattern cannot match (it lacks a text every match holds): a quick
    test that spares the search."""
    starts: Callable[[str], Iterable[int]] | None = None
    """Where in a text every match starts (and maybe other places): only those starts are
    tried, and the matches are the ones ``finditer`` finds. A pattern that opens with a
    look-behind gets no fast scan from the regex engine; a list of starts found with
    ``str.find`` makes up for it."""


def _p(
    kind: str,
    regex: str,
    group: int | str = 0,
    keep: Callable[[re.Match[str]], bool] | None = None,
    needs: Callable[[str], object] | None = None,
    starts: Callable[[str], Iterable[int]] | None = None,
) -> _Pattern:
    return _Pattern(kind, re.compile(regex), group, keep, needs, starts)


def _any(*texts: str) -> Callable[[str], bool]:
    """A test for a text holding one of ``texts``."""
    return lambda text: any(part in text for part in texts)


def _any_folded(*words: str) -> Callable[[str], object]:
    """A test for a text holding one of ``words`` in any case (as ``(?i:…)`` matches them)."""
    return re.compile("|".join(map(re.escape, words)), re.IGNORECASE).search


# A token starts where a word starts, so ``risk-averse`` or ``task-sk-…`` stays readable.
_W = r"(?<![A-Za-z0-9_\-])"
_E = r"(?![A-Za-z0-9_])"

_SECRET_WORD = (
    r"(?:passw(?:or)?d|passphrase|pwd|secret|token|api[_.-]?key|access[_.-]?key"
    r"|private[_.-]?key|auth[_.-]?key|signing[_.-]?key|encryption[_.-]?key|master[_.-]?key"
    r"|account[_.-]?key|credentials?|webhook[_.-]?url|dsn)"
)
_SECRET_WORD_SEARCH = re.compile(_SECRET_WORD, re.IGNORECASE).search
# A secret-named setting: the word may have a prefix (``DB_PASSWORD``, ``dbPassword``) and a
# suffix after a separator or a capital (``SECRET_KEY``, ``secretKey``), never a lower-case one,
# so ``tokenizer`` and ``max_tokens`` are not secret names.
_NAME = (
    rf"[A-Za-z0-9_.\-]{{0,40}}?(?i:{_SECRET_WORD})"
    r"(?:[_.\-][A-Za-z0-9_.\-]{0,40}|[A-Z][a-z][A-Za-z0-9_.\-]{0,40})?"
)

_PLACEHOLDER = re.compile(
    r"""^(?:<[^>]*>|\$\{[^}]*\}|\{\{.*\}\}|\$\(.*\)|\$[A-Za-z_][A-Za-z0-9_]*|%\(.*\)s|%s|\{[^}]*\}
    |\*+|x+|X+|\.\.\.|…|null|none|None|nil|true|false|True|False|changeme|your[_-].*|example.*
    |[0-9.*_+eE\-]+|[a-z]+(?:[-_][a-z]+)*
    |\[REDACTED.*)$""",
    re.VERBOSE,
)
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# snake_case, PascalCase, camelCase or UPPER_CASE without digits: a name in code, where a random
# value mixes cases and digits.
_CODE_NAME = re.compile(
    r"^(?:[a-z_][a-z_]*|[A-Z][a-z]+(?:[A-Z][a-z]+)*|[a-z]+(?:[A-Z][a-z]+)+|[A-Z][A-Z_]*)$"
)
_TYPE_NAMES = frozenset({"str", "int", "bytes", "bool", "float", "string", "number", "boolean"})
_ENV_LINE = re.compile(r"^\s*(?:-\s+|export\s+|ENV\s+|ARG\s+|set\s+|setx\s+)")


def _plain_value(value: str) -> bool:
    """Return True when ``value`` is not worth redacting: a placeholder, a reference, too short."""
    value = value.strip()
    if len(value) < 4 or _PLACEHOLDER.match(value) or _ENV_NAME.match(value):
        return True
    if _DOTTED.match(value) and not any(char.isdigit() for char in value):
        return True  # settings.SECRET_KEY, os.environ, self.token
    return " " in value


def _line_around(match: re.Match[str]) -> tuple[str, str]:
    text = match.string
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return text[start : match.start()], text[match.end() : len(text) if end == -1 else end]


def _keep_quoted(match: re.Match[str]) -> bool:
    return _plain_value(match.group("value"))


def _keep_bare(match: re.Match[str]) -> bool:
    """Leave unquoted code alone: ``token = get_token()``, ``password: str``, ``key=key``."""
    value = match.group("value")
    if _plain_value(value) or value.split("[", 1)[0] in _TYPE_NAMES:
        return True
    before, after = _line_around(match)
    if not any(char in match.group("op") for char in ":=") and not (
        before.lstrip().startswith(("ENV ", "ARG ")) or match[0].startswith("-")
    ):
        return True  # ``NAME value`` only in a Dockerfile ``ENV`` or a ``--password value``
    if after[:1] in ("(", "[", "|", ".") or value.endswith((",", ")", ":", "(", "]")):
        return True
    if _CODE_NAME.match(value):
        # A name as code spells it is a variable (``secret = secret_value``) unless the line is an
        # environment assignment (``export DB_PASSWORD=hunter``, ``ENV PASSWORD=x``,
        # ``- POSTGRES_PASSWORD=x``) or a YAML value ending its line (``password: hunter``).
        env = _ENV_LINE.match(before) is not None or (
            before.strip() == "" and "=" in match[0] and " " not in match[0]
        )
        yaml_value = ":" in match.group("op") and after.strip() in ("", "#")
        return not (env or yaml_value)
    return False


def _keep_connection(match: re.Match[str]) -> bool:
    value = match.group("value")
    if _plain_value(value):
        return True
    _, after = _line_around(match)
    return _IDENTIFIER.match(value) is not None and after[:1] in (",", ")", "")


def _keep_auth(match: re.Match[str]) -> bool:
    value = match.group("value")
    return value.isalpha() and (value.islower() or value.istitle())


_QUOTED_VALUE = r"""[bBrRuUf]?(?P<q>["'`])(?P<value>[^"'`\n\r]*?)(?P=q)"""
_BARE_VALUE = r"""(?P<value>[^\s"'`#;,<>{}()\[\]]+[^\s"'`#;<>{}()\[\]]*)"""

_CONNECTION_WORDS = ("password", "pwd", "accountkey", "sharedaccess", "sig", "client_secret",
                     "access_token", "refresh_token", "api", "secret")  # fmt: skip
"""A connection-string setting starts with one of these words, in any case."""

# Ordered: the specific token shapes first, so each is named by its own kind.
_PATTERNS: tuple[_Pattern, ...] = (
    _p(
        "private-key",
        r"-----BEGIN[ A-Z0-9]*(?:PRIVATE KEY|PRIVATE KEY BLOCK|MESSAGE|SIGNATURE|"
        r"OPENSSH[ A-Z]*)-----(?:(?s:.{0,20000}?)-----END[ A-Z0-9]*-----"
        r"|[A-Za-z0-9+/=\s\\:,.\-\"']*)",
        needs=_any("-----BEGIN"),
    ),
    _p(
        "slack-webhook",
        r"https://hooks\.slack\.com/[A-Za-z0-9_/\-]+",
        needs=_any("https://hooks.slack.com/"),
    ),
    _p(
        "discord-webhook",
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\S+",
        needs=_any("/api/webhooks/"),
    ),
    _p("anthropic-key", _W + r"sk-ant-[A-Za-z0-9_\-]{20,}", needs=_any("sk-ant-")),
    _p("openai-key", _W + r"sk-[A-Za-z0-9_\-]{6,}", needs=_any("sk-")),
    _p(
        "stripe-key",
        _W + r"(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}",
        needs=_any("_live_", "_test_"),
    ),
    _p("stripe-webhook-secret", _W + r"whsec_[A-Za-z0-9]{20,}", needs=_any("whsec_")),
    _p(
        "aws-access-key-id",
        r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{12,}",
        needs=_any("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"),
    ),
    _p(
        "github-token",
        _W + r"(?:gh[pousr]_[A-Za-z0-9]{12,}|github_pat_[A-Za-z0-9_]{20,})",
        needs=_any("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    _p(
        "gitlab-token",
        _W + r"gl(?:pat|dt|ptt|rt|cbt)-[A-Za-z0-9_\-]{20,}",
        needs=_any("glpat-", "gldt-", "glptt-", "glrt-", "glcbt-"),
    ),
    _p(
        "slack-token",
        _W + r"(?:xox[abposer]-[A-Za-z0-9\-]{10,}|xapp-\d-[A-Za-z0-9\-]{10,})",
        needs=_any("xox", "xapp-"),
    ),
    _p("google-api-key", _W + r"AIza[0-9A-Za-z_\-]{35}", needs=_any("AIza")),
    _p("huggingface-token", _W + r"hf_[A-Za-z0-9]{30,}", needs=_any("hf_")),
    _p("npm-token", _W + r"npm_[A-Za-z0-9]{36}", needs=_any("npm_")),
    _p("pypi-token", _W + r"pypi-[A-Za-z0-9_\-]{40,}", needs=_any("pypi-")),
    _p("sendgrid-key", _W + r"SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{30,64}", needs=_any("SG.")),
    _p(
        "twilio-key",
        _W + r"(?:AC|SK)[0-9a-f]{32}" + _E,
        needs=_any("AC", "SK"),
        starts=lambda text: occurrences(text, ("AC", "SK")),
    ),
    _p("telegram-bot-token", _W + r"\d{8,10}:AA[A-Za-z0-9_\-]{33}" + _E, needs=_any(":AA")),
    _p(
        "jwt",
        _W + r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        needs=_any("eyJ"),
    ),
    _p("mailchimp-key", _W + r"[0-9a-f]{32}-us\d{1,2}" + _E, needs=_any("-us")),
    _p(
        "square-token", _W + r"sq0(?:atp|csp)-[A-Za-z0-9_\-]{22,}", needs=_any("sq0atp-", "sq0csp-")
    ),
    _p("digitalocean-token", _W + r"do[opr]_v1_[a-f0-9]{64}", needs=_any("_v1_")),
    _p(
        "shopify-token",
        _W + r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}",
        needs=_any("shpat_", "shpss_", "shpca_", "shppa_"),
    ),
    _p("databricks-token", _W + r"dapi[a-f0-9]{32}" + _E, needs=_any("dapi")),
    _p("age-secret-key", _W + r"AGE-SECRET-KEY-1[0-9A-Z]{58}", needs=_any("AGE-SECRET-KEY-1")),
    # user:password@ in a URL of any scheme (postgres://, mongodb+srv://, https://__token__:…).
    _p(
        "url-credentials",
        r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s:/?#@\[\]\"'<>]*:(?P<value>[^\s/?#@\"'<>]+)@",
        group="value",
        keep=lambda m: _PLACEHOLDER.match(m.group("value")) is not None,
        needs=_any("://"),
    ),
    _p(
        "connection-string",
        r"(?i)(?<![A-Za-z0-9_])(?:password|pwd|accountkey|sharedaccesskey|sharedaccesssignature"
        r"|sig|client_secret|access_token|refresh_token|api[_-]?key|secret)=(?P<value>[^;&\s\"'<>(),\[\]]+)",
        group="value",
        keep=_keep_connection,
        starts=lambda text: occurrences(folded(text), _CONNECTION_WORDS),
    ),
    _p(
        "authorization",
        r"(?<![A-Za-z0-9])(?i:Bearer|Basic)\s+(?P<value>[A-Za-z0-9._~+/\-]{6,}=*)",
        group="value",
        keep=_keep_auth,
        needs=_any_folded("bearer", "basic"),
    ),
    _p(
        "authorization",
        r"(?<![\w:\-])(?i:Authorization)[\"']?\s*[:=]\s*[\"']?(?:(?i:token|apikey|key|sso-key)\s+)?"
        r"(?P<value>[A-Za-z0-9._~+/\-]{8,}=*)",
        group="value",
        keep=_keep_auth,
        needs=_any_folded("authorization"),
    ),
    # <password>…</password> in XML.
    _p(
        "secret-assignment",
        rf"<(?P<tag>{_NAME})>(?P<value>[^<\s]+)</(?P=tag)>",
        group="value",
        keep=lambda m: _plain_value(m.group("value")),
        needs=_any("</"),
    ),
    # NAME = "value", NAME: 'value', "NAME": "value", NAME => "value", --password "value".
    _p(
        "secret-assignment",
        rf"""(?<![A-Za-z0-9_])["']?{_NAME}["']?(?:\s*:\s*[A-Za-z_][\w.\[\], |]{{0,40}}?(?=\s*=))?"""
        r"""\s*(?:=>|:=|==|[:=]|\s)\s*""" + _QUOTED_VALUE,
        group="value",
        keep=_keep_quoted,
        needs=_SECRET_WORD_SEARCH,
        starts=lambda text: _name_starts(text),
    ),
    # Unquoted: YAML/TOML/INI/properties/.env, Dockerfile ENV/ARG, compose, shell export.
    _p(
        "secret-assignment",
        rf"""(?<![A-Za-z0-9_.\-]){_NAME}(?P<op>[ \t]*[:=][ \t]*|[ \t]+(?=\S))""" + _BARE_VALUE,
        group="value",
        keep=_keep_bare,
        needs=_SECRET_WORD_SEARCH,
        starts=lambda text: _name_starts(text),
    ),
)

# detect-secrets' names of what it flags -> the kind written into the placeholder.
_DETECT_SECRETS_KINDS = {
    "Secret Keyword": "secret-assignment",
    "Base64 High Entropy String": "high-entropy-string",
    "Hex High Entropy String": "high-entropy-string",
    "Basic Auth Credentials": "url-credentials",
    "AWS Access Key": "aws-access-key-id",
    "JSON Web Token": "jwt",
    "Private Key": "private-key",
    "Azure Storage Account access key": "connection-string",
}


def _replace(text: str, pattern: _Pattern, counts: Counter[str]) -> str:
    if pattern.needs is not None and not pattern.needs(text):
        return text
    out: list[str] = []
    last = 0
    matches = (
        pattern.regex.finditer(text)
        if pattern.starts is None
        else matches_at(pattern.regex, text, pattern.starts(text))
    )
    for match in matches:
        if pattern.keep is not None and pattern.keep(match):
            continue
        start, end = match.span(pattern.group)
        if start < last or start == end:
            continue
        out.append(text[last:start])
        out.append(f"[REDACTED:{pattern.kind}]")
        counts[pattern.kind] += 1
        last = end
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


_SECRET_WORD_AT = re.compile(_SECRET_WORD, re.IGNORECASE).match
# Each secret word in lower case starts with one of these (``api_key`` and the other ``*key``
# words with theirs, ``passwd``, ``password`` and ``passphrase`` with ``pass``).
_SECRET_STEMS = ("pass", "pwd", "secret", "token", "api", "access", "private", "auth", "signing",
                 "encryption", "master", "account", "credential", "webhook", "dsn")  # fmt: skip
_WORD_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_NAME_CHARACTERS = _WORD_CHARACTERS | {".", "-"}


def _secret_word_starts(text: str) -> list[int]:
    """Where a secret word starts in ``text``, in any case, overlapping ones too: each start of a
    stem in the folded text (:func:`~memory_banker.digest.needles.folded`), kept when the word
    matches there."""
    return [
        position
        for position in occurrences(folded(text), _SECRET_STEMS)
        if _SECRET_WORD_AT(text, position)
    ]


def _name_starts(text: str) -> list[int]:
    """Where a secret-named setting may start: after a character that is not a letter, digit
    or underscore, with at most one quote (or ``<``) and 40 name characters before a secret
    word. The two secret-assignment patterns ask in turn about the same text: the last
    answer is kept for it."""
    last = _LAST_NAME_STARTS[0]
    if last[0] is text:
        return last[1]
    starts: set[int] = set()
    for position in _secret_word_starts(text):
        first = position
        while first > 0 and position - first < 40 and text[first - 1] in _NAME_CHARACTERS:
            first -= 1
        for start in range(max(first - 1, 0), position + 1):
            if start == 0 or text[start - 1] not in _WORD_CHARACTERS:
                starts.add(start)
    found = sorted(starts)
    _LAST_NAME_STARTS[0] = (text, found)
    return found


_LAST_NAME_STARTS: list[tuple[str | None, list[int]]] = [(None, [])]


# --- detect-secrets ------------------------------------------------------------------------------


def _scanner() -> Callable[[str], Iterator[tuple[str, str]]]:
    """Return a function yielding (kind, value) for what detect-secrets flags in a text, scanned
    the way ``detect-secrets scan`` scans a text file: its lines, then, when they flag nothing,
    the lines its eager transformer makes of it (a text that parses as INI).

    Only the lines its plugins could flag are handed to detect-secrets: a line none of the
    plugins' own patterns matches (:func:`_candidate_test`) yields nothing from any of them.
    detect-secrets' default settings are entered once and kept while nothing else changes them
    (entering them busts every filter cache); a text is scanned under exactly those settings."""
    global _SCAN
    if _SCAN is not None:
        return _SCAN
    # Lazy: detect-secrets costs ~0.2 s to import, paid only when a digest is sent or shown.
    from detect_secrets.core.scan import _process_line_based_plugins
    from detect_secrets.settings import Settings, default_settings, get_plugins, get_settings
    from detect_secrets.transformers.config import EagerConfigFileTransformer
    from detect_secrets.transformers.exceptions import ParsingError

    current = get_settings()
    if not current.plugins and current.filters == Settings().filters:  # nobody configured them
        _KEPT.append(default_settings())
        _KEPT[0].__enter__()
        atexit.register(_KEPT[0].__exit__, None, None, None)  # not left to a generator's close
    with contextlib.nullcontext(get_settings()) if _KEPT else default_settings() as settings:
        defaults = (settings.json(), copy.deepcopy(settings.filters))
        candidate = _candidate_test(get_plugins())
    eager = EagerConfigFileTransformer()

    def found_in(lines: list[str], *, remember: bool) -> list[tuple[str, str]]:
        tested = [
            index
            for index, line in enumerate(lines)
            if line not in _PLAIN_LINES and not (remember and line in _CLEAN_LINES)
        ]
        numbered: list[tuple[int, str]] = []
        previous = -2
        for index, flag in zip(
            tested, candidate.which([lines[i].rstrip() for i in tested]), strict=True
        ):
            line = lines[index]
            if not flag:
                _PLAIN_LINES.add(line)
                continue
            if numbered and index != previous + 1:
                # An empty line where lines were left out: a line never becomes the next
                # line of one it did not follow (an "allowlist nextline" comment).
                numbered.append((len(numbered) + 1, ""))
            numbered.append((len(numbered) + 1, line))
            previous = index
        if len(_PLAIN_LINES) > _PLAIN_LINES_LIMIT:
            _PLAIN_LINES.clear()
        if not numbered:
            return []
        found: list[tuple[str, str]] = []
        flagged: set[int] = set()
        for secret in _process_line_based_plugins(lines=numbered, filename=_SCAN_NAME):
            flagged.add(secret.line_number)
            if secret.secret_value:
                kind = _DETECT_SECRETS_KINDS.get(secret.type, "detected-secret")
                found.append((kind, secret.secret_value))
        if remember:
            if len(_CLEAN_LINES) > _CLEAN_LINES_LIMIT:
                _CLEAN_LINES.clear()
            _CLEAN_LINES.update(line for number, line in numbered if number not in flagged)
        return found

    def transformed(text: str) -> list[str]:
        """The lines detect-secrets' eager transformer makes of ``text`` (the only one for a
        ``.txt`` file), none for a text the INI parser rejects (:data:`_NOT_INI`)."""
        if _NOT_INI.search(text) is not None:
            return []
        handle = io.StringIO(text)
        handle.name = _SCAN_NAME
        try:
            return eager.parse_file(handle)  # type: ignore[arg-type]
        except ParsingError:
            return []

    def scan(text: str) -> Iterator[tuple[str, str]]:
        current = get_settings()
        kept = (current.json(), current.filters) == defaults
        with contextlib.nullcontext() if kept else default_settings():
            found = found_in(text.split("\n"), remember=True)
            if not found:
                lines = transformed(text)
                found = found_in(lines, remember=False) if lines else []
        yield from found

    _SCAN = scan
    return scan


# A line configparser rejects, so the eager transformer yields nothing for a text holding one:
# not indented (no continuation), not a comment (``#``, ``;``) or section (``[``), no ``=``/``:``.
_NOT_INI = re.compile(r"^[^\s#;\[=:][^\n=:]*$", re.MULTILINE)


def _candidate_test(plugins: Sequence[object]) -> CandidateLines:
    """Return a test that is False only for a line none of ``plugins`` can flag (one none of
    :func:`_plugin_patterns` matches)."""
    return CandidateLines(_plugin_patterns(plugins))


def _plugin_patterns(plugins: Sequence[object]) -> list[re.Pattern[str]]:
    """The patterns one of which matches every line one of ``plugins`` can flag.

    Each plugin reports a value only where one of its own patterns matches the line: a
    regex-based plugin's denylist, the keyword plugin's patterns for the scanned file's type, a
    high-entropy plugin's quoted-string pattern with at least the length its entropy limit needs
    (a string of n characters has an entropy of at most log2(n)). A plugin of another kind gets
    a pattern that matches every line."""
    # Lazy, as in _scanner: detect-secrets is imported only when a text is redacted.
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
    from detect_secrets.plugins.keyword import (
        QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
        REGEX_BY_FILETYPE,
        KeywordDetector,
    )
    from detect_secrets.util.filetype import determine_file_type

    patterns: list[re.Pattern[str]] = []
    for plugin in plugins:
        if isinstance(plugin, RegexBasedDetector):
            patterns.extend(plugin.denylist)
        elif isinstance(plugin, HighEntropyStringsPlugin):
            shortest = math.floor(2**plugin.entropy_limit) + 1
            charset = re.escape(plugin.charset)
            patterns.append(re.compile(rf"""(['"])([{charset}]{{{shortest},}})(\1)"""))
        elif isinstance(plugin, KeywordDetector) and plugin.keyword_exclude is None:
            table = REGEX_BY_FILETYPE.get(
                determine_file_type(_SCAN_NAME), QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP
            )
            patterns.extend(table)
        else:
            patterns.append(re.compile(""))  # matches every line
    return patterns


_SCAN_NAME = "digest.txt"
_SCAN: Callable[[str], Iterator[tuple[str, str]]] | None = None
_KEPT: list[AbstractContextManager[object]] = []
"""detect-secrets' default settings, entered for the process."""

# Lines detect-secrets flagged nothing in: the digest's file excerpts are scanned when the digest
# is built and again, unchanged, in the texts sent; each line is scanned once per process.
_CLEAN_LINES: set[str] = set()
_CLEAN_LINES_LIMIT = 500_000
# Lines no plugin pattern matches, never handed to detect-secrets (looked up before any search).
_PLAIN_LINES: set[str] = set()
_PLAIN_LINES_LIMIT = 100_000


def _as_in_text(value: str, text: str) -> str | None:
    """Return ``value`` as it is written in ``text``: a value flagged in the lines detect-secrets'
    transformers made may carry their escapes (``\\"``, a trailing ``\\``)."""
    for candidate in (value, value.replace('\\"', '"'), value.rstrip("\\"), value.strip()):
        if candidate and candidate in text:
            return candidate
    return None


def _detect_secrets_pass(text: str, counts: Counter[str]) -> str:
    """Replace what detect-secrets still flags in ``text``, until it flags nothing (≤ 3 passes)."""
    scan = _scanner()
    for _ in range(3):
        found = list(scan(text))
        if not found:
            break
        # Longest first, so a value that contains another is replaced whole.
        for kind, flagged in sorted(set(found), key=lambda item: -len(item[1])):
            value = _as_in_text(flagged, text)
            if value is not None:
                counts[kind] += text.count(value)
                text = text.replace(value, f"[REDACTED:{kind}]")
    return text


# --- the redactor --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Redacted:
    """A text with its secrets replaced, and how many of each kind were replaced."""

    text: str
    """The text as sent: each secret replaced by ``[REDACTED:<kind>]``."""
    counts: dict[str, int]
    """Redactions made by this call, by kind."""


def redact_counted(text: str, secrets: Sequence[str] = ()) -> Redacted:
    """Return ``text`` with every secret replaced by ``[REDACTED:<kind>]``, counted by kind.

    ``secrets`` are exact values to replace too (the run's API keys; empty strings are ignored).
    The result of the patterns and detect-secrets is cached by the text's content hash (in this
    process and under the user cache folder), so an unchanged text is scanned once.
    """
    counts: Counter[str] = Counter()
    for secret in secrets:
        if secret and secret in text:
            counts["api-key"] += text.count(secret)
            text = text.replace(secret, "[REDACTED:api-key]")
    done = _RESULTS.get(text)
    if done is None:
        done = _load(text)
        if done is None:
            found: Counter[str] = Counter()
            redacted = text
            for pattern in _PATTERNS:
                redacted = _replace(redacted, pattern, found)
            redacted = _detect_secrets_pass(redacted, found)
            done = Redacted(redacted, dict(found))
            _store(text, done)
        if len(_RESULTS) > _RESULTS_LIMIT:
            _RESULTS.clear()
        _RESULTS[text] = done
    counts.update(done.counts)
    return Redacted(done.text, dict(counts))


# --- the cache of redacted texts -----------------------------------------------------------------

_RESULTS: dict[str, Redacted] = {}
_RESULTS_LIMIT = 20_000
_cache_state: dict[str, object] = {}


def _cache_entry(text: str) -> Path | None:
    """The cache file of ``text``'s redaction, named by a hash of the text, this module's source
    and the detect-secrets version (a change to either makes a new name); None when the cache
    folder is unknown."""
    if "folder" not in _cache_state:
        try:
            source = Path(__file__).read_bytes()
        except OSError:
            source = None
        version = distribution_version("detect-secrets")
        if source is None or version is None:
            _cache_state["folder"] = None
            return None
        _cache_state["folder"] = cache_dir() / "redacted"
        _cache_state["salt"] = hashlib.sha256(source + version.encode()).digest()
    folder = _cache_state["folder"]
    if not isinstance(folder, Path):
        return None
    salt = _cache_state["salt"]
    assert isinstance(salt, bytes)
    key = hashlib.sha256(salt + text.encode("utf-8", errors="surrogatepass")).hexdigest()
    return folder / key[:2] / f"{key[2:]}.json"


def _load(text: str) -> Redacted | None:
    entry = _cache_entry(text)
    if entry is None:
        return None
    try:
        raw = json.loads(entry.read_text(encoding="utf-8"))
        counts = {str(kind): int(count) for kind, count in raw["counts"].items()}
        return Redacted(str(raw["text"]), counts)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _store(text: str, done: Redacted) -> None:
    entry = _cache_entry(text)
    if entry is None:
        return
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        write_cache_file(entry, json.dumps({"text": done.text, "counts": done.counts}))
    except OSError:
        pass  # a cache that cannot be written only costs a scan next time


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """Return ``text`` with every secret replaced by ``[REDACTED:<kind>]`` (see
    :func:`redact_counted`)."""
    return redact_counted(text, secrets).text


def redaction_markers(text: str) -> dict[str, int]:
    """Return how many ``[REDACTED:<kind>]`` markers ``text`` holds, by kind."""
    return dict(Counter(match.group(1) for match in _MARKER.finditer(text)))


class OutgoingRedactor:
    """The redaction of everything one run sends to a provider, and its count by kind.

    Each distinct text is redacted once (the six agents share one system text); ``counts`` holds
    the ``[REDACTED:<kind>]`` markers in the texts sent, whether this redactor or the digest put
    them there.
    """

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        """``secrets``: exact values never to send (the run's API keys)."""
        self._secrets = tuple(secret for secret in secrets if secret)
        self._sent: dict[str, str] = {}
        self.counts: Counter[str] = Counter()
        """Redaction markers in the distinct texts sent so far, by kind."""

    def outgoing(self, instructions: str, message: str) -> tuple[str, str]:
        """Return the system ``instructions`` and user ``message`` of one request as sent."""
        return self._redact(instructions), self._redact(message)

    def _redact(self, text: str) -> str:
        if text not in self._sent:
            redacted = redact(text, self._secrets)
            self._sent[text] = redacted
            self.counts.update(redaction_markers(redacted))
        return self._sent[text]
