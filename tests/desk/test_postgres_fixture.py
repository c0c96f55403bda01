"""The throwaway PostgreSQL cluster the desk's tests run on."""

from __future__ import annotations

import pytest

from tests.desk import postgres

psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")


def test_each_test_gets_its_own_empty_database(pg_cluster: postgres.Cluster) -> None:
    first, second = pg_cluster.database(), pg_cluster.database()
    assert first != second
    with psycopg.connect(first) as connection:
        connection.execute("CREATE TABLE t (x INTEGER)")
        connection.commit()
    for url in (second, pg_cluster.create_database()):
        with psycopg.connect(url) as connection:
            tables = connection.execute(
                "SELECT COUNT(*) FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            ).fetchone()
        assert tables == (0,)


def test_the_server_listens_on_loopback_only(pg_cluster: postgres.Cluster) -> None:
    with psycopg.connect(pg_cluster.admin_url) as connection:
        row = connection.execute("SHOW listen_addresses").fetchone()
        fsync = connection.execute("SHOW fsync").fetchone()
    assert row == ("127.0.0.1",)
    assert fsync == ("off",)


def test_missing_binaries_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("glob.glob", lambda pattern: [])
    with pytest.raises(postgres.Unavailable, match="initdb"):
        postgres.find_binaries()
