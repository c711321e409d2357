"""A throwaway PostgreSQL server in a temporary folder, for tests and local experiments.

``TemporaryPostgres`` runs the server binaries of a local PostgreSQL install (the Debian
package ``postgresql``; no system service is used or needed): it makes a new cluster with
``initdb`` in a temporary folder, starts it with ``pg_ctl`` on a free TCP port on 127.0.0.1
only (its Unix socket goes in the same folder), creates one database, and on exit stops the
server and deletes the folder. Several processes can each run their own at the same time.

    with TemporaryPostgres() as server:
        psycopg.connect(server.dsn)

The cluster trusts every local connection and runs with ``fsync`` off: it is for data that
may be lost, never for anything kept. When the process runs as root (as CI does), the
folder is given to the ``postgres`` OS user, and ``initdb`` and ``pg_ctl`` run as that user
through ``runuser``, because PostgreSQL refuses to run as root.

Only the standard library is used here; the client library (psycopg) belongs to the caller.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

__all__ = [
    "PostgresNotFoundError",
    "PostgresStartError",
    "TemporaryPostgres",
    "find_postgres_bin",
]

#: Where the Debian and Ubuntu packages put each major version's server binaries.
DEBIAN_ROOT = Path("/usr/lib/postgresql")
#: The OS user that owns the cluster when this process runs as root.
OS_USER = "postgres"
#: How many ports to try when another process takes the chosen one first.
PORT_ATTEMPTS = 5

_INSTALL_HINT = (
    "Install PostgreSQL's server binaries: on Debian or Ubuntu, "
    "`apt-get install postgresql` (`./run test` does this)."
)


class PostgresNotFoundError(RuntimeError):
    """No PostgreSQL server binaries (``initdb``, ``pg_ctl``) were found on this machine."""


class PostgresStartError(RuntimeError):
    """The temporary PostgreSQL server could not be created, started or prepared."""


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key for ``/usr/lib/postgresql/<version>``: 15 < 16 < 17, non-numbers first."""
    return tuple(int(part) for part in re.findall(r"\d+", path.name)) or (-1,)


