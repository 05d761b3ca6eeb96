"""scripts/bench.py's shim: registry's CLI with transport options set, leaving as the console
script does (its output flushed, its exit code kept), so that the benchmark times what users run."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.checkutil import line
from tests.httpserver import IndexServer

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench.py"


def _shim(monkeypatch: pytest.MonkeyPatch, **fields: object) -> str:
    spec = importlib.util.spec_from_file_location("bench_for_test", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # its dataclasses look themselves up
    spec.loader.exec_module(bench)
    code: str = bench.shim(**fields)
    return code


def test_the_shim_sets_its_options_and_leaves_like_the_console_script(
    make_index_dir: Any,
    index_server: IndexServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_index_dir(
        {"foo": [line("foo", f"1.{i}.0") for i in range(20)], "bar": [line("bar", "1.0.0")]}
    )
    code = _shim(monkeypatch, max_body_bytes=1000)
    assert "entry()" in code and "sys.exit" not in code
    argv = [sys.executable, "-c", code, "--index-url", index_server.url]
    argv += ["--cache-dir", str(tmp_path), "fetch", "foo", "bar", "nope"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    # the option reached the transport: foo's 20 lines are over 1000 bytes, bar's one is not;
    # exit 3 (a crate failed), both streams flushed before os._exit
    assert done.returncode == 3, done.stderr
    assert done.stdout.startswith("3 crates: 1 downloaded, 0 unchanged, 0 from cache, 1 not")
    assert done.stderr == (
        f"error: {index_server.url}3/f/foo: response body over 1000 bytes; check the network or "
        "the registry, then run again\nnot found: nope\n"
    )
