"""Bank quality on a corpus of foreign projects: fact recall in the digest (target ≥ 90 %).

Run: ``python benchmarks/bench_bank_quality.py [--only NAME ...] [--context-tokens N] [--json]``.

Each project in ``benchmarks/corpus/<name>/facts.toml`` names a package on PyPI (an sdist), on the
npm registry (a tarball) or in Debian (a package that ships the source), and lists 15-25
checkable facts (key symbols, dependencies, commands, description words, entry points) and
statements that would be false. The script fetches each package with the ordinary client
(``pip download``, ``npm pack``, ``apt-get download``) into the user cache folder, turns it into a
small git repository of three commits by two authors with fixed dates, builds the digest and
prints, per project and overall, the share of facts the digest contains and its tokens.

A fact is a case-insensitive substring, or a regular expression when it starts with ``re:``.
Each measure is one function taking the project and returning a :class:`Measure`, listed in
``MEASURES``; the offline bank's recall and its false statements are measured the same way.
No third-party code is stored in this repository: only the fetch recipe and the facts.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memory_banker.digest.build import build_digest
from memory_banker.digest.facts import Digest
from memory_banker.offline.writers import render_offline
from memory_banker.specs import AGENT_SPECS
from token_tracking.settings import cache_dir

CORPUS = Path(__file__).resolve().parent / "corpus"
DIGEST_RECALL_TARGET = 0.90

_COMMITS = (
    ("Ada Example", "2024-01-10T10:00:00+00:00", "Import the sources"),
    ("Bo Example", "2024-02-12T11:00:00+00:00", "Add the tests"),
    ("Ada Example", "2024-03-14T12:00:00+00:00", "Add docs, examples and the rest"),
)
"""The corpus history: sources and manifests, then tests, then everything else."""


@dataclass
class Project:
    """One corpus project: its recipe, facts and (once built) repository and digest."""

    name: str
    language: str
    source: dict[str, object]
    facts: list[str]
    false_statements: list[str]
    repository: Path = Path()
    digest: Digest | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Measure:
    """One measure of one project: ``found`` of ``total`` checks, and the ones that failed."""

    name: str
    found: int
    total: int
    failed: tuple[str, ...]

    @property
    def share(self) -> float:
        """``found / total`` (1.0 when there is nothing to check)."""
        return self.found / self.total if self.total else 1.0


# --- fetching ------------------------------------------------------------------------------------


def _run(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def fetch(project: Project, downloads: Path) -> Path:
    """Download the project's package once (kept in ``downloads``) and return the archive."""
    downloads.mkdir(parents=True, exist_ok=True)
    registry, package = str(project.source["registry"]), str(project.source["package"])
    version = str(project.source["version"])
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{package}-{version}")
    found = sorted(p for p in downloads.iterdir() if p.name.startswith(f"{stem}--"))
    if found:
        return found[0]
    work = downloads / f".{stem}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    if registry == "pypi":
        _run(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
             f"{package}=={version}", "-d", str(work), cwd=work)  # fmt: skip
    elif registry == "npm":
        _run("npm", "pack", "--silent", f"{package}@{version}", cwd=work)
    elif registry == "debian":
        _run("apt-get", "download", f"{package}={version}", cwd=work)
    else:
        raise SystemExit(f"{project.name}: unknown registry {registry!r}")
    archive = next(iter(sorted(work.iterdir())))
    target = downloads / f"{stem}--{archive.name}"
    archive.rename(target)
    shutil.rmtree(work)
    return target


def unpack(project: Project, archive: Path, target: Path) -> None:
    """Unpack the project's sources into ``target`` (a new folder)."""
    scratch = target.parent / f".{target.name}-unpack"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    if archive.suffix == ".deb":
        _run("dpkg-deb", "-x", str(archive), str(scratch), cwd=scratch)
    else:
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
    root_path = str(project.source.get("root", ""))
    root = scratch / root_path if root_path else next(p for p in scratch.iterdir() if p.is_dir())
    shutil.copytree(root, target / str(project.source.get("into", "")), dirs_exist_ok=True,
                    symlinks=True)  # fmt: skip
    for destination, origin in dict(project.source.get("extra", {})).items():  # type: ignore[call-overload]
        source = scratch / str(origin)
        data = source.read_bytes()
        if source.suffix == ".gz":
            data = gzip.decompress(data)
        (target / destination).parent.mkdir(parents=True, exist_ok=True)
        (target / destination).write_bytes(data)
    shutil.rmtree(scratch)


