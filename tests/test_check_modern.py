"""``registry check`` agrees with cargo 1.95 on manifests written the 2021-2026 way.

The cases come from :mod:`tests.modern_manifests`: the bundled 2019 projects rewritten with
workspace inheritance, ``dep:``/``?/`` features, patches in manifests and cargo config files,
editions 2021/2024, resolver 2/3, lints, rust-version, nested (cargo-fuzz) workspaces, excluded
packages with their own lock, non-member path packages, and manifests cargo refuses, one transform
at a time and combined, seeded. The expectation of every case is cargo's own answer
(``cargo update --workspace --locked --offline``), mapped to registry's exit code:

* cargo succeeds: exit 0;
* cargo refuses because the lock would change (``--locked was passed``) or cannot resolve from
  it: exit 1;
* cargo refuses to load a manifest, the workspace or the lockfile: exit 2.

One served index, one CARGO_HOME and one registry cache for the module (warmed once per
project, like ``test_check_cargo.py``); every selected case runs up front, three at a time.

Environment: ``MODERN_SEED`` (default :data:`tests.modern_manifests.SEED`), ``MODERN_SINGLES``
(projects per transform variant, default 2), ``MODERN_COMBINATIONS`` (default 120).
``tests/modern_manifests_known.txt`` lists the case ids known to disagree today (the worklist,
``python -m tests.modern_manifests --known tests/modern_manifests_known.txt`` rewrites it): those
are strict xfails, so a fix shows up as XPASS until the id leaves the list.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.httpserver import IndexServer
from tests.modern_manifests import (
    CARGO,
    INDEX,
    INTENT,
    SEED,
    Case,
    Outcome,
    Runner,
    generate,
    open_runner,
    run_all,
)

pytestmark = pytest.mark.cargo

CASES = generate(
    int(os.environ.get("MODERN_SEED", SEED)),
    int(os.environ.get("MODERN_SINGLES", "2")),
    int(os.environ.get("MODERN_COMBINATIONS", "120")),
)
KNOWN_FILE = Path(__file__).with_name("modern_manifests_known.txt")
KNOWN = (
    {line.split()[0] for line in KNOWN_FILE.read_text().splitlines() if line and line[0] != "#"}
    if KNOWN_FILE.is_file() and "MODERN_SEED" not in os.environ
    else set()
)


def _param(case: Case) -> object:
    marks = []
    if case.id in KNOWN:
        marks.append(pytest.mark.xfail(reason="known disagreement (worklist)", strict=True))
    return pytest.param(case, id=case.id, marks=marks)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    if CARGO is None:
        if os.environ.get("CI"):
            pytest.fail("cargo is not installed, and CI is set: the cargo agreement tests must run")
        pytest.skip("cargo is not installed (set CI to turn this skip into a failure)")
    base = tmp_path_factory.mktemp("modern-manifests")
    with IndexServer(INDEX) as server:
        yield open_runner(base, server.url)


@pytest.fixture(scope="module")
def outcomes(runner: Runner, request: pytest.FixtureRequest) -> dict[str, Outcome]:
    """Every case selected in this session, run once, in parallel."""
    selected: dict[str, Case] = {}
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and item.module is request.module and "case" in callspec.params:
            case = callspec.params["case"]
            selected[case.id] = case
    return {o.case.id: o for o in run_all(runner, list(selected.values()))}


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_registry_check_agrees_with_cargo(outcomes: dict[str, Outcome], case: Case) -> None:
    outcome = outcomes[case.id]
    if outcome.status == "not-applicable":
        pytest.skip(outcome.reason)
    assert outcome.status == "ran", f"{case.id}: {outcome.reason}"
    assert outcome.registry_code == outcome.expected, outcome.detail()


SINGLES = [c for c in CASES if len(c.steps) == 1]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in SINGLES])
def test_cargo_answers_as_the_generator_meant(outcomes: dict[str, Outcome], case: Case) -> None:
    """The generator's own check: a ``same``/``relock`` case is accepted by cargo, a ``stale``
    one needs a new lock, a ``refuse`` one is not loaded. A failure here is a generator (or
    cargo behaviour) change, not a registry bug."""
    outcome = outcomes[case.id]
    if outcome.status == "not-applicable":
        pytest.skip(outcome.reason)
    assert outcome.status == "ran", f"{case.id}: {outcome.reason}"
    meant = INTENT[case.steps[0][1].partition(".")[0]]
    got = "stale" if outcome.cargo_class == "unresolvable" else outcome.cargo_class
    assert got == meant, outcome.detail()
