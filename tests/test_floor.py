"""scripts/floor.py, the benchmark's floor, does the same work as registry: the same `.cache`
bytes on a cold fetch and all-304 answers on a revalidation (else its figures mean nothing),
over the lanes registry's transport uses (one connection per lane: 8 lanes on HTTP/1.1, one
HTTP/2 connection over TLS for a batch of up to 100). A server that never answers ends a
transfer by its timeouts: counted, exit 1, never a hang (nothing is timed here: the floor's own
timeouts end the stalls, and `subprocess.run`'s limit only turns a hang into a failure)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from query.names import index_path
from registry.api import Registry
from registry.transport.base import TransportOptions
from registry.transport.curl import CurlTransport
from tests.checkutil import INDEX, PROJECTS, lock_packages
from tests.httpserver import Fault, IndexServer
from tests.nginx import Nginx, readable_copy
from tests.tlsca import make_ca

FLOOR = Path(__file__).resolve().parent.parent / "scripts" / "floor.py"
LOCK = PROJECTS / "ripgrep" / "Cargo.lock"
NAMES = sorted({p["name"] for p in lock_packages(LOCK) if "source" in p})
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="the floor forks")


def _floor(*args: str, status: int = 0) -> str:
    done = subprocess.run(
        [sys.executable, str(FLOOR), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == status, done.stdout + done.stderr
    assert done.stderr == ""
    return done.stdout


def _counts(line: str) -> dict[str, int]:
    """``200:65 error:28:1`` -> {"200": 65, "error:28": 1}."""
    pairs = (item.rpartition(":") for item in line.split())
    return {key: int(value) for key, _, value in pairs}


def _same_cache(floor_dir: Path, ours: Path) -> None:
    floor = floor_dir / "registry" / "index" / "floor"
    for name in NAMES:
        rel = index_path(name)
        assert (floor / ".cache" / rel).read_bytes() == Path(ours, ".cache", rel).read_bytes()
    assert (floor / "config.json").read_bytes() == Path(ours, "config.json").read_bytes()


@needs_fork
def test_floor_writes_what_registry_writes_and_revalidates(tmp_path: Path) -> None:
    with IndexServer(INDEX) as server:
        url = "sparse+" + server.url
        with Registry(url, tmp_path / "ours") as reg:
            report = reg.fetch(NAMES)
            ours = reg.store.dir_path
        assert report.downloaded == len(NAMES)
        server.clear_requests()
        before = server.connections
        assert _floor("cold", url, str(tmp_path / "floor"), str(LOCK)) == f"200:{len(NAMES) + 1}\n"
        # HTTP/1.1: every one of the 8 lanes opens its one connection; config.json goes first
        # on its lane, in the same batch (which lane's request the threaded server logs first
        # is up to its threads: a CI run logged an index file first)
        assert server.connections - before == 8
        [config] = [r for r in server.requests if r.rel == "config.json"]
        assert next(r for r in server.requests if r.connection == config.connection) == config
        _same_cache(tmp_path / "floor", ours)
        # config.json is requested unconditionally, every index file conditionally
        revalidated = _floor("revalidate", url, str(tmp_path / "ours"), str(LOCK))
        assert revalidated == f"200:1 304:{len(NAMES)}\n"


FAULTS = {
    "stall before the response": Fault.stall(3600),
    "stall mid-body": Fault.stall(3600, mid_body=True),
    "drip in the body": Fault.drip(),
    "drip in the headers": Fault.drip(in_headers=True),
}


@needs_fork
@pytest.mark.parametrize("mode", ["cold", "revalidate"])
@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_a_server_that_never_answers_is_counted_not_waited_for(
    tmp_path: Path, mode: str, fault: Fault
) -> None:
    stalled = index_path(NAMES[0])
    with IndexServer(INDEX) as server:
        url = "sparse+" + server.url
        cache = tmp_path / "cache"
        if mode == "revalidate":
            with Registry(url, cache) as reg:
                assert reg.fetch(NAMES).downloaded == len(NAMES)
        server.faults[stalled] = [fault]
        # --timeout 0.2: low-speed 1 s, 2 s in all (the drips beat the low-speed limit)
        line = _floor(mode, url, str(cache), str(LOCK), "--timeout", "0.2", status=1)
    counts = _counts(line)
    errors = {key for key in counts if key.startswith("error:")}
    # the stalled transfer, and on HTTP/1.1 maybe the one queued behind it on its connection
    assert errors == {"error:28"}
    assert 1 <= counts["error:28"] <= 2
    assert sum(counts.values()) == len(NAMES) + 1
    assert counts["200" if mode == "cold" else "304"] >= len(NAMES) - 2
    if mode == "cold":
        assert not (cache / "registry" / "index" / "floor" / ".cache" / stalled).exists()


@pytest.mark.parametrize("bad", [[], ["cold", "u", "c"], ["cold", "u", "c", "l", "--timeout"],
                                 ["cold", "u", "c", "l", "--timeout", "soon"],
                                 ["cold", "u", "c", "l", "--timeout", "0"],
                                 ["fetch", "u", "c", "l"]])  # fmt: skip
def test_bad_usage_is_exit_2(bad: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(FLOOR), *bad], check=False, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("usage: floor.py")


@needs_fork
def test_floor_over_tls_http2_gzip_with_the_throwaway_ca(tmp_path: Path) -> None:
    """The benchmark's TLS profile: nginx with HTTP/2 by ALPN and gzip, a certificate from a CA
    nobody trusts unless told to (--cacert)."""
    root = readable_copy(INDEX, tmp_path / "index")
    tls = make_ca(tmp_path / "tls")
    with Nginx(tmp_path / "nginx", 1) as nginx:
        (port,) = nginx.ports
        log = tmp_path / "nginx" / "floor.log"
        nginx.start(
            f"""
  log_format floor '$connection $server_protocol $status $sent_http_content_encoding';
  gzip on;
  gzip_types *;
  gzip_min_length 0;
  server {{
    listen 127.0.0.1:{port} ssl http2;
    ssl_certificate {tls.cert};
    ssl_certificate_key {tls.key};
    access_log {log} floor;
    root {root};
  }}
