"""Manifests read fully: each kind parsed into exact dependency, command and entry-point lists."""

from __future__ import annotations

from memory_banker.digest.commands import add_commands
from memory_banker.digest.declared import ManifestFacts
from memory_banker.digest.ecosystems import module_name
from memory_banker.digest.facts import Command, Dependency
from memory_banker.digest.manifests import is_manifest, manifest_facts


def _read(*files: tuple[str, str]) -> ManifestFacts:
    facts = manifest_facts(list(files))
    add_commands(list(files), facts)
    return facts


def _deps(facts: ManifestFacts) -> list[tuple[str, str, str]]:
    return [(dep.name, dep.spec, dep.group) for dep in facts.dependencies]


SETUP_PY = """\
from setuptools import setup, find_packages
import os

requires = ["charset_normalizer>=2,<4", "idna>=2.5,<4"]
test_requirements = ["pytest>=3"]

setup(
    name="requests",
    description="Python HTTP for Humans.",
    python_requires=">=3.8",
    install_requires=requires + ["urllib3>=1.21.1,<3"],
    extras_require={
        "socks": ["PySocks>=1.5.6, !=1.5.7"],
        "use_chardet_on_py3": ["chardet>=3.0.2,<6"],
    },
    tests_require=test_requirements,
    entry_points={"console_scripts": ["req = requests.cli:main"]},
    version=os.environ.get("VERSION", "0"),
)
os.system("never run")
"""


def test_setup_py_is_read_with_ast_never_executed() -> None:
    facts = _read(("setup.py", SETUP_PY))
    assert (facts.name, facts.description) == ("requests", "Python HTTP for Humans.")
    assert _deps(facts) == [
        ("charset_normalizer", ">=2,<4", "runtime"),
        ("idna", ">=2.5,<4", "runtime"),
        ("urllib3", ">=1.21.1,<3", "runtime"),
        ("pytest", ">=3", "test"),
        ("PySocks", ">=1.5.6, !=1.5.7", "socks"),
        ("chardet", ">=3.0.2,<6", "use_chardet_on_py3"),
    ]
    assert facts.runtimes == ["Python >=3.8 (setup.py)"]
    assert facts.entry_points == ["console script `req` -> `requests.cli:main` (setup.py)"]


SETUP_CFG = """\
[metadata]
name = click
description = Composable command line interface toolkit

[options]
python_requires = >= 3.7
install_requires =
    colorama; platform_system == "Windows"
    importlib-metadata; python_version < "3.8"

[options.extras_require]
docs = sphinx>=7

[options.entry_points]
console_scripts =
    clk = click.cli:main

[tool:pytest]
testpaths = tests
"""


def test_setup_cfg_metadata_options_extras_and_entry_points() -> None:
    facts = _read(("setup.cfg", SETUP_CFG))
    assert (facts.name, facts.description) == ("click", "Composable command line interface toolkit")
    assert _deps(facts) == [
        ("colorama", "", "runtime"),
        ("importlib-metadata", "", "runtime"),
        ("sphinx", ">=7", "docs"),
    ]
    assert facts.runtimes == ["Python >= 3.7 (setup.cfg)"]
    assert facts.entry_points == ["console script `clk` -> `click.cli:main` (setup.cfg)"]
    assert facts.evidence == ["pytest: [tool:pytest] in setup.cfg"]


def test_requirements_files_at_the_root_and_in_a_requirements_folder() -> None:
    facts = _read(
        ("requirements.txt", "# comment\nflask==3.0.0\n-r other.txt\n-e .\nrich>=13  # pretty\n"),
        ("requirements-dev.txt", "pytest==8.0.0\n"),
        ("requirements/docs.txt", "sphinx==7.0.1\n"),
    )
    assert _deps(facts) == [
        ("flask", "==3.0.0", "runtime"),
        ("rich", ">=13", "runtime"),
        ("pytest", "==8.0.0", "dev"),
        ("sphinx", "==7.0.1", "docs"),
    ]
    assert is_manifest("requirements/docs.txt")
    assert facts.evidence == ["pytest: dependency in requirements-dev.txt"]


PYPROJECT_POETRY = """\
[tool.poetry]
name = "poet"
description = "Writes poems"

[tool.poetry.dependencies]
python = "^3.10"
httpx = "^0.27"
rich = {version = "^13", optional = true}

[tool.poetry.group.test.dependencies]
pytest = "^8"

[tool.poetry.scripts]
poet = "poet.cli:run"
"""


def test_pyproject_poetry_tables() -> None:
    facts = _read(("pyproject.toml", PYPROJECT_POETRY))
    assert (facts.name, facts.description) == ("poet", "Writes poems")
    assert _deps(facts) == [
        ("httpx", "^0.27", "runtime"),
        ("rich", "^13", "runtime"),
        ("pytest", "^8", "test"),
    ]
    assert facts.runtimes == ["Python ^3.10 (pyproject.toml)"]
    assert facts.entry_points == ["console script `poet` -> `poet.cli:run` (pyproject.toml)"]


