"""No planted secret reaches a provider: init, update and refresh against the loopback fake, whose
recorded request bodies are checked for every secret and scanned with detect-secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from tests.memory_banker.digest.planted import PlantedProject, make_planted_project, plant_bank
from tests.support.cli import invoke
from tests.support.fake_provider import FakeProvider, RecordedRequest
from tests.support.generate import (
    AGENT_NAMES,
    FIRST_FOUR,
    TEST_KEY,
    bank_markdown,
    reports,
    script_bank,
    spec,
)

RESPONSES = ("--api", "responses", "--max-retries", "0")


def _env(fake: FakeProvider) -> dict[str, str | None]:
    return {"OPENAI_API_KEY": TEST_KEY, "OPENAI_BASE_URL": fake.openai_base_url}


def _texts(request: RecordedRequest) -> list[str]:
    """The system instructions and user messages of one Responses API request."""
    body = request.body
    texts = [body.get("instructions") or ""]
    items = body.get("input")
    if isinstance(items, str):
        texts.append(items)
    for item in items if isinstance(items, list) else []:
        content = item.get("content")
        if isinstance(content, str):
            texts.append(content)
        for part in content if isinstance(content, list) else []:
            texts.append(part.get("text", ""))
    return texts


def _detect_secrets_findings(folder: Path, documents: dict[str, str]) -> dict[str, object]:
    """Run detect-secrets (all plugins, default filters) over ``documents`` written as files."""
    folder.mkdir()
    for name, text in documents.items():
        (folder / name).write_text(text, encoding="utf-8")
    collection = SecretsCollection()
    with default_settings():
        for name in documents:
            collection.scan_file(str(folder / name))
    return collection.json()


@pytest.fixture
def planted(tmp_path: Path, fake_provider: FakeProvider) -> PlantedProject:
    """The planted project after init, update of the last round over planted bank files, and
    refresh, all against ``fake_provider``."""
    project = make_planted_project(tmp_path)
    env = _env(fake_provider)
    script_bank(fake_provider)
    assert invoke(project.root, "init", *RESPONSES, env=env).exit_code == 0
    plant_bank(project, {spec(name).file: bank_markdown(spec(name), "v2") for name in FIRST_FOUR})
    script_bank(fake_provider, names=AGENT_NAMES[4:], marker="v3")
    result = invoke(
        project.root, "update", "--agents", "activeContext,progress", *RESPONSES, env=env
    )
    assert result.exit_code == 0, result.stderr
    script_bank(fake_provider, marker="v4")
    assert invoke(project.root, "refresh", *RESPONSES, env=env).exit_code == 0
    return project


def test_no_planted_secret_is_in_any_request_body(
    planted: PlantedProject, fake_provider: FakeProvider
) -> None:
    requests = fake_provider.requests
    assert len(requests) == 6 + 2 + 6
    assert len(planted.secrets) >= 80 and len(planted.kinds) >= 35
    sent = "\n".join(request.raw + "\n".join(_texts(request)) for request in requests)
    leaked = [(s.kind, s.where) for s in planted.secrets if s.leaks_into(sent)]
    assert leaked == [], f"seed {planted.seed}"
    # The lines of source, manifests, CI, Dockerfiles, README, commits and bank files were sent
    # (their markers are there) with the secrets replaced; config files the digest does not
    # excerpt are covered by test_secrets_redactor.py.
    sent_kinds = {s.kind for s in planted.secrets if s.marker in sent}
    assert len(sent_kinds) >= 60, f"seed {planted.seed}: {planted.kinds - sent_kinds}"
    for where in ("README.md", "Dockerfile", ".github/workflows/ci.yml", "commit-message",
                  "requirements.txt", "techContext.md", "app/settings.py"):  # fmt: skip
        assert all(s.marker in sent for s in planted.secrets if s.where == where), where
    assert "[REDACTED:" in sent


def test_detect_secrets_flags_nothing_in_any_request_body(
    planted: PlantedProject, fake_provider: FakeProvider, tmp_path: Path
) -> None:
    documents: dict[str, str] = {}
    for number, request in enumerate(fake_provider.requests):
        documents[f"body{number}.json"] = request.raw
        for index, text in enumerate(_texts(request)):
            documents[f"body{number}_text{index}.txt"] = text

    findings = _detect_secrets_findings(tmp_path / "bodies", documents)

    assert findings == {}, f"seed {planted.seed}"


def test_each_report_counts_redactions_and_withheld_files(planted: PlantedProject) -> None:
    saved = [report for report in reports(planted.root) if report.source == "llm"]
    assert len(saved) == 3
    for report in saved:
        summary = json.loads(report.model_dump_json())["digest"]
        assert summary["withheld_file_count"] >= 0
        assert sum(summary["redactions"].values()) > 0
        assert all(isinstance(count, int) for count in summary["redactions"].values())
