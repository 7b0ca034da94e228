"""Identity from READMEs, the repo map and its ranking, budget flow, git and TODO texts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from memory_banker.digest.build import build_digest
from memory_banker.digest.facts import Marker, Symbol
from memory_banker.digest.rank import is_data_like, pagerank
from memory_banker.digest.readme import description_sentence
from memory_banker.digest.repomap import outline
from memory_banker.tokenizer import count_tokens


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("readme", "sentence"),
    [
        (
            "\\$ click\\_\n==========\n\nClick is a Python package for creating beautiful command"
            " line interfaces\nin a composable way. It's the"
            ' "Command Line Interface Creation Kit".\n',
            "Click is a Python package for creating beautiful command line interfaces in a"
            " composable way.",
        ),
        (
            ".. image:: https://x/badge.svg\n   :target: https://x\n\nRequests\n========\n\n"
            "**Requests** is a simple, yet elegant, HTTP library.\n\n.. code-block:: python\n\n"
            "    >>> import requests\n",
            "Requests is a simple, yet elegant, HTTP library.",
        ),
        (
            "# qs <sup>[![Version Badge][npm-badge]][npm-url]</sup>\n\n"
            "[![github actions][actions-image]][actions-url]\n[![coverage][cov-image]][cov-url]\n\n"
            "A querystring parsing and stringifying library with some added security.\n\n"
            "Lead Maintainer: [Jordan Harband](https://github.com/ljharb)\n",
            "A querystring parsing and stringifying library with some added security.",
        ),
        (
            '<p align="center">\n  <img src="logo.png" alt="npm">\n</p>\n<h1>npm</h1>\n\n'
            "<p>The <b>package manager</b> for JavaScript.</p>\n",
            "The package manager for JavaScript.",
        ),
        (
            "# Tool\n\n```sh\npip install tool\n```\n\n- a list item that is long enough\n\n"
            "Tool converts [Markdown](https://x) files to `HTML` pages. Second sentence.\n",
            "Tool converts Markdown files to HTML pages.",
        ),
    ],
    ids=["rst-title", "rst-badges", "markdown-badges", "html", "markdown-code-and-lists"],
)
def test_description_skips_titles_badges_code_and_lists(readme: str, sentence: str) -> None:
    assert description_sentence(readme) == sentence


def test_the_readme_gives_the_description_when_no_manifest_has_one(tmp_path: Path) -> None:
    project = _write(
        tmp_path / "p",
        {
            "go.mod": "module github.com/urfave/cli/v2\n\ngo 1.18\n",
            "README.md": "# cli\n\n[![ci](b.svg)](x)\n\ncli is a simple, fast, and fun package for"
            " building command line apps in Go.\n",
            "main.go": "package main\n\nfunc main() {}\n",
        },
    )
    facts = build_digest(project).facts
    assert facts.name == "cli"
    assert facts.summary == (
        "cli is a simple, fast, and fun package for building command line apps in Go."
    )
    assert facts.summary_source == "README.md"
    assert facts.entry_points == ("Go `package main` in `./`",)


def _ranked_project(root: Path) -> Path:
    return _write(
        root,
        {
            "pkg/__init__.py": '"""The package."""\nfrom pkg.core import Engine\n',
            "pkg/core.py": '"""The engine everything uses."""\n\n\nclass Engine:\n'
            '    """Runs jobs."""\n\n    def run(self, job: str) -> int:\n'
            "        return len(job)\n",
            "pkg/cli.py": "from pkg.core import Engine\n\n\ndef main() -> None:\n"
            "    Engine().run('x')\n",
            "pkg/web.py": "from .core import Engine\nfrom . import cli\n\nAPP = Engine()\n",
            "examples/demo.py": "from pkg.core import Engine\nfrom pkg import cli\n"
            "from pkg import web\nprint(Engine().run('demo'))\n",
            "tests/test_core.py": "from pkg.core import Engine\n\n\ndef test_run():\n"
            "    assert Engine().run('ab') == 2\n",
            "pkg/tables.py": "TABLE = [\n"
            + "".join(f"    {i * 7919 % 10007},\n" for i in range(3000))
            + "]\n",
        },
    )


def test_the_most_imported_module_ranks_first_and_examples_tests_data_last(tmp_path: Path) -> None:
    digest = build_digest(_ranked_project(tmp_path / "p"))
    order = [(m.path, m.category) for m in digest.facts.modules]
    assert order[0] == ("pkg/core.py", "source")
    assert order[-3:] == [
        ("examples/demo.py", "example"),
        ("pkg/tables.py", "generated"),
        ("tests/test_core.py", "test"),
    ]
    core = digest.facts.modules[0]
    assert core.doc == "The engine everything uses."
    assert core.symbols == (
        Symbol("class", "Engine", "class Engine", 4, "Runs jobs."),
        Symbol("method", "Engine.run", "def run(self, job: str) -> int", 7, ""),
    )
    web = next(m for m in digest.facts.modules if m.path == "pkg/web.py")
    assert web.imports == ("pkg/cli.py", "pkg/core.py")
    assert digest.facts.test_frameworks == ("pytest",)
    assert digest.facts.test_evidence == (
        "pytest: bare assert test functions (pytest-style) in tests/test_core.py",
    )
    # The data table is outlined in the map, never given as full text.
    assert "pkg/tables.py" not in digest.excerpted


def test_pagerank_sums_to_one_and_favours_the_imported() -> None:
    ranks = pagerank(["a", "b", "c"], {"a": {"c"}, "b": {"c"}, "c": set()})
    assert sum(ranks.values()) == pytest.approx(1.0)
    assert ranks["c"] > ranks["a"] == pytest.approx(ranks["b"])


def test_data_like_files() -> None:
    assert is_data_like(b"// Code generated by protoc. DO NOT EDIT.\npackage x\n")
    assert is_data_like(b"".join(b"0x%04x, 0x%04x,\n" % (i, i * 3) for i in range(2000)))
    assert not is_data_like(b"def f(x):\n    return x + 1\n" * 100)
    assert is_data_like(b"# Auto-Generated by a tool.\nx = 1\n")


def test_data_like_counts_quoted_lines_among_filled_ones() -> None:
    quoted = b"".join(b"    'word%d',\n\n" % i for i in range(150))
    other = b"".join(b"\tvalue_%d = %d\n" % (i, i) for i in range(60))
    assert is_data_like(b"(\n" + quoted + other + b"b'x'\n)\n")  # 152 quoted of 213
    assert not is_data_like(quoted + other * 2)  # 150 quoted of 270
    assert not is_data_like(b"'x'\n" * 150 + b"\n" * 300)  # too few lines that hold code


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        (
            "lib/a.js",
            "// Parses strings.\nconst u = require('./utils');\nfunction parse(s, opts) {\n"
            "  return s;\n}\nclass Parser {\n  run(x) { return x; }\n}\nconst go = (a) => a;\n",
            [
                ("function", "parse", "function parse(s, opts)"),
                ("class", "Parser", "class Parser"),
                ("method", "Parser.run", "run(x)"),
                ("function", "go", "go = (a) =>"),
            ],
        ),
        (
            "x.go",
            "package x\n\n// Value holds a thing.\ntype Value struct{ n int }\n\n"
            "func (v *Value) Get() int { return v.n }\n",
            [
                ("struct", "Value", "type Value struct"),
                ("method", "Get", "func (v *Value) Get() int"),
            ],
        ),
        (
            "src/value.rs",
            "/// A JSON value.\npub enum Value { Null }\n\nimpl Value {\n"
            "    pub fn is_null(&self) -> bool { true }\n}\n",
            [
                ("enum", "Value", "pub enum Value"),
                ("method", "Value.is_null", "pub fn is_null(&self) -> bool"),
            ],
        ),
    ],
    ids=["javascript", "go", "rust"],
)
def test_tree_sitter_outlines(
    tmp_path: Path, path: str, source: str, expected: list[tuple[str, str, str]]
) -> None:
    result = outline(path, source.encode(), tmp_path / "cache")
    assert [(s.kind, s.name, s.signature) for s in result.symbols] == expected
    # The second call reads the cache: the same outline, and one cache file.
    assert outline(path, source.encode(), tmp_path / "cache") == result
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 1


def test_a_small_project_is_included_whole(tmp_path: Path) -> None:
    digest = build_digest(_ranked_project(tmp_path / "p"), context_tokens=30000)
    for path in (
        "pkg/core.py",
        "pkg/cli.py",
        "pkg/web.py",
        "pkg/__init__.py",
        "examples/demo.py",
        "tests/test_core.py",
    ):
        assert path in digest.excerpted
        assert f"### {path}\n" in digest.text
    assert "(first part;" not in digest.text


def test_budget_flows_on_and_a_big_file_is_its_outline_and_first_part(tmp_path: Path) -> None:
    body = "".join(f"def handler_{i}(value):\n    return value * {i}\n\n\n" for i in range(400))
    project = _write(
        tmp_path / "p",
        {
            "app/__init__.py": "",
            "app/big.py": '"""Many handlers."""\n\n\n' + body,
            "app/small.py": "from app.big import handler_1\n\n\ndef use():\n"
            "    return handler_1(2)\n",
            "README.md": "# App\n\nApp handles values in many small handlers.\n",
        },
    )
    digest = build_digest(project, context_tokens=4000)
    assert digest.tokens <= 4000
    assert "### app/big.py (first part; 1,603 lines in all)\nOutline:\n  def handler_0(value)" in (
        digest.text
    )
    # The budget the big file could not use flowed on to the next file, included whole.
    assert "### app/small.py\n" in digest.text
    assert set(digest.excerpted) >= {"app/big.py", "app/small.py", "README.md"}
    assert count_tokens(digest.text) > 3600


def _git(project: Path, *args: str, date: str) -> None:
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "PATH": "/usr/bin:/bin"}
    subprocess.run(
        ["git", "-c", "user.name=Ann", "-c", "user.email=a@example.com", *args],
        cwd=project,
        check=True,
        capture_output=True,
        env=env,
    )


def test_git_authors_window_commits_with_files_and_todo_texts(tmp_path: Path) -> None:
    project = _write(tmp_path / "p", {"a.py": "x = 1\n"})
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, check=True)
    _git(project, "add", "-A", date="2024-01-01T00:00:00Z")
    _git(project, "commit", "-q", "-m", "Old work", date="2024-01-01T00:00:00Z")
    _write(
        project,
        {
            "b.py": "# TODO(ann): split this module\ny = 2  # FIXME: off by one\n"
            's = "# TODO not a comment"\n'
        },
    )
    _git(project, "add", "-A", date="2024-06-01T00:00:00Z")
    _git(project, "commit", "-q", "-m", "Add b", date="2024-06-01T00:00:00Z")
    facts = build_digest(project).facts
    assert facts.git is not None
    assert facts.git.head_date == "2024-06-01"
    assert facts.git.recent_authors == (("Ann", 1),)
    assert facts.git.authors == (("Ann", 2),)
    assert [(c.subject, c.paths) for c in facts.git.commits] == [
        ("Add b", ("b.py",)),
        ("Old work", ("a.py",)),
    ]
    assert facts.markers == (
        Marker("b.py", 1, "TODO", "split this module"),
        Marker("b.py", 2, "FIXME", "off by one"),
    )
    text = build_digest(project).text
    assert "- b.py:1 TODO: split this module" in text
    assert "Authors in the 90 days before 2024-06-01: Ann (1)" in text


def test_entry_points_are_listed_once_and_docs_markup_apart_from_code(tmp_path: Path) -> None:
    project = _write(
        tmp_path / "p",
        {
            "pyproject.toml": '[project]\nname = "tool"\n[project.scripts]\napp = "app.cli:main"\n',
            "app/__init__.py": "",
            "app/__main__.py": "from app.cli import main\nmain()\n",
            "app/cli.py": "def main():\n    pass\n\nif __name__ == '__main__':\n    main()\n",
            "app/helper.py": "def run():\n    pass\n\nif __name__ == '__main__':\n    run()\n",
            "scripts/release.py": "if __name__ == '__main__':\n    print('release')\n",
            "examples/demo.py": "if __name__ == '__main__':\n    print('demo')\n",
            "tests/test_cli.py": "def test_x():\n    assert True\n\n"
            "if __name__ == '__main__':\n    pass\n",
            "crate/src/main.rs": "fn main() {}\n",
            "docs/index.html": "<html><body>" + "<p>docs</p>\n" * 50 + "</body></html>\n",
            "web/index.js": "console.log('web');\n",
        },
    )
    facts = build_digest(project).facts
    assert facts.entry_points == (
        "console script `app` -> `app.cli:main` (pyproject.toml)",
        "`app/__main__.py` (python -m app)",
        "`app/helper.py` (runs as a script)",
        "Rust binary `crate/src/main.rs`",
    )
    assert [(s.name, s.is_code) for s in facts.languages if s.name.startswith("HTML")] == [
        ("HTML (docs)", False)
    ]
    assert "Docs, markup and data (lines, not code): HTML (docs) 51" in build_digest(project).text
