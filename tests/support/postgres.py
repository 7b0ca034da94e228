"""A real PostgreSQL server for the tests, started from Debian's binaries on a loopback port.

The binaries are found by globbing ``/usr/lib/postgresql/*/bin`` (the newest version wins), or on
``PATH``. The cluster lives in a folder made with :func:`tempfile.mkdtemp`; when the tests run as
root, that folder is handed to the ``postgres`` user and ``initdb``/``pg_ctl`` run as that user
(PostgreSQL refuses to run as root, and pytest's ``tmp_path`` is not readable by other users).
The Unix socket lives inside the cluster folder (``-k``), the TCP port is a free loopback one.

One server serves a whole test session (:func:`start_server`); each test gets its own database
(:meth:`PostgresServer.create_database`), so tests never see each other's rows.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "ledger_admin"
"""The cluster's superuser name (the tests connect as it over TCP with trust authentication)."""


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def find_binaries() -> Path:
    """Return the folder holding ``initdb`` and ``pg_ctl``.

    Raises:
        PostgresUnavailable: neither Debian's versioned folder nor ``PATH`` has them.
    """
    folders = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda folder: (
            int(Path(folder).parent.name) if Path(folder).parent.name.isdigit() else 0
        ),
    )
    for folder in reversed(folders):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found: install Debian's `postgresql` package"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    """Run ``command`` as the ``postgres`` user when this process is root, else as is."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@dataclass
class PostgresServer:
    """A running cluster: its folder, binaries and port."""

    root: Path
    binaries: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        """The ``postgresql://`` URL of ``database`` on this server."""
        credentials = SUPERUSER if password is None else f"{SUPERUSER}:{password}"
        return f"postgresql://{credentials}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """Create a new, empty database and return its URL."""
        import psycopg

        database = name or f"ledger_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{database}"')
        return self.url(database)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and remove its folder."""
        subprocess.run(
            _as_server_user(
                [str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]
            ),
            check=False,
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PostgresServer:
    """Initialise and start a throwaway cluster on a free loopback port.

    Raises:
        PostgresUnavailable: the binaries are missing.
        subprocess.CalledProcessError: ``initdb`` or ``pg_ctl`` failed (its output is attached).
    """
    binaries = find_binaries()
    root = Path(tempfile.mkdtemp(prefix="memory-banker-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres", group="postgres")
    os.chmod(root, 0o700)
    port = _free_port()
    server = PostgresServer(root, binaries, port)
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(binaries / "initdb"),
                    "-D",
                    str(server.data),
                    "-U",
                    SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-k {root} -p {port} -h 127.0.0.1 -c fsync=off -c max_connections=200"
        subprocess.run(
            _as_server_user(
                [
                    str(binaries / "pg_ctl"),
                    "-D",
                    str(server.data),
                    "-o",
                    options,
                    "-l",
                    str(root / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=90,
        )
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server
