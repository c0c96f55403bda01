"""A throwaway PostgreSQL cluster for the desk's tests.

:func:`start` runs ``initdb`` (trust authentication, no fsync) into a fresh
temporary directory and starts the server on a free loopback port with its
unix socket in that directory; :meth:`Cluster.database` makes an empty
ledger database (a schema of its own, in milliseconds) and returns its URL;
:meth:`Cluster.stop` stops the server and removes everything.

The server refuses to run as root: under root (CI) every server command runs
as the ``postgres`` OS user through ``runuser``, in a directory it owns.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Final

import attrs

__all__ = ["Cluster", "Unavailable", "find_binaries", "start"]

REQUIRE: Final = "RETURNRULES_REQUIRE_POSTGRES"
"""Set to 1 (CI does): a missing PostgreSQL fails the tests instead of skipping."""


class Unavailable(Exception):
    """No PostgreSQL server can be started here; the message says why."""


def find_binaries() -> Path:
    """The directory of ``initdb`` and ``pg_ctl``: on PATH, or Debian's."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        return Path(initdb).parent
    raise Unavailable(
        "no PostgreSQL server binaries (initdb, pg_ctl): install Debian's "
        "`postgresql` package, or put them on PATH"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@attrs.define
class Cluster:
    """A running throwaway server."""

    root: Path
    port: int
    bindir: Path
    as_user: tuple[str, ...]
    _names: itertools.count[int] = attrs.field(factory=itertools.count)

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def database(self, prefix: str = "t") -> str:
        """A new empty ledger database; its URL.

        A schema of its own in one shared database, named by the URL's
        ``search_path`` (``CREATE SCHEMA`` takes a millisecond where
        ``CREATE DATABASE`` takes half a second); the desk names no schema
        in its SQL, so to it this is a database like any other.
        """
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url("ledgers"), autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{name}"')
        return self.url("ledgers") + f"?options=-csearch_path%3D{name}"

    def create_database(self, prefix: str = "d") -> str:
        """A new empty database of its own (``CREATE DATABASE``); its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                [*self.as_user, str(self.bindir / "pg_ctl"), "stop", "-m",
                 "immediate", "-D", str(self.root / "data")],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def start() -> Cluster:
    """initdb and start a server; raises :class:`Unavailable` if it cannot."""
    try:
        import psycopg
    except ImportError:
        raise Unavailable(
            "psycopg is not installed: pip install 'returnrules[postgres]'"
        ) from None
    bindir = find_binaries()
    root = Path(tempfile.mkdtemp(prefix="returnrules-pg-"))
    as_user: tuple[str, ...] = ()
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            raise Unavailable("running as root, and there is no runuser to drop to")
        try:
            import pwd

            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise Unavailable(
                "running as root and there is no `postgres` OS user to run the "
                "server as (PostgreSQL refuses to run as root)"
            ) from None
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = (runuser, "-u", "postgres", "--")
    port = _free_port()
    data = root / "data"
    try:
        _run(
            [*as_user, str(bindir / "initdb"), "-A", "trust", "-U", "postgres",
             "-E", "UTF8", "--locale=C", "--no-sync", "-D", str(data)],
        )  # fmt: skip
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        )
        _run(
            [*as_user, str(bindir / "pg_ctl"), "start", "-w", "-t", "60",
             "-D", str(data), "-l", str(root / "server.log"), "-o", options],
        )  # fmt: skip
    except Unavailable:
        shutil.rmtree(root, ignore_errors=True)
        raise
    cluster = Cluster(root, port, bindir, as_user)
    import psycopg

    with psycopg.connect(cluster.admin_url, autocommit=True) as connection:
        connection.execute("CREATE DATABASE ledgers TEMPLATE template0")
    return cluster


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise Unavailable(f"{Path(command[-1]).name}: {exc}") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise Unavailable(f"{' '.join(command)} failed: {' / '.join(tail)}")
