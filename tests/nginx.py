"""A real nginx on 127.0.0.1 for integration tests (Debian's package, ``/usr/sbin/nginx``).

:class:`Nginx` runs one nginx in the foreground (``daemon off``) as our child, with its own prefix
directory (pid file, logs, temp dirs) under the test's temporary directory; it is stopped by its
pid, gracefully (SIGQUIT), when the ``with`` block ends.

Readiness without waiting: the test binds and listens on each port itself, before nginx starts,
and hands the sockets over the way nginx's binary upgrade does (the ``NGINX="fd;fd;"``
environment variable: nginx adopts inherited sockets whose address matches a ``listen``; they
are non-blocking, as nginx's own would be). A client that connects before nginx's worker runs
waits in the kernel's backlog, so there is no port polling, and no race for a "free" port
either.

When nginx is not installed the tests that need it are skipped, unless ``CI`` is set (``.ci/run``
sets it, and installs nginx), which turns the skip into a failure, as for cargo: CI never passes
by skipping them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from pathlib import Path
from types import TracebackType

import pytest

__all__ = ["Nginx", "nginx_binary", "readable_copy", "require_nginx", "world_readable"]


def nginx_binary() -> str | None:
    """The nginx executable (PATH, then Debian's /usr/sbin), or None."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def require_nginx() -> str:
    """The nginx executable; skips the test when there is none (fails when ``CI`` is set)."""
    binary = nginx_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed, and CI is set: the nginx tests must run")
        pytest.skip("nginx is not installed (apt-get install -y nginx; set CI=1 to fail instead)")
    return binary


def world_readable(root: Path) -> None:
    """nginx's workers run as ``nobody`` when the master runs as root: let them read ``root``
    (a tree under the test's tmp dir, which pytest creates 0700) and pass through its parents."""
    for dirpath, _dirs, files in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o644)
    for parent in root.parents:
        mode = parent.stat().st_mode
        if mode & 0o001 == 0:
            try:
                os.chmod(parent, mode | 0o001)
            except PermissionError:
                break


def readable_copy(source: Path, target: Path) -> Path:
    """A copy of the tree ``source`` at ``target`` that nginx's workers can read."""
    shutil.copytree(source, target)
    world_readable(target)
    return target


def _same_user() -> str:
    """``user`` for the workers: this process's own user and group when it runs as root (nginx
    would drop them to ``nobody``, who cannot pass through pytest's 0700 tmp dirs: another
    pytest run on the machine resets ``/tmp/pytest-of-<user>`` to 0700 at any moment, so
    `world_readable` alone is not enough), nothing otherwise (nginx keeps the unprivileged
    user it was started as)."""
    if os.geteuid() != 0:
        return ""
    import grp
    import pwd

    user = pwd.getpwuid(os.geteuid()).pw_name
    group = grp.getgrgid(os.getegid()).gr_name
    return f"user {user} {group};\n"


class Nginx:
    """One nginx on ``len(ports)`` listening sockets of 127.0.0.1.

    ``Nginx(prefix, n)`` binds ``n`` ports (``.ports``); :meth:`start` runs nginx with the given
    ``server { ... }`` blocks (and any other directives of nginx's ``http`` context), which must
    listen on exactly those ports; the ``with`` block's end stops it. ``url(i)`` is
    ``http://127.0.0.1:<ports[i]>/``. ``access_log=False`` turns the default access log off
    (benchmarks); a server block may still log on its own."""

    def __init__(
        self, prefix: Path, count: int = 1, *, workers: int = 1, access_log: bool = True
    ) -> None:
        self.binary = require_nginx()
        self.prefix = prefix
        self.workers = workers
        self.access_log = access_log
        self.sockets: list[socket.socket] = []
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.listen(511)
            # nginx adopts an inherited socket as it is, and never makes it non-blocking itself:
            # a blocking one lets a worker that lost the race for a new connection sleep in
            # accept() until the next one arrives, its accepted connections unanswered meanwhile
            # (about 1 in 100 batches of 7 connections stalled until the client's timeout, 30 s,
            # with 2 workers: every client alike, cargo too)
            sock.setblocking(False)
            self.sockets.append(sock)
        self.ports = [int(sock.getsockname()[1]) for sock in self.sockets]
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, i: int = 0, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.ports[i]}/"

    def config(self, servers: str) -> str:
        d = self.prefix
        access_log = f"{d}/access.log" if self.access_log else "off"
        return f"""\
daemon off;
{_same_user()}worker_processes {self.workers};
pid {d}/nginx.pid;
error_log {d}/error.log notice;
events {{ worker_connections 1024; }}
http {{
  access_log {access_log};
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 100000;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
{servers}
}}
"""

    def log(self) -> str:
        """nginx's stderr and error log so far (for failure messages)."""
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self.prefix / name
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "".join(parts)

    def start(self, servers: str) -> Nginx:
        for port in self.ports:  # a port nginx would not adopt would leave clients waiting
            if f"127.0.0.1:{port}" not in servers:
                raise ValueError(f"no server block listens on 127.0.0.1:{port}")
        (self.prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.config(servers))
        check = subprocess.run(
            [self.binary, "-t", "-q", "-p", f"{self.prefix}/", "-c", str(conf), "-e", "stderr"],
            check=False,
            capture_output=True,
            text=True,
        )
        if check.returncode != 0:
            raise RuntimeError(f"nginx rejected {conf}: {check.stderr.strip()}")
        fds = [sock.fileno() for sock in self.sockets]
        env = {**os.environ, "NGINX": "".join(f"{fd};" for fd in fds)}
        with open(self.prefix / "stderr.log", "wb") as err:
            self.proc = subprocess.Popen(
                [self.binary, "-p", f"{self.prefix}/", "-c", str(conf), "-e", "stderr"],
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                pass_fds=fds,
                env=env,
                start_new_session=True,
            )
        return self

    def stop(self) -> None:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGQUIT)  # graceful: the master stops its workers
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for sock in self.sockets:
            sock.close()

    def __enter__(self) -> Nginx:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
