"""Fixtures of the desk's tests: every ledger test runs on SQLite and on PostgreSQL.

``ledger_url`` is parametrized over both backends: a fresh SQLite file, or a
fresh database in a throwaway PostgreSQL cluster that is started once per
session (:mod:`tests.desk.postgres`).  Where no PostgreSQL can be started the
PostgreSQL half is skipped with the reason - unless ``RETURNRULES_REQUIRE_
POSTGRES=1`` (CI sets it), where it fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.desk import postgres

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[postgres.Cluster]:
    """A throwaway PostgreSQL server for the whole session."""
    try:
        cluster = postgres.start()
    except postgres.Unavailable as exc:
        if os.environ.get(postgres.REQUIRE) == "1":
            pytest.fail(f"{postgres.REQUIRE}=1 but {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


NewUrl = Callable[[], str]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> NewUrl:
    """Makes the URL of a new, empty ledger on this test's backend."""
    if backend == "sqlite":
        names = iter(range(1_000_000))
        return lambda: f"sqlite:///{tmp_path / f'ledger{next(names)}.db'}"
    cluster: postgres.Cluster = request.getfixturevalue("pg_cluster")
    return cluster.database


@pytest.fixture
def ledger_url(new_url: NewUrl) -> str:
    """The URL of a new, empty ledger: SQLite, then PostgreSQL."""
    return new_url()
