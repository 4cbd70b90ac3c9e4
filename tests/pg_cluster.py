"""A throwaway PostgreSQL cluster for tests that stop the server (outages) or need password
authentication: its own data directory in a temporary directory and its own free port, never
the shared server on 5432.

``initdb`` and ``pg_ctl`` come from the newest ``/usr/lib/postgresql/*/bin`` (or ``PATH``); as
root they run as the ``postgres`` OS user (``runuser -u postgres --``), since initdb refuses root.
TCP only (no Unix socket), password (SCRAM) authentication for user ``postgres``. The cluster is
stopped and its directory removed by :meth:`PgCluster.destroy`, also after a failed test.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PASSWORD = "outage-test-secret"


def _pg_bin() -> Path | None:
    roots = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: float(p.parent.parent.name) if p.parent.parent.name.replace(".", "").isdigit() else 0)
    if roots:
        return roots[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    """A free TCP port outside the ephemeral range (so the restart can take the same one)."""
    for _ in range(200):
        port = random.randint(20000, 29999)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for a throwaway PostgreSQL cluster")


class PgCluster:
    """``initdb`` + ``pg_ctl`` in a temporary directory; :meth:`stop` / :meth:`start` at will."""

    def __init__(self):
        bindir = _pg_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found")
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="p2pstore-pgcluster-"))
        self.data = self.root / "data"
        self.logfile = self.root / "server.log"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth-local=trust",
                  "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync")
        self.start()

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / tool), *args]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def url(self, database: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql+psycopg://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-o", opts, "-w", "-t", "60", "start")

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (``immediate``: like a crash, connections are cut at once)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def admin(self, sql: str) -> None:
        import psycopg

        url = self.url().replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def destroy(self) -> None:
        try:
            if self.data.exists() and self.running():
                self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