def _phase(path: str) -> int:
    parts = path.lower().split("/")
    in_tests = any(p in {"test", "tests", "spec", "testdata", "__tests__"} for p in parts[:-1])
    if in_tests or re.search(r"(^test_|_test\.|\.test\.|_spec\.)", parts[-1]):
        return 1
    if any(p in {"docs", "doc", "examples", "example", "benches", "benchmarks"} for p in parts):
        return 2
    return 0


def make_repository(project: Project, archive: Path, target: Path) -> Path:
    """Create ``target`` as a git repository of the project's sources in three commits."""
    shutil.rmtree(target, ignore_errors=True)
    unpack(project, archive, target)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=target, check=True, env=env)
    files = sorted(
        p.relative_to(target).as_posix()
        for p in target.rglob("*")
        if (p.is_file() or p.is_symlink()) and ".git" not in p.relative_to(target).parts
    )
    for phase, (author, date, message) in enumerate(_COMMITS):
        batch = [path for path in files if _phase(path) == phase]
        if not batch:
            continue
        subprocess.run(["git", "add", "-f", "--", *batch], cwd=target, check=True, env=env)
        subprocess.run(
            ["git", "-c", f"user.name={author}", "-c", "user.email=corpus@example.com", "commit",
             "-q", "--no-verify", "-m", message],
            cwd=target, check=True,
            env={**env, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
        )  # fmt: skip
    return target


# --- measures ------------------------------------------------------------------------------------


def _contains(text: str, fact: str) -> bool:
    if fact.startswith("re:"):
        return re.search(fact[3:], text, re.IGNORECASE | re.MULTILINE) is not None
    return fact.lower() in text.lower()


def digest_recall(project: Project) -> Measure:
    """The share of the project's facts found in its digest."""
    assert project.digest is not None
    text = project.digest.text
    failed = tuple(fact for fact in project.facts if not _contains(text, fact))
    return Measure("digest recall", len(project.facts) - len(failed), len(project.facts), failed)


# --- offline bank measures -----------------------------------------------------------------------

OFFLINE_RECALL_TARGET = 0.70

_BANKS: dict[str, dict[str, str]] = {}


def offline_bank(project: Project) -> dict[str, str]:
    """The six files the offline engine writes from the project's digest (made once)."""
    assert project.digest is not None
    if project.name not in _BANKS:
        digest = project.digest
        _BANKS[project.name] = {
            spec.name: render_offline(spec, digest.facts, digest.files) for spec in AGENT_SPECS
        }
    return _BANKS[project.name]


def _bank_text(project: Project) -> str:
    return "\n".join(offline_bank(project).values())


def _as_bank_fact(fact: str) -> str:
    """A symbol fact written as the digest prints it (``class Context``, ``def echo(``, ``func
    New(``) is found in a bank that names the symbol (the bank writes ``Context``)."""
    match = re.fullmatch(
        r"(?:(?:pub|abstract|final|export|async|static)\s+)*"
        r"(?:class|def|func|fn|struct|enum|interface|trait|type|module|function|macro_rules!)"
        r"\s*(?:\([^)]*\)\s*)?([A-Za-z_]\w*[?!]?).*",
        fact,
    )
    return rf"re:\b{re.escape(match.group(1))}" if match else fact


def offline_recall(project: Project) -> Measure:
    """The share of the project's facts found in its offline bank."""
    text = _bank_text(project)
    failed = tuple(f for f in project.facts if not _contains(text, _as_bank_fact(f)))
    return Measure("offline recall", len(project.facts) - len(failed), len(project.facts), failed)


def no_false_statement(project: Project) -> Measure:
    """The project's false statements that its offline bank avoids (target: all of them)."""
    text = _bank_text(project)
    found = tuple(s for s in project.false_statements if _contains(text, s))
    total = len(project.false_statements)
    return Measure("offline not false", total - len(found), total, found)


def _section(text: str, name: str) -> str:
    return text.split(f"## {name}\n", 1)[-1].split("\n## ", 1)[0] if f"## {name}\n" in text else ""


_PATHLIKE = re.compile(r"`([^`\s]+)`")
_SOURCE_EXTENSIONS = re.compile(
    r"\.(py|js|mjs|cjs|ts|go|rs|rb|php|java|c|h|cc|cpp|toml|json|"
    r"ya?ml|cfg|ini|txt|md|rst|lock|mod|gemspec|xml|gradle|kts)$"
)


def bank_paths(project: Project) -> Measure:
    """Every file or folder the offline bank names in backquotes exists in the repository."""
    assert project.digest is not None
    dependencies = {d.name.lower() for d in project.digest.facts.dependencies}
    named: list[str] = []
    for token in _PATHLIKE.findall(_bank_text(project)):
        path = re.sub(r":\d+$", "", token)
        if token.lower() in dependencies or "://" in path or ":" in path or "=" in path:
            continue
        if ("/" in path or _SOURCE_EXTENSIONS.search(path)) and path not in named:
            named.append(path)
    failed = tuple(p for p in named if not (project.repository / p.rstrip("/")).exists())
    return Measure("bank paths exist", len(named) - len(failed), len(named), failed)


def _source_file(project: Project, source: str) -> Path | None:
    for word in re.split(r"[\s,()]+", source):
        candidate = project.repository / word.strip("`")
        if word and candidate.is_file():
            return candidate
    return None


def bank_dependencies(project: Project) -> Measure:
    """Every dependency the offline bank lists is written in the manifest it names."""
    section = _section(offline_bank(project)["techContext"], "Dependencies")
    checked: list[str] = []
    failed: list[str] = []
    named = re.findall(r"^- `([^`]+)`[^(\n]*\(([^,)]+),", section, re.MULTILINE)
    for manifest, names in re.findall(r"^- [^`(\n]+\(([^)]+)\): (.+)$", section, re.MULTILINE):
        named += [(name, manifest) for name in re.findall(r"`([^`]+)`", names)]
    for name, manifest in named:
        checked.append(name)
        path = _source_file(project, manifest)
        bare = re.split(r"[\[;@ ]", name, maxsplit=1)[0] or name
        if path is None or bare.lower() not in path.read_text(errors="replace").lower():
            failed.append(f"{name} ({manifest})")
    found = len(checked) - len(failed)
    return Measure("bank dependencies declared", found, len(checked), tuple(failed))


_TOOL_OF = {
    "Cargo.toml": ("cargo",),
    "go.mod": ("go",),
    "pom.xml": ("mvn", "./mvnw"),
    "build.gradle": ("gradle", "./gradlew"),
    "build.gradle.kts": ("gradle", "./gradlew"),
    "Gemfile": ("bundle",),
    "composer.json": ("composer",),
}
"""A manifest implies its ecosystem's own commands (``cargo test`` from Cargo.toml)."""

_RUNNERS = {"python", "python3", "-m", "npx", "uv", "run", "poetry", "pipenv", "bundle", "exec"}


def _command_key(command: str) -> str:
    """The word of a command its source file must contain: a make/just target, a package.json
    script, a tox/nox environment, else the first word that is not a runner."""
    words = command.split()
    if len(words) >= 2 and words[0] in {"make", "just"}:
        return words[1]
    if words and words[0] in {"npm", "yarn", "pnpm", "bun"}:
        rest = [w for w in words[1:] if w not in {"run", "run-script"}]
        return rest[0] if rest else words[0]
    for flag in ("-e", "-s"):
        if words and words[0] in {"tox", "nox"} and flag in words[:-1]:
            return words[words.index(flag) + 1]
    return next((w for w in words if w not in _RUNNERS), command)


def bank_commands(project: Project) -> Measure:
    """Every command the offline bank gives is found in the manifest, Makefile or CI file it
    names as its source."""
    section = _section(offline_bank(project)["techContext"], "Development Setup")
    checked: list[str] = []
    failed: list[str] = []
    listed = re.findall(r"^- `([^`]+)` \([^,]+, from `([^`]+)`\)", section, re.MULTILINE)
    for command, source in listed:
        checked.append(command)
        path = _source_file(project, source)
        if path is None:
            failed.append(f"{command} ({source})")
            continue
        implied = command.split()[0] in _TOOL_OF.get(path.name, ())
        if not implied and _command_key(command) not in path.read_text(errors="replace"):
            failed.append(f"{command} ({source})")
    return Measure("bank commands found", len(checked) - len(failed), len(checked), tuple(failed))


MEASURES: list[Callable[[Project], Measure]] = [
    digest_recall,
    offline_recall,
    no_false_statement,
    bank_paths,
    bank_dependencies,
    bank_commands,
]
"""Every measure, each one function of a built project."""

TARGETS = {
    "digest recall": DIGEST_RECALL_TARGET,
    "offline recall": OFFLINE_RECALL_TARGET,
    "offline not false": 1.0,
    "bank paths exist": 1.0,
    "bank dependencies declared": 1.0,
    "bank commands found": 1.0,
}
"""The target share of each measure that has one."""


# --- running -------------------------------------------------------------------------------------


def load_corpus(only: Sequence[str] = ()) -> list[Project]:
    """Read every ``corpus/<name>/facts.toml`` (or only the named ones), sorted by name."""
    projects = []
    for folder in sorted(p for p in CORPUS.iterdir() if (p / "facts.toml").is_file()):
        if only and folder.name not in only:
            continue
        data = tomllib.loads((folder / "facts.toml").read_text(encoding="utf-8"))
        projects.append(
            Project(
                name=folder.name,
                language=str(data["language"]),
                source=dict(data["source"]),
                facts=[str(f) for f in data["facts"]],
                false_statements=[str(f) for f in data.get("false", [])],
                extra={
                    k: v
                    for k, v in data.items()
                    if k not in {"language", "source", "facts", "false"}
                },
            )
        )
    return projects


def build(projects: Sequence[Project], work: Path, context_tokens: int) -> None:
    """Fetch, make the repository of, and digest each project."""
    for project in projects:
        archive = fetch(project, work / "downloads")
        project.repository = make_repository(project, archive, work / "repos" / project.name)
        project.digest = build_digest(project.repository, context_tokens=context_tokens)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=(), help="corpus projects to run")
    parser.add_argument("--context-tokens", type=int, default=30000)
    parser.add_argument(
        "--work",
        type=Path,
        default=cache_dir() / "bank-quality",
        help="downloads and repositories (default: the user cache folder)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--verbose", action="store_true", help="list the failed checks")
    args = parser.parse_args(argv)
    projects = load_corpus(args.only)
    build(projects, args.work, args.context_tokens)
    results = {p.name: [measure(p) for measure in MEASURES] for p in projects}
    totals: dict[str, list[int]] = {}
    for measures in results.values():
        for m in measures:
            totals.setdefault(m.name, [0, 0])
            totals[m.name][0] += m.found
            totals[m.name][1] += m.total
    if args.json:
        projects_json = {
            p.name: {
                "language": p.language,
                "digest_tokens": p.digest.tokens if p.digest else 0,
                **{
                    m.name: {"found": m.found, "total": m.total, "failed": list(m.failed)}
                    for m in results[p.name]
                },
            }
            for p in projects
        }
        overall = {name: {"found": f, "total": t} for name, (f, t) in totals.items()}
        print(json.dumps({"projects": projects_json, "overall": overall}, indent=2))
        return 0
    names = [m.name for m in next(iter(results.values()), [])]
    print(f"{'project':<14}{'language':<12}{'tokens':>8}  " + "  ".join(f"{n:>16}" for n in names))
    for project in projects:
        measures = results[project.name]
        cells = "  ".join(f"{m.found:>5}/{m.total:<3} {m.share:>6.0%}" for m in measures)
        tokens = project.digest.tokens if project.digest else 0
        print(f"{project.name:<14}{project.language:<12}{tokens:>8}  {cells}")
        if args.verbose:
            for m in results[project.name]:
                for failed in m.failed:
                    print(f"    {m.name} missed: {failed}")
    print()
    for name, (found, total) in totals.items():
        share = found / total if total else 1.0
        target = TARGETS.get(name)
        verdict = "" if target is None else (" (target ≥ {:.0%}: {})".format(
            target, "met" if share >= target else "NOT met"))  # fmt: skip
        print(f"overall {name}: {found}/{total} = {share:.1%}{verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
