"""A private PostgreSQL cluster for a test that stops and starts its database server.

The machine's shared PostgreSQL serves the rest of the suite (and other test runs): a test that
restarts "the database" restarts its own cluster, made with ``initdb`` in a temporary folder on
a free port of 127.0.0.1 (trust authentication, no fsync: it holds throw-away test data).
"""

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.db import connection

from tests.conftest import free_port

PG_BIN = Path(os.environ.get("PORTAL_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres(args: list[str]) -> list[str]:
    """initdb and the server refuse to run as root: as root, run them as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class PrivateCluster:
    def __init__(self, folder: Path, port: int):
        self.folder = folder
        self.data = folder / "data"
        self.port = port

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args]),
            check=True, capture_output=True, timeout=90,
        )

    def start(self) -> None:
        self.pg_ctl(
            "-l", str(self.folder / "server.log"),
            "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50",
            "start",
        )

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")

    def copy_of_test_database(self, name: str) -> str:
        """A database on this cluster with the schema and rows of the suite's test database
        (migrated once by pytest-django; a dump is faster than migrating again)."""
        params = connection.settings_dict
        source = [
            str(PG_BIN / "pg_dump"), "--no-owner", "--no-privileges",
            "-h", params["HOST"] or "127.0.0.1", "-p", str(params["PORT"] or 5432),
            "-U", params["USER"] or "postgres", params["NAME"],
        ]
        env = {**os.environ, "PGPASSWORD": params.get("PASSWORD") or ""}
        target = [str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                  "-p", str(self.port), "-U", "postgres"]
        subprocess.run([*target, "-c", f'CREATE DATABASE "{name}"'], check=True,
                       capture_output=True, timeout=60)
        dump = subprocess.run(source, check=True, capture_output=True, env=env, timeout=120)
        subprocess.run([*target, "-d", name], input=dump.stdout, check=True,
                       capture_output=True, timeout=120)
        return self.url(name)


@contextlib.contextmanager
def private_cluster():
    folder = Path(tempfile.mkdtemp(prefix="portal-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    cluster = PrivateCluster(folder, free_port())
    try:
        subprocess.run(
            _as_postgres([str(PG_BIN / "initdb"), "-D", str(cluster.data), "-U", "postgres",
                          "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]),
            check=True, capture_output=True, timeout=120,
        )
        cluster.start()
        try:
            yield cluster
        finally:
            with contextlib.suppress(subprocess.SubprocessError):
                cluster.pg_ctl("-m", "immediate", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