def find_postgres_bin(bin_dir: str | Path | None = None) -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``.

    ``bin_dir`` if given; otherwise the newest ``/usr/lib/postgresql/*/bin``; otherwise the
    folder of ``initdb`` on ``PATH``. Raises :class:`PostgresNotFoundError`, saying how to
    install them, when there are none.
    """
    candidates: list[Path]
    if bin_dir is not None:
        candidates = [Path(bin_dir)]
    else:
        versions = sorted(
            (p for p in DEBIAN_ROOT.glob("*") if (p / "bin" / "initdb").is_file()),
            key=_version_key,
            reverse=True,
        )
        candidates = [p / "bin" for p in versions]
        on_path = shutil.which("initdb")
        if on_path is not None:
            candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if all(os.access(folder / tool, os.X_OK) for tool in ("initdb", "pg_ctl")):
            return folder
    where = str(bin_dir) if bin_dir is not None else f"{DEBIAN_ROOT}/*/bin or on PATH"
    raise PostgresNotFoundError(
        f"No PostgreSQL server binaries (initdb, pg_ctl) in {where}. {_INSTALL_HINT}"
    )


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts_connections(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _conf_string(value: str) -> str:
    """A value quoted for ``postgresql.conf``."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class TemporaryPostgres:
    """A PostgreSQL server of its own in a temporary folder, stopped and deleted on exit.

    Use it as a context manager (``with TemporaryPostgres() as server: ...``), or call
    :meth:`start` and :meth:`stop` yourself. Once started, :attr:`dsn` is a libpq URL for
    the database, e.g. ``postgresql://commissioning@127.0.0.1:54321/commissioning``; the
    user is a superuser and needs no password.

    Args:
        database: name of the database created after start-up.
        user: the cluster's superuser (``initdb -U``).
        bin_dir: folder of the server binaries; found by :func:`find_postgres_bin` if None.
        parent: folder in which the temporary folder is made (the system default if None).
            When running as root it must be reachable by the ``postgres`` user.
        timeout: seconds to wait for each start-up or shutdown.
    """

    def __init__(
        self,
        *,
        database: str = "commissioning",
        user: str = "commissioning",
        bin_dir: str | Path | None = None,
        parent: str | Path | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.database = database
        self.user = user
        self.bin_dir = find_postgres_bin(bin_dir)
        self.parent = Path(parent) if parent is not None else None
        self.timeout = timeout
        self.host = "127.0.0.1"
        self._port: int | None = None
        self._folder: Path | None = None
        self._running = False

    # ----------------------------------------------------------------- properties

    @property
    def port(self) -> int:
        """The TCP port the server listens on (127.0.0.1 only)."""
        if self._port is None or not self._running:
            raise RuntimeError("the temporary PostgreSQL server is not running")
        return self._port

    @property
    def dsn(self) -> str:
        """A libpq connection URL for the database, as the superuser, no password."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"

    @property
    def folder(self) -> Path:
        """The temporary folder: ``data/`` (the cluster), ``server.log`` and the socket."""
        if self._folder is None:
            raise RuntimeError("the temporary PostgreSQL server has not been started")
        return self._folder

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        """The server's log file."""
        return self.folder / "server.log"

    @property
    def running(self) -> bool:
        """Whether :meth:`start` succeeded and :meth:`stop` has not been called since."""
        return self._running

    # --------------------------------------------------------------- life cycle

    def start(self) -> TemporaryPostgres:
        """Make the cluster, start the server, create the database; returns ``self``.

        On any failure everything made so far is stopped and deleted, and
        :class:`PostgresStartError` is raised with the end of the server log.
        """
        if self._running:
            raise RuntimeError("the temporary PostgreSQL server is already running")
        self._folder = Path(tempfile.mkdtemp(prefix="commissioning-pg-", dir=self.parent))
        try:
            self._prepare_folder()
            self._initdb()
            self._start_on_free_port()
            self._running = True
            self._create_database()
        except BaseException:
            self._shutdown()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete the temporary folder. Idempotent."""
        self._shutdown()

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port {self._port}" if self._running else "stopped"
        return f"TemporaryPostgres({self.bin_dir}, {state})"

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _as_root() -> bool:
        return hasattr(os, "geteuid") and os.geteuid() == 0

    def _prefix(self) -> list[str]:
        """``runuser -u postgres --`` when running as root, else nothing."""
        if not self._as_root():
            return []
        runuser = shutil.which("runuser") or next(
            (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if os.access(p, os.X_OK)), None
        )
        if runuser is None:
            raise PostgresStartError(
                "Running as root, PostgreSQL must run as another user, but `runuser` "
                "(util-linux) was not found."
            )
        return [runuser, "-u", OS_USER, "--"]

    def _prepare_folder(self) -> None:
        """As root, give the temporary folder to the ``postgres`` user."""
        if not self._as_root():
            return
        try:
            entry = pwd.getpwnam(OS_USER)
        except KeyError:
            raise PostgresStartError(
                f"Running as root, PostgreSQL must run as the `{OS_USER}` OS user, which "
                f"does not exist. {_INSTALL_HINT} (the package creates it)"
            ) from None
        os.chown(self.folder, entry.pw_uid, entry.pw_gid)

    @staticmethod
    def _environment() -> dict[str, str]:
        """This process's environment without libpq settings (PGHOST, PGPORT, ...)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return env

    def _run(self, args: list[str], *, server_tool: bool, what: str) -> None:
        """Run one PostgreSQL program; as ``postgres`` if it is a server tool and we are root."""
        command = (self._prefix() if server_tool else []) + args
        try:
            result = subprocess.run(
                command,
                cwd=self.folder,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self.timeout + 10,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise PostgresStartError(
                f"{what} did not finish within {self.timeout + 10:.0f}s.{self._log_tail()}"
            ) from exc
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()
            raise PostgresStartError(
                f"{what} failed (exit {result.returncode}): {output}{self._log_tail()}"
            )

    def _tool(self, name: str) -> str:
        return str(self.bin_dir / name)

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        if not text:
            return ""
        return "\nEnd of the server log:\n" + "\n".join(text[-lines:])

    def _initdb(self) -> None:
        self._run(
            [
                self._tool("initdb"),
                "--pgdata",
                str(self.data_dir),
                "--auth=trust",
                "--username",
                self.user,
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            server_tool=True,
            what="initdb",
        )
        settings = {
            "listen_addresses": _conf_string(self.host),
            "unix_socket_directories": _conf_string(str(self.folder)),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "'32MB'",
            "max_connections": "50",
        }
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# Set by commissioning.store.postgres_cluster: a throwaway cluster.\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def _start_on_free_port(self) -> None:
        """Start the server, trying another port if another process took the chosen one."""
        for attempt in range(1, PORT_ATTEMPTS + 1):
            port = _free_port()
            self.log_file.unlink(missing_ok=True)
            try:
                self._run(
                    [
                        self._tool("pg_ctl"),
                        "start",
                        "--pgdata",
                        str(self.data_dir),
                        "--log",
                        str(self.log_file),
                        "--wait",
                        "--timeout",
                        str(round(self.timeout)),
                        "-o",
                        f"-p {port}",
                    ],
                    server_tool=True,
                    what=f"pg_ctl start (port {port})",
                )
            except PostgresStartError as exc:
                log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
                self._force_stop()
                if "could not bind" in log and attempt < PORT_ATTEMPTS:
                    continue
                raise PostgresStartError(
                    f"The temporary PostgreSQL server in {self.folder} did not start. {exc}"
                ) from exc
            self._port = port
            self._wait_for_tcp(port)
            return

    def _wait_for_tcp(self, port: int) -> None:
        """Wait until ``pg_isready`` says the server accepts connections on its TCP port."""
        deadline = time.monotonic() + self.timeout
        isready = self.bin_dir / "pg_isready"
        while True:
            if isready.exists():
                ok = (
                    subprocess.run(
                        [str(isready), "-q", "-h", self.host, "-p", str(port), "-t", "2"],
                        env=self._environment(),
                        stdin=subprocess.DEVNULL,
                        capture_output=True,
                        check=False,
                    ).returncode
                    == 0
                )
            else:
                ok = _accepts_connections(port)
            if ok:
                return
            if time.monotonic() > deadline:
                raise PostgresStartError(
                    f"The temporary PostgreSQL server started but did not accept connections "
                    f"on {self.host}:{port} within {self.timeout:.0f}s.{self._log_tail()}"
                )
            time.sleep(0.05)

    def _create_database(self) -> None:
        if self.database == "postgres":
            return
        self._run(
            [
                self._tool("createdb"),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                self.database,
            ],
            server_tool=False,
            what=f"createdb {self.database}",
        )

    def _force_stop(self) -> None:
        """Stop whatever server runs from the data directory: fast, then immediate, then kill."""
        if not (self.data_dir / "postmaster.pid").exists():
            return
        for mode in ("fast", "immediate"):
            try:
                self._run(
                    [
                        self._tool("pg_ctl"),
                        "stop",
                        "--pgdata",
                        str(self.data_dir),
                        "--mode",
                        mode,
                        "--wait",
                        "--timeout",
                        str(round(self.timeout)),
                    ],
                    server_tool=True,
                    what=f"pg_ctl stop -m {mode}",
                )
                return
            except PostgresStartError:
                if not (self.data_dir / "postmaster.pid").exists():
                    return
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass

    def _shutdown(self) -> None:
        if self._folder is None:
            return
        try:
            self._force_stop()
        finally:
            folder, self._folder, self._running = self._folder, None, False
            shutil.rmtree(folder, ignore_errors=True)
