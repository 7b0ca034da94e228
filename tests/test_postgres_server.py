"""The tests' PostgreSQL server starts from the system binaries; each test gets its own database."""

from __future__ import annotations

import psycopg

from tests.support.postgres import PostgresServer


def test_each_test_database_is_empty_and_separate(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    other = postgres_server.create_database()
    assert other != postgres_url
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE marker (id integer)")
        connection.execute("INSERT INTO marker VALUES (7)")
        assert connection.execute("SELECT id FROM marker").fetchall() == [(7,)]
    with psycopg.connect(other) as connection:
        tables = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'marker'"
        ).fetchone()
        assert tables == (0,)
