"""Which files are manifests, and the merged facts of all of them.

Manifests are the package files of the common ecosystems (``pyproject.toml``, ``setup.py``,
``setup.cfg``, requirements files, ``package.json``, ``Cargo.toml``, ``go.mod``, ``Gemfile``,
``*.gemspec``, ``pom.xml``, ``build.gradle(.kts)``, ``composer.json``, ``tox.ini``,
``noxfile.py``) and build or CI files (``Dockerfile``, ``Makefile``, ``justfile``, workflows …) at
the project root, or one folder down for a workspace member. Each is read by
:mod:`~memory_banker.digest.pymanifests` or :mod:`~memory_banker.digest.ecosystems`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence

from memory_banker.digest import ecosystems, pymanifests
from memory_banker.digest.declared import ManifestFacts
from memory_banker.digest.paths import file_name

_MANIFEST_NAMES = frozenset(
    {
        "pyproject.toml", "setup.cfg", "setup.py", "package.json", "Cargo.toml", "go.mod",
        "pom.xml", "build.gradle", "build.gradle.kts", "Gemfile", "Dockerfile",
        "docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml",
        "Makefile", ".gitlab-ci.yml", "Jenkinsfile", "azure-pipelines.yml", ".travis.yml",
        "tox.ini", "noxfile.py", "composer.json", "justfile", "Justfile", "settings.gradle",
        "settings.gradle.kts", "Pipfile", "environment.yml", "Rakefile", "CMakeLists.txt",
        "meson.build", "Taskfile.yml", ".pre-commit-config.yaml",
    }
)  # fmt: skip

_CI_GLOBS = (
    ".ci/*",
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".gitlab-ci.yml",
    ".circleci/config.yml",
    "Jenkinsfile",
    "azure-pipelines.yml",
    ".travis.yml",
    "bitbucket-pipelines.yml",
)

_CI_RE = re.compile("|".join(fnmatch.translate(glob) for glob in _CI_GLOBS))


# --- kinds of file -------------------------------------------------------------------------------


def is_manifest(path: str) -> bool:
    """Return True for a manifest, build, CI or root README file whose text the digest shows."""
    name = file_name(path)
    if "/" not in path and (name in _MANIFEST_NAMES or name.upper().startswith("README")):
        return True
    if name in {"pyproject.toml", "package.json", "Cargo.toml", "go.mod", "Dockerfile"}:
        # Workspace members: one level down counts (monorepos), deeper is usually fixtures.
        return path.count("/") == 1
    if name.startswith("requirements") and name.endswith(".txt") and path.count("/") <= 1:
        return True
    if path.count("/") == 1 and path.startswith("requirements/") and name.endswith(".txt"):
        return True
    if "/" not in path and name.endswith(".gemspec"):
        return True
    return is_ci(path)


def is_ci(path: str) -> bool:
    """Return True for a CI configuration file."""
    return _CI_RE.match(path) is not None


# --- manifest facts ------------------------------------------------------------------------------

_Reader = Callable[[str, str, ManifestFacts], None]

_READERS: dict[str, _Reader] = {
    "pyproject.toml": pymanifests.pyproject,
    "setup.cfg": pymanifests.setup_cfg,
    "setup.py": pymanifests.setup_py,
    "tox.ini": pymanifests.tox_ini,
    "noxfile.py": pymanifests.noxfile,
    "package.json": ecosystems.package_json,
    "Cargo.toml": ecosystems.cargo_toml,
    "go.mod": ecosystems.go_mod,
    "Gemfile": ecosystems.gemfile,
    "pom.xml": ecosystems.pom_xml,
    "build.gradle": ecosystems.gradle,
    "build.gradle.kts": ecosystems.gradle,
    "composer.json": ecosystems.composer_json,
}

# Root manifests first, so the project's own name wins over a workspace member's; among them the
# language's own manifest before package.json (often only a front-end's).
_PRIORITY = ("pyproject.toml", "setup.cfg", "setup.py", "requirements.txt", "Cargo.toml", "go.mod",
             "pom.xml", "composer.json", "package.json")  # fmt: skip


def _reader(path: str) -> _Reader | None:
    name = file_name(path)
    if name in _READERS:
        return _READERS[name]
    if name.endswith(".gemspec"):
        return ecosystems.gemspec
    if fnmatch.fnmatchcase(name, "requirements*.txt") or path.startswith("requirements/"):
        return pymanifests.requirements_txt if name.endswith(".txt") else None
    return None


def manifest_facts(manifests: Sequence[tuple[str, str]]) -> ManifestFacts:
    """Return the merged facts of ``manifests`` ((path, text) pairs), root manifests first."""
    facts = ManifestFacts()

    def order(item: tuple[str, str]) -> tuple[int, int, str]:
        name = file_name(item[0])
        rank = _PRIORITY.index(name) if name in _PRIORITY else len(_PRIORITY)
        return item[0].count("/"), rank, item[0]

    for path, text in sorted(manifests, key=order):
        reader = _reader(path)
        if reader is not None:
            reader(path, text, facts)
    return facts


# --- workflows -----------------------------------------------------------------------------------


def workflow_name(text: str) -> str:
    """Return the ``name:`` of a CI workflow file, ``""`` when it has none."""
    match = re.search(r"^name:\s*['\"]?([^'\"\n#]+?)['\"]?\s*$", text, re.MULTILINE)
    return match.group(1).strip() if match else ""