def test_a_pyproject_with_only_tool_settings_says_so() -> None:
    facts = _read(("pyproject.toml", "[tool.ruff]\nline-length = 100\n[tool.pytest.ini_options]\n"))
    assert facts.dependencies == []
    assert facts.notes == [
        "pyproject.toml: tool settings only (no [project] or [tool.poetry] table); configures ruff"
    ]


PACKAGE_JSON = """{
  "name": "qs",
  "description": "A querystring parser",
  "main": "lib/index.js",
  "bin": {"qs": "./bin/qs.js"},
  "engines": {"node": ">= 0.6"},
  "scripts": {"test": "npm run tests-only", "tests-only": "tape 'test/**/*.js'",
              "lint": "eslint .", "build": "browserify lib/index.js > dist/qs.js"},
  "dependencies": {"side-channel": "^1.0.6"},
  "devDependencies": {"tape": "^5.7.5", "eslint": "=8.8.0"}
}"""


def test_package_json_dependencies_scripts_bin_and_tape_as_the_runner() -> None:
    facts = _read(("package.json", PACKAGE_JSON))
    assert _deps(facts) == [
        ("side-channel", "^1.0.6", "runtime"),
        ("tape", "^5.7.5", "dev"),
        ("eslint", "=8.8.0", "dev"),
    ]
    assert facts.entry_points == [
        "package bin `qs` -> `./bin/qs.js` (package.json)",
        "package main -> `lib/index.js` (package.json)",
    ]
    assert [(c.kind, c.command) for c in facts.commands] == [
        ("test", "npm test"),
        ("test", "npm run tests-only"),
        ("lint", "npm run lint"),
        ("build", "npm run build"),
    ]
    assert facts.frameworks == {"tape"}
    assert facts.runtimes == ["node >= 0.6 (package.json)"]


def test_every_javascript_test_runner_is_recognised_from_its_script() -> None:
    for runner, script in [
        ("jest", "jest --ci"),
        ("mocha", "mocha test/"),
        ("ava", "ava"),
        ("vitest", "vitest run"),
        ("node:test", "node --test test/"),
        ("jasmine", "jasmine"),
        ("tap", "tap test/*.js"),
        ("tape", "tape test/*.js"),
    ]:
        text = '{"name": "x", "scripts": {"test": "' + script + '"}}'
        assert _read(("package.json", text)).frameworks == {runner}, runner


CARGO = """\
[package]
name = "serde_json"
description = "A JSON serialization file format"
rust-version = "1.56"
edition = "2021"

[dependencies]
serde = { version = "1.0.194", default-features = false }
itoa = "1.0"

[dev-dependencies]
trybuild = "1.0"

[features]
default = ["std"]
std = []

[[bin]]
name = "jq-lite"
path = "src/bin/jq.rs"

[workspace]
members = ["tests/crate"]
"""


def test_cargo_toml_dependencies_features_bins_and_members() -> None:
    facts = _read(("Cargo.toml", CARGO))
    assert facts.name == "serde_json"
    assert _deps(facts) == [
        ("serde", "1.0.194", "runtime"),
        ("itoa", "1.0", "runtime"),
        ("trybuild", "1.0", "dev"),
    ]
    assert facts.entry_points == ["binary `jq-lite` -> `src/bin/jq.rs` (Cargo.toml)"]
    assert facts.runtimes == ["Rust 1.56 (Cargo.toml)", "Rust edition 2021 (Cargo.toml)"]
    assert facts.notes == [
        "Cargo.toml: 3 dependencies; features: default, std; workspace members: tests/crate"
    ]
    assert [c.command for c in facts.commands] == ["cargo build", "cargo test"]


GO_MOD = """\
module github.com/urfave/cli/v2

go 1.18

require (
\tgithub.com/cpuguy83/go-md2man/v2 v2.0.2
\tgithub.com/xrash/smetrics v0.0.0-20201216005158-039620a65673 // indirect
)
require gopkg.in/yaml.v3 v3.0.1
"""


def test_go_mod_name_drops_the_major_version_suffix() -> None:
    facts = _read(("go.mod", GO_MOD))
    assert facts.name == "cli"
    assert module_name("github.com/urfave/cli/v2") == "cli"
    assert module_name("gopkg.in/yaml.v3") == "yaml.v3"
    assert module_name("example.com/tool") == "tool"
    assert _deps(facts) == [
        ("github.com/cpuguy83/go-md2man/v2", "v2.0.2", "runtime"),
        ("github.com/xrash/smetrics", "v0.0.0-20201216005158-039620a65673", "indirect"),
        ("gopkg.in/yaml.v3", "v3.0.1", "runtime"),
    ]
    assert facts.runtimes == ["Go 1.18 (go.mod)"]
    assert [c.command for c in facts.commands] == ["go test ./...", "go build ./..."]