"""
        )
        url = f"sparse+{nginx.url(0, 'https')}"
        transport = CurlTransport(TransportOptions(ca_file=str(tls.ca)))
        with transport, Registry(url, tmp_path / "ours", transport=transport) as reg:
            assert reg.fetch(NAMES).downloaded == len(NAMES)
            ours = reg.store.dir_path
        seen = len(log.read_text().splitlines()) if log.exists() else 0
        floor_dir = tmp_path / "floor"
        ca = ("--cacert", str(tls.ca))
        assert _floor("cold", url, str(floor_dir), str(LOCK), *ca) == f"200:{len(NAMES) + 1}\n"
        _same_cache(floor_dir, ours)
        revalidated = _floor("revalidate", url, str(tmp_path / "ours"), str(LOCK), *ca)
        assert revalidated == f"200:1 304:{len(NAMES)}\n"
        untrusted = _floor("cold", url, str(tmp_path / "untrusted"), str(LOCK), status=1)
        lines = log.read_text().splitlines()[seen:]
    # without --cacert every transfer fails on the certificate (60: peer verification failed)
    assert _counts(untrusted) == {"error:60": len(NAMES) + 1}
    # each run: one HTTP/2 connection (a batch of 66 fits one lane), gzip-encoded 200s
    assert len(lines) == 2 * (len(NAMES) + 1)
    cold_run, revalidate_run = lines[: len(NAMES) + 1], lines[len(NAMES) + 1 :]
    for run in (cold_run, revalidate_run):
        assert len({line.split()[0] for line in run}) == 1
        assert {line.split()[1] for line in run} == {"HTTP/2.0"}
    assert {line.split(" ", 2)[2] for line in cold_run} == {"200 gzip"}
