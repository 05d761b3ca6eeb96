"""action.yml: the GitHub Action keeps registry's cache between runs (actions/cache, keyed by
the hash of the lockfile and manifests), so a rerun answers from the null-build fingerprint.

The check step's own script runs here, twice, as the runner would run it; between the runs the
cache directory goes through a ``tar --posix`` archive and back, as actions/cache saves and
restores it (its tar arguments: ``--posix -cf`` / ``-xf``, toolkit packages/cache tar.ts).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.httpserver import IndexServer
from tests.reliability.support import FIXTURE_INDEX, REPO, cli_env

ACTION = (REPO / "action.yml").read_text()
RIPGREP = REPO / "tests" / "fixtures" / "projects" / "ripgrep"


def step(name: str) -> str:
    """The text of the step called ``name`` (up to the next step)."""
    match = re.search(rf"\n    - name: {re.escape(name)}\n(.*?)(?=\n    - name: |\Z)", ACTION, re.S)
    assert match is not None, name
    return match.group(1)


def script(step_text: str) -> str:
    """The ``run: |`` block of a step, dedented."""
    lines = step_text.split("\n")
    start = lines.index("      run: |") + 1
    body = []
    for line in lines[start:]:
        if line and not line.startswith("        "):
            break
        body.append(line[8:])
    return "\n".join(body) + "\n"


def test_the_cache_steps_share_one_path_and_key_on_the_lockfile() -> None:
    restore, check, save = (
        step("Restore the registry cache"),
        step("registry check"),
        step("Save the registry cache"),
    )
    path = "${{ runner.temp }}/registry-cache"
    assert "uses: actions/cache/restore@v4" in restore
    assert f"path: {path}" in restore
    assert "hashFiles('**/Cargo.lock'" in restore
    assert "if: inputs.cache == 'true'" in restore
    assert f"REGISTRY_CACHE_DIR: {path}" in check
    assert "uses: actions/cache/save@v4" in save
    assert f"path: {path}" in save
    assert "key: ${{ steps.restore.outputs.cache-primary-key }}" in save
    assert "always()" in save and "cache-hit != 'true'" in save
    assert re.search(r"\n  cache:\n(.*\n)*?    default: \"true\"", ACTION)


@pytest.fixture
def server() -> Iterator[IndexServer]:
    with IndexServer(FIXTURE_INDEX, max_age=3600) as srv:
        yield srv


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs tar")
def test_a_rerun_with_the_restored_cache_answers_from_the_fingerprint(
    server: IndexServer, tmp_path: Path
) -> None:
    workspace = tmp_path / "work"
    project = shutil.copytree(
        RIPGREP, workspace / "ripgrep", ignore=shutil.ignore_patterns("Cargo.lock.*")
    )
    temp = tmp_path / "runner-temp"
    cache_dir = temp / "registry-cache"
    run = script(step("registry check"))

    def run_step() -> subprocess.CompletedProcess[str]:
        temp.mkdir(exist_ok=True)
        output = temp / "github-output"
        env = cli_env(
            tmp_path / "home",
            {
                "VENV": sys.prefix,  # this interpreter's virtualenv has the registry script
                "REGISTRY_CACHE_DIR": str(cache_dir),
                "REGISTRY_INDEX_URL": "sparse+" + server.url,
                "INPUT_MANIFEST_PATH": "ripgrep/Cargo.toml",
                "INPUT_FORMAT": "github",
                "INPUT_OFFLINE": "false",
                "INPUT_UNKNOWN": "error",
                "INPUT_ARGS": "-v",
                "INPUT_OUTPUT_FILE": "",
                "GITHUB_OUTPUT": str(output),
            },
        )
        done = subprocess.run(
            ["bash", "-e", "-c", run],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert output.read_text().splitlines()[-1] == f"exit-code={done.returncode}"
        return done

    first = run_step()
    assert first.returncode == 0, first.stderr
    assert "answered from the null-build fingerprint" not in first.stderr
    assert (cache_dir / "registry" / "fingerprints").is_dir()

    # the job ends: actions/cache/save archives the directory; the runner empties its temp
    archive = tmp_path / "cache.tar"
    subprocess.run(
        ["tar", "--posix", "-cf", str(archive), "-P", "-C", str(temp), "registry-cache"],
        check=True,
    )
    shutil.rmtree(temp)
    # the rerun: actions/cache/restore extracts it to the same path
    temp.mkdir()
    subprocess.run(["tar", "-xf", str(archive), "-P", "-C", str(temp)], check=True)
    requests = len(server.requests)
    second = run_step()
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert "answered from the null-build fingerprint" in second.stderr
    assert len(server.requests) == requests  # not one request
    assert os.path.exists(project / "Cargo.lock")