def test_gemfile_groups_and_gemspec() -> None:
    facts = _read(
        (
            "Gemfile",
            "source 'https://rubygems.org'\ngemspec\ngem 'rake', '~> 13'\n"
            "group :test do\n  gem 'rspec'\nend\n",
        ),
        (
            "thor.gemspec",
            'Gem::Specification.new do |spec|\n  spec.name = "thor"\n'
            '  spec.summary = "A toolkit for CLIs"\n  spec.add_dependency "io-console", ">= 0.5"\n'
            '  spec.add_development_dependency "bundler"\n'
            '  spec.required_ruby_version = ">= 2.6"\nend\n',
        ),
    )
    assert (facts.name, facts.description) == ("thor", "A toolkit for CLIs")
    assert _deps(facts) == [
        ("rake", "~> 13", "runtime"),
        ("rspec", "", "test"),
        ("io-console", ">= 0.5", "runtime"),
        ("bundler", "", "dev"),
    ]
    assert facts.frameworks == {"rspec"}


POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <artifactId>gson</artifactId>
  <description>Gson JSON library</description>
  <properties><maven.compiler.release>8</maven.compiler.release></properties>
  <dependencies>
    <dependency><groupId>com.google.errorprone</groupId>
      <artifactId>error_prone_annotations</artifactId><version>2.27.0</version></dependency>
    <dependency><groupId>junit</groupId><artifactId>junit</artifactId>
      <version>4.13.2</version><scope>test</scope></dependency>
  </dependencies>
</project>"""


def test_pom_gradle_and_composer() -> None:
    facts = _read(("pom.xml", POM))
    assert (facts.name, facts.description) == ("gson", "Gson JSON library")
    assert _deps(facts) == [
        ("com.google.errorprone:error_prone_annotations", "2.27.0", "runtime"),
        ("junit:junit", "4.13.2", "dev"),
    ]
    assert facts.frameworks == {"junit"}
    gradle = _read(
        (
            "build.gradle.kts",
            'dependencies {\n  implementation("com.squareup.okio:okio:3.9.0")\n'
            '  testImplementation("org.junit.jupiter:junit-jupiter:5.10.0")\n}\n',
        )
    )
    assert _deps(gradle) == [
        ("com.squareup.okio:okio", "3.9.0", "runtime"),
        ("org.junit.jupiter:junit-jupiter", "5.10.0", "dev"),
    ]
    composer = _read(
        (
            "composer.json",
            '{"name": "monolog/monolog", "description": "Logging",'
            ' "require": {"php": ">=8.1", "psr/log": "^3"},'
            ' "require-dev": {"phpunit/phpunit": "^10"}, "scripts": {"test": "phpunit"}}',
        )
    )
    assert _deps(composer) == [("psr/log", "^3", "runtime"), ("phpunit/phpunit", "^10", "dev")]
    assert composer.runtimes == ["PHP >=8.1 (composer.json)"]
    assert composer.frameworks == {"phpunit"}
    assert [c.command for c in composer.commands] == ["composer run test"]


def test_tox_nox_makefile_and_ci_commands_with_their_source() -> None:
    facts = _read(
        (
            "tox.ini",
            "[tox]\nenvlist = py3{11,12}, style\n[testenv]\ndeps = -r requirements/tests.txt\n"
            "commands = pytest -v {posargs}\n[testenv:style]\ncommands = pre-commit run\n",
        ),
        (
            "noxfile.py",
            "import nox\n\n@nox.session\ndef tests(session):\n    session.run('pytest')\n",
        ),
        ("Makefile", ".PHONY: test lint\ntest:\n\tpytest\nlint:\n\truff check .\nbuild/%.o: x\n"),
        (
            ".github/workflows/ci.yml",
            "name: CI\njobs:\n  t:\n    steps:\n      - run: |\n"
            "          pip install -e .\n          python -m pytest -x\n",
        ),
    )
    assert facts.commands == [
        Command("test", "nox -s tests", "noxfile.py"),
        Command("test", "tox", "tox.ini"),
        Command("lint", "tox -e style", "tox.ini"),
        Command("test", "make test", "Makefile target test"),
        Command("lint", "make lint", "Makefile target lint"),
        Command("other", "pip install -e .", ".github/workflows/ci.yml (CI step)"),
        Command("test", "python -m pytest -x", ".github/workflows/ci.yml (CI step)"),
    ]
    assert facts.evidence == ["pytest: session tests in noxfile.py"]


def test_a_manifest_that_does_not_parse_contributes_only_a_note() -> None:
    facts = _read(("package.json", "{not json"), ("Cargo.toml", "[package\n"))
    assert facts.dependencies == []
    assert facts.notes == [
        "Cargo.toml: does not parse as TOML",
        "package.json: does not parse as JSON",
    ]


def test_dependency_records_its_manifest() -> None:
    facts = _read(("requirements.txt", "attrs==23.1\n"))
    assert facts.dependencies == [Dependency("attrs", "==23.1", "requirements.txt", "runtime")]
