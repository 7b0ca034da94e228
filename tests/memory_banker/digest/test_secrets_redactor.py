"""The redactor on a held-out planted fixture (values drawn at random at test time), its false
positives on this repository's package code, and the files never read."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from memory_banker.digest.secrets import (
    OutgoingRedactor,
    is_secret_content,
    is_sensitive_path,
    redact,
    redact_counted,
    redaction_markers,
)
from tests.memory_banker.digest.planted import PlantedProject, make_planted_project, plant_bank

REPO = Path(__file__).resolve().parents[3]
PACKAGES = ("memory_banker", "token_tracking", "pricing")


@pytest.fixture
def planted(tmp_path: Path) -> PlantedProject:
    project = make_planted_project(tmp_path)
    names = ("projectbrief.md", "techContext.md", "systemPatterns.md", "productContext.md")
    plant_bank(project, dict.fromkeys(names, "# bank\n"))
    return project


def _planted_texts(project: PlantedProject) -> dict[str, str]:
    texts = {
        path.relative_to(project.root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(project.root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(project.root).parts
    }
    log = subprocess.run(["git", "log"], cwd=project.root, capture_output=True, text=True)
    texts["commit-messages.txt"] = log.stdout
    return texts


def test_the_planted_fixture_holds_80_secrets_of_35_kinds(planted: PlantedProject) -> None:
    assert len(planted.secrets) >= 80
    assert len(planted.kinds) >= 35
    assert {s.where for s in planted.secrets} >= {
        "app/settings.py", "config/app.yaml", "pyproject.toml", ".github/workflows/ci.yml",
        "Dockerfile", "README.md", "commit-message", "techContext.md",
    }  # fmt: skip


def test_no_planted_secret_survives_redaction(planted: PlantedProject) -> None:
    texts = _planted_texts(planted)
    assert any(s.leaks_into("\n".join(texts.values())) for s in planted.secrets)

    redacted = "\n".join(redact(text) for text in texts.values())

    leaked = [(s.kind, s.where) for s in planted.secrets if s.leaks_into(redacted)]
    assert leaked == [], f"seed {planted.seed}"
    assert all(s.marker in redacted for s in planted.secrets), f"seed {planted.seed}"


def test_detect_secrets_flags_nothing_in_the_redacted_files(
    planted: PlantedProject, tmp_path: Path
) -> None:
    """Each file keeps its name, so detect-secrets applies its rules for that file type."""
    folder = tmp_path / "redacted"
    names = []
    for name, text in _planted_texts(planted).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(redact(text), encoding="utf-8")
        names.append(str(path))
    collection = SecretsCollection()
    with default_settings():
        for name in names:
            collection.scan_file(name)
    assert collection.json() == {}, f"seed {planted.seed}"


def test_false_positives_on_package_code_are_at_most_one_per_2000_lines() -> None:
    lines = 0
    redactions = 0
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            lines += text.count("\n")
            redactions += sum(redact_counted(text).counts.values())
    assert lines > 10_000
    assert redactions * 2000 <= lines, f"{redactions} redactions in {lines} lines"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('password = "Tr0ub4dor&3xyz"', 'password = "[REDACTED:secret-assignment]"'),
        ("postgres://app:Pa55w0rdX@db/app", "postgres://app:[REDACTED:url-credentials]@db/app"),
        ("Authorization: Bearer abc123def456ghi", "Authorization: Bearer [REDACTED:authorization]"),
        ("AccountKey=Zm9vYmFyMTIz==;x", "AccountKey=[REDACTED:connection-string];x"),
        ("ENV DB_PASSWORD=Hq8sk2LmzQ", "ENV DB_PASSWORD=[REDACTED:secret-assignment]"),
        ("  - POSTGRES_PASSWORD=Hq8sk2Lm", "  - POSTGRES_PASSWORD=[REDACTED:secret-assignment]"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----",
         "[REDACTED:private-key]"),
    ],
)  # fmt: skip
def test_each_redaction_names_its_kind(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "def f(token=token, password=password): pass",
        "api_key: str | None = None",
        "max_tokens = 500",
        'tokenizer = "cl100k_base"',
        'TOKEN_ENV = "OPENAI_API_KEY"',
        'password = os.environ["DB_PASSWORD"]',
        "secret = get_secret()",
        "Bearer tokens are short-lived.",
        "risk-averse task-sk-planning",
    ],
)
def test_code_and_prose_are_not_redacted(text: str) -> None:
    excerpt = f"```python\n{text}\n```"
    assert redact(excerpt) == excerpt


def test_a_given_key_value_is_redacted_whatever_its_shape() -> None:
    assert redact("error: bad key plainvalue42", ["plainvalue42"]) == (
        "error: bad key [REDACTED:api-key]"
    )


def test_outgoing_redactor_counts_markers_once_per_distinct_text() -> None:
    redactor = OutgoingRedactor()
    system = 'SECRET_KEY = "x9Yq2LpW7zR4tK8m"'
    for message in ("one", "two", "one"):
        sent_system, _ = redactor.outgoing(system, message)
    assert sent_system == 'SECRET_KEY = "[REDACTED:secret-assignment]"'
    assert dict(redactor.counts) == {"secret-assignment": 1}
    assert redaction_markers(sent_system) == {"secret-assignment": 1}


@pytest.mark.parametrize(
    "path",
    [".envrc", "conf/.pgpass", ".git-credentials", ".htpasswd", "prod.tfvars", "app.keystore",
     "release.jks", "deploy/id_github", "id_work", ".env.local", "secrets.yaml"],
)  # fmt: skip
def test_secret_files_are_never_read(path: str) -> None:
    assert is_sensitive_path(path)


@pytest.mark.parametrize("path", ["identity.py", "src/id_map.py", "README.md", "envoy.yaml"])
def test_ordinary_files_are_read(path: str) -> None:
    assert not is_sensitive_path(path)


def test_secret_manifests_and_service_account_keys_are_recognised_by_content() -> None:
    assert is_secret_content(b"apiVersion: v1\nkind: Secret\ndata:\n  x: eQ==\n")
    assert is_secret_content(b'{"type": "service_account", "private_key": "..."}')
    assert not is_secret_content(b"apiVersion: v1\nkind: ConfigMap\n")
