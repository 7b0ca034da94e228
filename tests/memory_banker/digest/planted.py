"""A held-out planted project: secrets of many kinds whose values are drawn at random at test time.

Neither the redactor nor detect-secrets can have been tuned to these values: each run of the tests
draws new ones (the seed is printed in failure messages). Every secret sits on a line with a
unique marker (``p07``…) that is not secret, so a test can prove the line was sent, redacted.
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


@dataclass(frozen=True)
class Planted:
    """One planted secret."""

    kind: str
    """What it is (``stripe-live-key``, ``compose-password`` …)."""
    value: str
    """The secret: it must appear in no request."""
    where: str
    """The file (or ``commit-message``) that holds it."""
    marker: str
    """A non-secret string on the same line, which is sent."""

    @property
    def fragments(self) -> list[str]:
        """The parts of the value that must never be sent (each line of a multi-line key)."""
        parts = [part.strip() for part in self.value.replace("\\n", "\n").splitlines()]
        return [part for part in parts if len(part) >= 8 and not part.startswith("-----")]

    def leaks_into(self, text: str) -> bool:
        """Return True when any fragment of the value appears in ``text``."""
        return any(fragment in text for fragment in self.fragments)


@dataclass
class PlantedProject:
    """The project folder and what was planted in it."""

    root: Path
    seed: int
    secrets: list[Planted] = field(default_factory=list)

    @property
    def kinds(self) -> set[str]:
        """The distinct kinds planted."""
        return {planted.kind for planted in self.secrets}


class _Draw:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def s(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def password(self) -> str:
        # Mixed letters and digits with at least one of each, as a password manager makes them.
        return self.s(string.ascii_uppercase, 2) + self.s(ALNUM, 14) + self.s(string.digits, 2)

    def jwt(self) -> str:
        def part(data: dict[str, object]) -> str:
            raw = json.dumps(data).encode()
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")

        header = part({"alg": "HS256", "typ": "JWT"})
        payload = part({"sub": self.s(ALNUM, 12), "iat": self.rng.randint(10**9, 2 * 10**9)})
        return f"{header}.{payload}.{self.s(URLSAFE, 43)}"

    def pem(self, label: str) -> str:
        body = [self.s(B64, 64) for _ in range(6)]
        return "\n".join([f"-----BEGIN {label}-----", *body, f"-----END {label}-----"])


def _files(d: _Draw) -> dict[str, list[tuple[str, str, str]]]:
    """Return file -> [(kind, value, line template with {v} and {m})]."""
    return {
        "app/settings.py": [
            ("django-secret-key", d.s(ALNUM + "!@%^&*(-_=+)", 50), 'SECRET_KEY_{m} = "{v}"'),
            ("python-password", d.password(), "DATABASE_PASSWORD_{m} = '{v}'"),
            ("stripe-live-key", "sk_live_" + d.s(ALNUM, 24), 'stripe_key_{m} = "{v}"'),
            ("stripe-restricted-key", "rk_live_" + d.s(ALNUM, 24), 'STRIPE_RK_{m} = "{v}"'),
            ("stripe-test-key", "sk_test_" + d.s(ALNUM, 24), 'stripe_{m} = "{v}"'),
            (
                "aws-access-key-id",
                "AKIA" + d.s(string.ascii_uppercase + "234567", 16),
                'aws_id_{m} = "{v}"',
            ),
            ("aws-secret-access-key", d.s(B64, 40), 'AWS_SECRET_ACCESS_KEY_{m} = "{v}"'),
            ("jwt", d.jwt(), 'session_{m} = "{v}"'),
            ("openai-key", "sk-proj-" + d.s(URLSAFE, 48), 'client_{m} = OpenAI(api_key="{v}")'),
            ("anthropic-key", "sk-ant-api03-" + d.s(URLSAFE, 80), 'claude_{m} = "{v}"'),
            ("postgres-url", d.password(), 'DATABASE_URL_{m} = "postgres://app:{v}@db.local/app"'),
            ("high-entropy-string", d.s(HEX, 64), 'SIGNING_SEED_{m} = "{v}"'),
            ("sentry-dsn", d.s(HEX, 32), 'SENTRY_DSN_{m} = "https://{v}@o1.ingest.sentry.io/2"'),
            ("stripe-webhook-secret", "whsec_" + d.s(ALNUM, 32), 'hook_secret_{m} = "{v}"'),
            ("mailchimp-key", d.s(HEX, 32) + "-us12", 'chimp_{m} = MailChimp("{v}")'),
            ("square-token", "sq0atp-" + d.s(URLSAFE, 22), 'square_{m} = Square("{v}")'),
            ("databricks-token", "dapi" + d.s(HEX, 32), 'dbx_{m} = connect(token="{v}")'),
            ("digitalocean-token", "dop_v1_" + d.s(HEX, 64), 'do_{m} = Manager("{v}")'),
        ],
        "app/main.go": [
            ("go-secret-const", d.password(), 'const apiSecret_{m} = "{v}"'),
        ],
        "web.config": [
            (
                "xml-connection-string",
                d.password(),
                '<add name="Db_{m}" connectionString="Server=db;User ID=sa;Password={v};"/>',
            ),
        ],
        "app/clients.py": [
            ("github-token", "ghp_" + d.s(ALNUM, 36), 'gh_{m} = Github("{v}")'),
            (
                "github-fine-grained-token",
                "github_pat_" + d.s(ALNUM, 22) + "_" + d.s(ALNUM, 59),
                'GH_PAT_{m} = "{v}"',
            ),
            ("gitlab-token", "glpat-" + d.s(URLSAFE, 20), 'gl_{m} = Gitlab(private_token="{v}")'),
            (
                "slack-token",
                f"xoxb-{d.s(string.digits, 11)}-{d.s(string.digits, 13)}-" + d.s(ALNUM, 24),
                'slack_{m} = WebClient(token="{v}")',
            ),
            (
                "slack-webhook",
                f"T{d.s(ALNUM, 8)}/B{d.s(ALNUM, 8)}/{d.s(ALNUM, 24)}",
                'hook_{m} = "https://hooks.slack.com/services/{v}"',
            ),
            ("google-api-key", "AIza" + d.s(URLSAFE, 35), 'maps_{m} = Client(key="{v}")'),
            ("huggingface-token", "hf_" + d.s(ALNUM, 34), 'hub_{m} = login("{v}")'),
            (
                "sendgrid-key",
                f"SG.{d.s(URLSAFE, 22)}.{d.s(URLSAFE, 43)}",
                'mail_{m} = SendGridAPIClient("{v}")',
            ),
            ("twilio-api-key", "SK" + d.s(HEX, 32), 'twilio_{m} = Client("{v}", secret)'),
            (
                "telegram-bot-token",
                f"{d.rng.randint(10**8, 10**9 - 1)}:AA" + d.s(URLSAFE, 33),
                'bot_{m} = Bot("{v}")',
            ),
            (
                "mongodb-srv-url",
                d.password(),
                'mongo_{m} = MongoClient("mongodb+srv://admin:{v}@cluster0.example.net/db")',
            ),
            ("redis-url", d.password(), 'cache_{m} = Redis.from_url("redis://:{v}@cache:6379/0")'),
            (
                "azure-account-key",
                d.s(B64, 86) + "==",
                'blob_{m} = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={v};'
                'EndpointSuffix=core.windows.net"',
            ),
            (
                "azure-sas-signature",
                d.s(URLSAFE, 43) + "%3D",
                'sas_{m} = "https://acct.blob.core.windows.net/c?sv=2022-11-02&sr=c&sig={v}&se=2030"',
            ),
        ],
        "web/client.ts": [
            ("js-api-key", d.password(), "const apiKey_{m} = '{v}';"),
            ("ts-client-secret", d.password(), 'private clientSecret_{m}: string = "{v}";'),
            ("bearer-header", d.s(URLSAFE, 40), "headers_{m} = {{ Authorization: `Bearer {v}` }};"),
            ("https-basic-url", d.password(), 'fetch_{m}("https://deploy:{v}@api.example.com/x");'),
            ("npm-token", "npm_" + d.s(ALNUM, 36), 'const NPM_{m} = "{v}";'),
            ("js-password-property", d.password(), 'login_{m}({{ user: "ci", password: "{v}" }});'),
        ],
        "config/app.yaml": [
            ("yaml-client-secret", d.password(), "client_secret_{m}: {v}"),
            ("yaml-password", d.password(), "  password_{m}: '{v}'"),
            ("yaml-api-key", d.password(), "api_key_{m}: {v}"),
            (
                "pem-indented",
                d.pem("RSA PRIVATE KEY").replace("\n", "\n    "),
                "tls_key_{m}: |\n    {v}",
            ),
        ],
        "config/settings.ini": [
            ("ini-password", d.password(), "password_{m} = {v}"),
            ("ini-token", d.password(), "api_token_{m}={v}"),
        ],
        "config/app.properties": [
            ("properties-password", d.password(), "db.password.{m}={v}"),
            ("properties-secret", d.password(), "oauth.client.secret.{m}={v}"),
            (
                "jdbc-url-password",
                d.password(),
                "spring.datasource.url.{m}=jdbc:postgresql://db/app?user=app&password={v}",
            ),
        ],
        "config/appsettings.json": [
            ("json-password", d.password(), '  "Password_{m}": "{v}",'),
            ("pem-escaped", d.pem("PRIVATE KEY").replace("\n", "\\n"), '  "private_{m}": "{v}",'),
            (
                "connection-string-password",
                d.password(),
                '  "Db_{m}": "Server=db;Database=app;User Id=sa;Password={v};"',
            ),
        ],
        "config/config.toml": [
            ("toml-token", d.password(), 'token_{m} = "{v}"'),
            ("pem-crlf", d.pem("EC PRIVATE KEY").replace("\n", "\r\n"), 'key_{m} = """{v}"""'),
        ],
        "keys/signing.txt": [
            ("pgp-private-key", d.pem("PGP PRIVATE KEY BLOCK"), "{v}\n# {m}"),
        ],
        "requirements.txt": [
            (
                "pip-index-token",
                "pypi-AgEIcHlwaS5vcmc" + d.s(URLSAFE, 60),
                "--extra-index-url https://__token__:{v}@pypi.example.com/simple  # {m}",
            ),
        ],
        "pyproject.toml": [
            (
                "pyproject-index-password",
                d.password(),
                'index-url_{m} = "https://ci:{v}@pkgs.example.com/simple"',
            ),
        ],
        "setup.cfg": [
            ("setup-cfg-password", d.password(), "password_{m} = {v}"),
        ],
        "Gemfile": [
            ("gemfile-credentials", d.password(), 'source "https://ci:{v}@gems.example.com" # {m}'),
        ],
        "pom.xml": [
            ("pom-password", d.password(), "  <password>{v}</password><!-- {m} -->"),
        ],
        "package.json": [
            ("npm-auth-token", "npm_" + d.s(ALNUM, 36), '  "npmAuthToken_{m}": "{v}",'),
        ],
        "Dockerfile": [
            ("dockerfile-env", d.password(), "ENV API_TOKEN_{m}={v}"),
            ("dockerfile-arg", d.password(), "ARG DB_PASSWORD_{m}={v}"),
            ("dockerfile-env-legacy", d.password(), "ENV SECRET_TOKEN_{m} {v}"),
        ],
        "docker-compose.yml": [
            ("compose-password", d.password(), "      POSTGRES_PASSWORD_{m}: {v}"),
            ("compose-list-password", d.password(), "      - MYSQL_ROOT_PASSWORD_{m}={v}"),
        ],
        ".github/workflows/ci.yml": [
            ("ci-env-token", d.password(), "      DEPLOY_TOKEN_{m}: {v}"),
            ("ci-pypi-token", "pypi-AgEIcHlwaS5vcmc" + d.s(URLSAFE, 60), "      PYPI_{m}: {v}"),
        ],
        "scripts/deploy.sh": [
            ("shell-export", d.password(), "export AWS_SESSION_TOKEN_{m}={v}"),
            ("shell-cli-password", d.password(), 'mysql --password="{v}" -e "select {m}"'),
            ("shell-inline-env", d.password(), "DB_PASSWORD_{m}={v} ./run.sh"),
            (
                "basic-auth-header",
                base64.b64encode(f"ci:{d.password()}".encode()).decode(),
                'curl -H "Authorization: Basic {v}" https://api.example.com/{m}',
            ),
        ],
        "README.md": [
            (
                "readme-bearer",
                d.s(URLSAFE, 40),
                'curl -H "Authorization: Bearer {v}" https://api.example.com/{m}',
            ),
            ("readme-stripe-key", "sk_live_" + d.s(ALNUM, 24), "Set `STRIPE_KEY_{m}={v}`."),
            ("readme-openai-key", "sk-" + d.s(ALNUM, 48), "Example: `OPENAI_API_KEY_{m}={v}`"),
            (
                "readme-postgres-url",
                d.password(),
                "Connect with `psql postgresql://ro:{v}@db/{m}`.",
            ),
        ],
    }


def _commits(d: _Draw) -> list[tuple[str, str, str]]:
    return [
        ("commit-github-token", "ghp_" + d.s(ALNUM, 36), "Rotate leaked token {v} ({m})"),
        ("commit-password", d.password(), "Set DEPLOY_PASSWORD_{m}={v} for staging"),
    ]


def _bank(d: _Draw) -> dict[str, list[tuple[str, str, str]]]:
    return {
        "projectbrief.md": [
            ("bank-openai-key", "sk-proj-" + d.s(URLSAFE, 48), "The key is `{v}` ({m})."),
        ],
        "techContext.md": [
            ("bank-database-url", d.password(), "- DATABASE_URL_{m}=postgres://app:{v}@db/app"),
            (
                "bank-aws-key-id",
                "AKIA" + d.s(string.ascii_uppercase + "234567", 16),
                "- aws id {v} ({m})",
            ),
        ],
        "systemPatterns.md": [
            (
                "bank-slack-token",
                "xoxp-" + d.s(string.digits, 12) + "-" + d.s(ALNUM, 24),
                "- Slack: {v} ({m})",
            ),
        ],
        "productContext.md": [
            ("bank-jwt", d.jwt(), "- Sample session: {v} ({m})"),
        ],
    }


def _fill(
    d: _Draw, groups: dict[str, list[tuple[str, str, str]]], planted: list[Planted]
) -> dict[str, str]:
    texts: dict[str, str] = {}
    for where, entries in groups.items():
        lines = []
        for kind, value, template in entries:
            marker = f"p{len(planted):02d}"
            lines.append(template.format(v=value, m=marker))
            planted.append(Planted(kind, value, where, marker))
        texts[where] = "\n".join(lines) + "\n"
    return texts


def _git(root: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Planter",
        "GIT_AUTHOR_EMAIL": "planter@example.com",
        "GIT_COMMITTER_NAME": "Planter",
        "GIT_COMMITTER_EMAIL": "planter@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def commit(root: Path, message: str) -> None:
    """Commit every change under ``root`` with ``message``."""
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message)


def make_planted_project(parent: Path, seed: int | None = None) -> PlantedProject:
    """Create the planted git project under ``parent / "planted"`` (no bank yet) and return it.

    Its files pass a clean tree through two commits whose messages carry secrets too; the bank
    files' secrets are returned by :func:`plant_bank`, which writes them.
    """
    seed = int.from_bytes(os.urandom(4), "big") if seed is None else seed
    draw = _Draw(seed)
    project = PlantedProject(parent / "planted", seed)
    root = project.root
    root.mkdir()
    texts = _fill(draw, _files(draw), project.secrets)
    texts["README.md"] = (
        "# Planted Service\n\nPlanted Service answers stock queries over HTTP.\n\n## Setup\n\n"
        + texts["README.md"]
    )
    texts["pyproject.toml"] = (
        '[project]\nname = "planted-service"\nversion = "1.0.0"\n'
        'description = "A service with planted secrets"\n\n[tool.uv]\n' + texts["pyproject.toml"]
    )
    texts["setup.cfg"] = "[upload]\nrepository = https://pkgs.example.com\n" + texts["setup.cfg"]
    texts["package.json"] = (
        '{\n  "name": "planted-web",\n' + texts["package.json"] + '  "x": 1\n}\n'
    )
    texts["Dockerfile"] = "FROM python:3.12-slim\n" + texts["Dockerfile"]
    texts["docker-compose.yml"] = (
        "services:\n  db:\n    image: postgres:16\n    environment:\n" + texts["docker-compose.yml"]
    )
    texts[".github/workflows/ci.yml"] = (
        "name: ci\non: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n"
        + texts[".github/workflows/ci.yml"]
        + "    steps:\n      - run: pytest\n"
    )
    texts["pom.xml"] = (
        "<project>\n<servers><server>\n" + texts["pom.xml"] + "</server></servers>\n</project>\n"
    )
    texts["app/__init__.py"] = '"""The planted app."""\n'
    for name, text in texts.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _git(root, "init", "-q", "-b", "main")
    commits = _fill(draw, {"commit-message": _commits(draw)}, project.secrets)
    messages = commits["commit-message"].splitlines()
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", messages[0])
    (root / "CHANGES.md").write_text("# Changes\n\n- staging\n", encoding="utf-8")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", messages[1])
    return project


def plant_bank(project: PlantedProject, bank_texts: dict[str, str]) -> None:
    """Write the bank files ``bank_texts`` (file -> valid markdown) with secrets appended."""
    draw = _Draw(project.seed + 1)
    lines = _fill(draw, _bank(draw), project.secrets)
    folder = project.root / "memory-bank"
    folder.mkdir(exist_ok=True)
    for name, text in bank_texts.items():
        (folder / name).write_text(text + "\n" + lines.get(name, ""), encoding="utf-8")
