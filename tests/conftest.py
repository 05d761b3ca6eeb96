"""Shared pytest fixtures. Each block below is owned by one part of the suite; append new blocks."""

from __future__ import annotations

# ==== BEGIN transport / test HTTP server fixtures ================================================
# index_server, make_index_dir, and an autouse guard that keeps proxy variables out of every test.
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.httpserver import IndexServer, index_path

_PROXY_VARIABLES = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
)

#: What `make_index_dir` writes as config.json unless told otherwise.
DEFAULT_INDEX_CONFIG: Mapping[str, Any] = {"dl": "https://crates.invalid/api/v1/crates"}

MakeIndexDir = Callable[..., Path]


@pytest.fixture(autouse=True)
def _no_proxy_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to 127.0.0.1 only: a proxy set on the machine must not intercept them."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_index_dir(tmp_path: Path) -> MakeIndexDir:
    """Write a sparse index tree; returns its root (default `tmp_path / "index"`).

    ``make_index_dir({"serde": [line, ...]}, config=..., root=...)``: each crate's lines go to
    cargo's path for the lowercased name (`se/rd/serde`), one per line with a trailing newline.
    A line is a str (written verbatim) or a mapping (compact JSON). `config` is a mapping (JSON),
    bytes (verbatim) or None (no config.json); it defaults to `DEFAULT_INDEX_CONFIG`. Calling it
    again adds/overwrites files. The default root is also `index_server`'s default root.
    """

    def make(
        crates: Mapping[str, Sequence[str | Mapping[str, Any]]] | None = None,
        *,
        config: Mapping[str, Any] | bytes | None = DEFAULT_INDEX_CONFIG,
        root: Path | None = None,
    ) -> Path:
        base = root if root is not None else tmp_path / "index"
        base.mkdir(parents=True, exist_ok=True)
        if config is not None:
            raw = config if isinstance(config, bytes) else json.dumps(config).encode()
            (base / "config.json").write_bytes(raw)
        for name, lines in (crates or {}).items():
            path = base / index_path(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            text = "".join(
                (line if isinstance(line, str) else json.dumps(line, separators=(",", ":"))) + "\n"
                for line in lines
            )
            path.write_text(text, encoding="utf-8")
        return base

    return make


@pytest.fixture
def index_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IndexServer]:
    """A running `IndexServer` (see tests/httpserver.py), stopped after the test.

    Serves `tmp_path / "index"` unless configured; `.root` is the directory, `.url` is
    `http://127.0.0.1:<port>/`. Configure it through indirect parametrisation with a dict of
    `IndexServer` keyword arguments (may include "root") or a root path::

        @pytest.mark.parametrize("index_server", [{"gzip": True, "max_age": 60}], indirect=True)
    """
    param = getattr(request, "param", None)
    kwargs: dict[str, Any] = {}
    if isinstance(param, Mapping):
        kwargs = dict(param)
    elif isinstance(param, str | Path):
        kwargs = {"root": param}
    elif param is not None:
        raise TypeError("index_server takes a dict of IndexServer arguments or a root path")
    root = Path(kwargs.pop("root", tmp_path / "index"))
    root.mkdir(parents=True, exist_ok=True)
    with IndexServer(root, **kwargs) as server:
        yield server


# ==== END transport / test HTTP server fixtures ==================================================


# ==== BEGIN cargo configuration of the machine ===================================================
# The variables cargo's configuration reads (registry/config/settings.py) come from the test,
# never from the machine running it: a CI image's SSL_CERT_FILE or CARGO_NET_RETRY would change
# answers, and -v lines. (Subprocesses get a clean environment: tests/reliability/support.py.)
_CONFIG_VARIABLES = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_TIMEOUT",
    "NO_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
)
_CONFIG_PREFIXES = ("CARGO_HTTP_", "CARGO_NET_", "CARGO_TERM_", "CARGO_REGISTRIES_")


@pytest.fixture(autouse=True)
def _no_cargo_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No cargo settings from the machine's environment, and a $CARGO_HOME of the test's own
    (empty unless the test writes one): the developer's ~/.cargo/config.toml may replace
    crates.io or set a proxy, and ``query`` and ``fetch`` read it."""
    for name in list(os.environ):
        if name in _CONFIG_VARIABLES or name.startswith(_CONFIG_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "cargo-home-of-the-test"))


# ==== END cargo configuration of the machine =====================================================


# ==== BEGIN bytecode for the CLI subprocesses ====================================================
# Many tests run ``python -m registry`` (or cargo-registry) as a subprocess. Where the machine
# sets PYTHONDONTWRITEBYTECODE=1 (this one, CI images), an editable install is never byte-
# compiled, so every such subprocess compiled registry/, cache/ and query/ from source again:
# ~50-80 ms each, thousands of times a session. Compiling them once here (what a wheel install
# does, and what scripts/bench.py does before timing) lets each subprocess load the bytecode.
# Python still checks each .pyc against its source's mtime and size, so the code run is the
# source's. __pycache__/ is ignored by git and left out of the sdist.
def pytest_sessionstart(session: pytest.Session) -> None:
    import compileall

    root = Path(__file__).resolve().parent.parent
    for package in ("registry", "cache", "query"):
        compileall.compile_dir(root / package, quiet=1)


# ==== END bytecode for the CLI subprocesses ======================================================


# ==== BEGIN connections opened early =============================================================
@pytest.fixture
def preconnects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Each call of registry/transport/preconnect.py's `open_connections` (which still opens
    them), as (requests it was told of, sockets it opened)."""
    from registry.transport import preconnect

    calls: list[tuple[int, int]] = []
    real = preconnect.open_connections

    def spy(*args: Any) -> preconnect.Preconnected | None:
        found = real(*args)
        calls.append((args[1], len(found) if found is not None else 0))
        return found

    monkeypatch.setattr(preconnect, "open_connections", spy)
    return calls


# ==== END connections opened early ===============================================================
