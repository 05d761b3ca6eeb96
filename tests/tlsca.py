"""A throwaway certificate authority for TLS tests, made with the ``openssl`` command.

:func:`make_ca` writes, under a directory: ``ca.pem`` (a self-signed CA), and ``server.pem`` /
``server.key`` (a leaf for ``127.0.0.1`` and ``localhost``, signed by that CA). P-256 keys: quick
to make. Nothing here is trusted by the system, so a client that verifies peers fails against
it unless told to trust ``ca.pem``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from query.record import Record

__all__ = ["TlsFiles", "make_ca"]


class TlsFiles(Record):
    ca: Path
    cert: Path
    key: Path


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], check=False, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {done.stderr.strip()}")


def make_ca(directory: Path, *, name: str = "registry test CA") -> TlsFiles:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    _openssl(
        "req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
        cwd=directory,
    )  # fmt: skip
    (directory / "server.ext").write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
    )
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
        cwd=directory,
    )  # fmt: skip
    return TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
