"""What is never read, and the one redactor of key-like strings in the code base.

- **Never read**: ``.env*`` files, private keys (``id_rsa`` …, ``*.pem``, ``*.key``, ``*.p12``,
  ``*.pfx`` …), certificates and credential files (``credentials*``, ``.netrc``, ``.npmrc``,
  ``.pypirc``, ``secrets.*`` …). The digest does not open them and leaves their names out of the
  tree and the git facts; it only says how many were withheld.
- **Redacted**: :func:`redact` replaces the given secret values and every string that looks like
  a key — ``sk-…``, ``AKIA…``/``ASIA…``, ``ghp_…``/``github_pat_…``, ``xox…-`` Slack tokens,
  ``AIza…`` Google keys, ``Bearer …`` credentials and whole PEM blocks — with ``[REDACTED]``.
  The digest applies it to everything it reads; the pipeline to every error text it reports.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

from memory_banker.digest.paths import file_name, file_suffix

_SECRET_EXACT_NAMES = frozenset(
    {
        "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk",
        ".netrc", "_netrc", ".npmrc", ".pypirc", ".git-credentials", ".htpasswd", ".pgpass",
        ".dockercfg", "kubeconfig", ".boto", ".s3cfg", "known_hosts", "authorized_keys",
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
)
REDACTED = "[REDACTED]"
"""What a secret or key-like string is replaced with."""

_SECRET_GLOB_RE = re.compile("|".join(fnmatch.translate(glob) for glob in _SECRET_GLOBS))

# A key starts where a word starts (no letter or digit right before it), so ``risk-averse`` or
# ``task-sk-…`` in prose stays readable.
_REDACTIONS = (
    re.compile(r"-----BEGIN [A-Z0-9 ]*-----.*?(?:-----END [A-Z0-9 ]*-----|\Z)", re.DOTALL),
    re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{6,}"),
    re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{12,}"),
    re.compile(r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{12,}"),
    re.compile(r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"(?<![A-Za-z0-9])xox[abprse]-[A-Za-z0-9-]{10,}"),
    re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}"),
    # The credential of an ``Authorization: Bearer`` header: RFC 6750 token characters, or a given
    # secret already replaced (so the header reads ``[REDACTED]`` whatever the key looked like).
    re.compile(r"(?<![A-Za-z0-9])Bearer\s+(?:\[REDACTED\]|[A-Za-z0-9._~+/\-]+=*)"),
)


def is_sensitive_path(path: str) -> bool:
    """Return True when ``path`` names a file the digest must never read or list.

    Covers ``.env*``, private keys, certificates and credential files (matched on the file name,
    case-insensitively).
    """
    name = file_name(path).lower()
    if name in _SECRET_EXACT_NAMES or file_suffix(name) in _SECRET_EXTENSIONS:
        return True
    return _SECRET_GLOB_RE.match(name) is not None


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """Return ``text`` with each of ``secrets`` and every key-like string or PEM block replaced by
    ``[REDACTED]``; empty strings in ``secrets`` are ignored."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    for pattern in _REDACTIONS:
        text = pattern.sub(REDACTED, text)
    return text
