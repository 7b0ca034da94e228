"""The offline writers on hand-made facts: module map, relationships, commands, conventions,
markers, recent changes by area, absences that say what was checked, and each figure once."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from memory_banker.digest.facts import (
    Command,
    Commit,
    Dependency,
    FolderStat,
    GitFacts,
    LanguageStat,
    Marker,
    ModuleMap,
    ProjectFacts,
    Symbol,
)
from memory_banker.offline.writers import render_offline
from memory_banker.specs import AGENT_SPECS, missing_sections, spec_by_name


def module(
    path: str,
    doc: str,
    imports: tuple[str, ...] = (),
    symbols: tuple[Symbol, ...] = (),
    category: str = "source",
) -> ModuleMap:
    return ModuleMap(
        path=path,
        language="Python",
        category=category,
        doc=doc,
        symbols=symbols,
        imports=imports,
        score=0.0,
        lines=10,
    )


MODULES = (
    module(
        "shop/models.py",
        "Data models of the shop.",
        symbols=(
            Symbol("class", "Order", "class Order", 5, "One customer order."),
            Symbol("method", "Order.total", "def total(self)", 9, "Sum of the lines."),
            Symbol("function", "_helper", "def _helper()", 20),
        ),
    ),
    module(
        "shop/api/routes.py",
        "HTTP routes of the shop",
        imports=("shop/models.py", "shop/store.py"),
        symbols=(Symbol("function", "create_order", "def create_order(body)", 3, "POST /orders"),),
    ),
    module(
        "shop/store.py",
        "Persistence of orders.",
        imports=("shop/models.py",),
        symbols=(Symbol("class", "Store", "class Store", 4, "Keeps orders in SQLite."),),
    ),
    module("shop/cli.py", "Command line entry point.", imports=("shop/api/routes.py",)),
    module("tests/test_store.py", "", imports=("shop/store.py",), category="test"),
)

FACTS = ProjectFacts(
    name="shop",
    description="A tiny web shop",
    languages=(
        LanguageStat("Python", 4, 120, True),
        LanguageStat("HTML", 3, 400, False),
        LanguageStat("Markdown", 1, 20, False),
    ),
    top_folders=(
        FolderStat(".", 3, 40, ()),
        FolderStat("shop", 4, 100, ("Python",)),
        FolderStat("tests", 1, 20, ("Python",)),
    ),
    entry_points=("console script `shop` -> `shop.cli:main` (pyproject.toml)",),
    dependencies=(
        Dependency("flask", ">=3", "setup.cfg", "runtime"),
        Dependency("ruff", "", "requirements-dev.txt", "dev"),
    ),
    manifests=("pyproject.toml", "setup.cfg", "requirements-dev.txt", "README.md"),
    test_files=("tests/test_store.py",),
    test_frameworks=("pytest",),
    runtimes=("Python >=3.10 (setup.cfg)",),
    ci=(".github/workflows/ci.yml (CI)",),
    todo_count=1,
    fixme_count=1,
    todo_files=(("shop/store.py", 2),),
    readme="Shop sells things over HTTP and keeps its orders in SQLite.",
    git=GitFacts(
        branch="main",
        commits=(
            Commit("a1", "Ann", "2026-02-03", "store: keep orders in SQLite", ("shop/store.py",)),
            Commit(
                "b2",
                "Bob",
                "2026-02-02",
                "api: add the orders route",
                ("shop/api/routes.py", "setup.cfg"),
            ),
            Commit("c3", "Ann", "2026-02-01", "docs: usage", ("README.md",)),
        ),
        total_commits=57,
        authors=(("Ann", 40), ("Bob", 17)),
        status=(" M shop/store.py",),
        recent_authors=(("Ann", 2), ("Bob", 1)),
        head_date="2026-02-03",
    ),
    summary="A tiny web shop.",
    summary_source="setup.cfg",
    commands=(
        Command("test", "pytest", "[tool.pytest] in pyproject.toml"),
        Command("lint", "ruff check .", ".github/workflows/ci.yml (CI step)"),
    ),
    test_evidence=("pytest: [tool.pytest] in pyproject.toml",),
    modules=MODULES,
    markers=(
        Marker("shop/store.py", 12, "TODO", "close the connection on exit"),
        Marker("shop/api/routes.py", 30, "FIXME", "validate the body"),
    ),
    changelog="CHANGES.rst\nVersion 1.2.0\n-------------\n\n- Orders are stored in SQLite.",
    doc_titles=(("docs/usage.md", "Using the shop"),),
    manifest_notes=(
        "pyproject.toml: tool settings only (no [project] table)",
        "setup.cfg: package metadata, 1 dependency",
        "requirements-dev.txt: 1 dependency",
    ),
)
FILES = ("pyproject.toml", "setup.cfg", ".editorconfig", "shop/store.py", "docs/usage.md")


@pytest.fixture
def bank() -> dict[str, str]:
    return {spec.name: render_offline(spec, FACTS, FILES) for spec in AGENT_SPECS}


def section(text: str, name: str) -> str:
    return text.split(f"## {name}\n\n", 1)[1].split("\n## ", 1)[0]


def test_every_file_has_its_sections(bank: dict[str, str]) -> None:
    for spec in AGENT_SPECS:
        assert missing_sections(spec, bank[spec.name]) == []


def test_module_map_names_responsibilities_importers_and_key_symbols(bank: dict[str, str]) -> None:
    architecture = section(bank["systemPatterns"], "Architecture")
    assert (
        "- `shop/models.py`: Data models of the shop. Imported by 2 modules."
        " Defines `Order` (methods `total`).\n"
    ) in architecture
    # A docstring line cut mid-sentence ends in an ellipsis; private and method names are left out.
    assert (
        "- `shop/api/routes.py`: HTTP routes of the shop … Imported by 1 module."
        " Defines `create_order`.\n"
    ) in architecture
    assert "_helper" not in architecture
    assert "Order.total" not in architecture
    assert "tests/test_store.py" not in architecture


def test_package_relationships_come_from_the_import_graph(bank: dict[str, str]) -> None:
    relationships = section(bank["systemPatterns"], "Component Relationships")
    assert "- `shop/api/` imports from `shop/`.\n" in relationships
    assert (
        "- Most imported (their importers are counted in the module map above):"
        " `shop/models.py`, `shop/store.py`.\n"
    ) in relationships
    assert "### Critical implementation paths" in relationships
    assert (
        "- From console script `shop` -> `shop.cli:main` (pyproject.toml): `shop/cli.py` → "
        "`shop/api/routes.py` → `shop/store.py` → `shop/models.py`.\n"
    ) in relationships


def test_key_decisions_say_what_each_manifest_declares(bank: dict[str, str]) -> None:
    decisions = section(bank["systemPatterns"], "Key Technical Decisions")
    assert "- pyproject.toml: tool settings only (no [project] table)\n" in decisions
    assert "packaged through" not in bank["systemPatterns"]
    patterns = section(bank["systemPatterns"], "Design Patterns")
    assert "- Web application with Flask (`flask` in setup.cfg).\n" in patterns
    assert "Central types in `shop/models.py`: class `Order` (One customer order)." in patterns


def test_commands_and_conventions_have_their_sources(bank: dict[str, str]) -> None:
    tech = bank["techContext"]
    setup = section(tech, "Development Setup")
    assert "- `pytest` (test, from `[tool.pytest] in pyproject.toml`)\n" in setup
    assert "- `ruff check .` (lint, from `.github/workflows/ci.yml (CI step)`)\n" in setup
    assert "unittest" not in tech
    constraints = section(tech, "Technical Constraints")
    assert "- EditorConfig is configured in `.editorconfig`.\n" in constraints
    assert "- Ruff is declared as a dependency in `requirements-dev.txt`.\n" in constraints
    assert (
        "- Most recent commit subjects start with the area they touch and a colon,"
        " e.g. `store: keep orders in SQLite`.\n"
    ) in constraints
    dependencies = section(tech, "Dependencies")
    assert (
        dependencies == "- `flask` >=3 (setup.cfg, runtime)\n- dev (requirements-dev.txt): `ruff`\n"
    )


def test_markers_are_quoted_with_their_location(bank: dict[str, str]) -> None:
    progress = bank["progress"]
    assert section(progress, "What's Left to Build") == (
        "- `shop/store.py:12` close the connection on exit\n"
    )
    assert section(progress, "Known Issues").startswith(
        "- `shop/api/routes.py:30` FIXME: validate the body\n"
    )
    assert "Head of the changelog `CHANGES.rst`:\n\n```\nVersion 1.2.0\n" in progress


def test_recent_changes_are_grouped_by_area_with_their_files(bank: dict[str, str]) -> None:
    recent = section(bank["activeContext"], "Recent Changes")
    assert recent.startswith(
        "### shop/\n\n"
        "- `a1` 2026-02-03 store: keep orders in SQLite (`shop/store.py`)\n"
        "\n### shop/api/\n\n"
        "- `b2` 2026-02-02 api: add the orders route (`shop/api/routes.py`, `setup.cfg`)\n"
        "\n### project root\n\n"
        "- `c3` 2026-02-01 docs: usage (`README.md`)\n"
    )
    decisions = section(bank["activeContext"], "Active Decisions")
    assert "- `b2` changed `setup.cfg`\n" in decisions


def test_each_figure_is_given_once_per_bank(bank: dict[str, str]) -> None:
    text = "\n".join(bank.values())
    for figure in ("100% of code lines", "57 commits", "1 test file", "120"):
        assert text.count(figure) == 1, figure
    # Markup and data formats are never counted as code.
    assert "HTML: " not in text
    assert "Written in Python." in bank["projectbrief"]


def test_no_dependency_statement_names_what_was_checked() -> None:
    bare = replace(FACTS, dependencies=(), manifest_notes=())

    tech = render_offline(spec_by_name("techContext"), bare, FILES)

    assert (
        "- No dependencies are declared (checked `pyproject.toml`, `setup.cfg`,"
        " `requirements-dev.txt`).\n"
    ) in tech


def test_only_entry_points_are_called_ways_in(bank: dict[str, str]) -> None:
    text = "\n".join(bank.values())
    assert "ways in" not in text.lower()
    how = section(bank["productContext"], "How It Works")
    assert how.startswith("Entry points:\n\n- console script `shop` -> `shop.cli:main`")
    assert "shop/store.py" not in how


def test_a_project_without_git_markers_or_modules_says_what_was_checked() -> None:
    bare = replace(
        FACTS, git=None, markers=(), modules=(), todo_count=0, fixme_count=0, commands=()
    )

    files = {spec.name: render_offline(spec, bare, ()) for spec in AGENT_SPECS}

    assert "The repo map holds no source module" in files["systemPatterns"]
    assert "No TODO comment in the listed text files" in files["progress"]
    assert "- No FIXME, HACK or XXX comment in the listed text files." in files["progress"]
    assert "not a git work tree" in files["activeContext"]
    assert (
        "- None: no test, lint, build or run command is declared (checked" in (files["techContext"])
    )
    for text in files.values():
        for line in text.splitlines():
            if re.match(r"- No \w+ (is|are|was|were) ", line):
                assert "(" in line, line


def test_a_shared_header_is_no_responsibility_and_the_rest_is_summed_up_per_folder() -> None:
    header = "This file is part of the shop package."
    many = tuple(
        module(f"shop/handlers/h{index}.py", header, imports=("shop/models.py",))
        for index in range(30)
    )
    facts = replace(FACTS, modules=(*MODULES, *many))

    architecture = section(
        render_offline(spec_by_name("systemPatterns"), facts, FILES), "Architecture"
    )

    assert header not in architecture
    assert architecture.count("\n- `shop/handlers/") == 16
    assert architecture.endswith(
        "- Also in `shop/handlers/`: `shop/handlers/h16.py`, `shop/handlers/h17.py`,"
        " `shop/handlers/h18.py`, `shop/handlers/h19.py` and 10 more.\n"
    )
