"""`validate_lockfile` memoizes parsed versions and requirement verdicts across the packages of
a lockfile (query/validate.py); judging each package on its own, with no memo shared
(`judge_package`, the general path), must give the very same results."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from query.entry import IndexDependency, IndexEntry, entry_from_mapping
from query.lockfile import Lockfile, lockfile_from_mapping
from query.requirement import Requirement
from query.validate import Lookup, MissingCrate, judge_package, validate_lockfile

CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"
PRIVATE = "sparse+https://corp.example/index/"


def dep(name: object, req: object, **fields: Any) -> dict[str, Any]:
    return {
        "name": name,
        "req": req,
        "features": [],
        "optional": False,
        "default_features": True,
        "target": None,
        "kind": "normal",
        **fields,
    }


# =============================================================================================
# validate_lockfile: the memo shared across packages changes nothing

NAMES = ["a", "b", "c"]
VERSIONS = ["1.0.0", "0.4.1", "2.0.0-beta.1", "1.2.3"]
SOURCES = [CRATES_IO, PRIVATE]


@st.composite
def lock_and_lookups(draw: st.DrawFn) -> tuple[Lockfile, dict[int, Lookup]]:
    packages: list[dict[str, object]] = [{"name": "app", "version": "0.1.0"}]
    ids: set[tuple[str, str, str]] = set()
    for _ in range(draw(st.integers(1, 5))):
        ident = (
            draw(st.sampled_from(NAMES)),
            draw(st.sampled_from(VERSIONS)),
            draw(st.sampled_from(SOURCES)),
        )
        if ident not in ids:
            ids.add(ident)
            packages.append({"name": ident[0], "version": ident[1], "source": ident[2]})
    for table in packages:
        chosen = draw(st.lists(st.sampled_from(sorted(ids)), max_size=3, unique=True))
        table["dependencies"] = [f"{n} {v} ({s})" for n, v, s in chosen]
        if table.get("source") is not None:
            table["checksum"] = draw(st.sampled_from(["c" * 64, "d" * 64]))
    lock = lockfile_from_mapping({"version": 3, "package": packages})  # every id is unique
    lookups: dict[int, Lookup] = {}
    for package in lock.registry_packages():
        shape = draw(st.integers(0, 9))
        if shape == 0:
            lookups[package.index] = MissingCrate()
            continue
        deps = draw(
            st.lists(
                st.builds(
                    dep,
                    st.sampled_from(NAMES),
                    st.sampled_from(["^1.0", "^0.4", "*", ">=1.0.0-alpha, <3", "=2.0.0-beta.1"]),
                    kind=st.sampled_from(["normal", "dev", "build"]),
                    optional=st.booleans(),
                    package=st.one_of(st.none(), st.sampled_from(NAMES)),
                    registry=st.sampled_from(
                        [None, "https://github.com/rust-lang/crates.io-index", PRIVATE[7:]]
                    ),
                ),
                max_size=4,
            )
        )
        data = {
            "name": package.name,
            "vers": package.version,
            "deps": deps,
            "cksum": "c" * 64,
            "yanked": draw(st.booleans()),
        }
        found = entry_from_mapping(data)
        if draw(st.booleans()) and found.deps:
            # a requirement that is not its text's: a verdict must not be borrowed across them
            other = Requirement.parse(draw(st.sampled_from(["^2", "<1", "*"])))
            swapped = []
            for d in found.deps:
                parsed: Requirement | None = draw(st.sampled_from([d.parsed, None, other]))
                swapped.append(
                    IndexDependency(
                        d.name,
                        d.req,
                        d.features,
                        d.optional,
                        d.default_features,
                        d.target,
                        d.kind,
                        d.registry,
                        d.package,
                        parsed,
                    )
                )
            found = IndexEntry(
                found.name,
                found.vers,
                found.status,
                found.cksum,
                tuple(swapped),
                found.features,
                found.yanked,
                v=found.v,
            )
        lookups[package.index] = found
    return lock, lookups


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lock_and_lookups(), st.booleans())
def test_validate_lockfile_matches_judging_each_package(
    case: tuple[Lockfile, dict[int, Lookup]], deny_yanked: bool
) -> None:
    lock, lookups = case
    expected = [
        judge_package(p, lookups[p.index], lock, deny_yanked=deny_yanked)
        for p in lock.registry_packages()
    ]
    assert validate_lockfile(lock, lookups, deny_yanked=deny_yanked) == expected
