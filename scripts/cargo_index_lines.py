#!/usr/bin/env python3
"""Ask cargo 1.95 for its verdict on a table of hand-made index lines (issue 12).

Run from the repository root::

    python scripts/cargo_index_lines.py [--out tests/fixtures/cargo_index_lines.json] [-k TEXT]

Every case is one index line of the crate `probe` (file `pr/ob/probe`), probed with
`tests.cargo_probe.CargoProbe`: a project depends on ``probe = "=1.0.0"`` (another dependency
name or version where the case says so), ``cargo generate-lockfile`` gives the verdict and
``cargo update --workspace --locked`` with a lockfile pinning the version gives the lockfile
view. A crate `helper 1.0.0` (feature `hf`) is always in the index, so dependencies on it
resolve. The fixture is a JSON list of objects:

* ``line``: the line (str); ``line_b64`` too when the bytes are not UTF-8 (then ``line`` is
  decoded with replacement characters);
* ``cargo``: the verdict (usable, yanked, invalid, unsupported, dropped, name-mismatch, other);
* ``locked``: accepted / refused (a lockfile pinning the version);
* ``why``: what the case tests (the rule, with the cargo 0.96.0 source it comes from);
* ``reason``: cargo's own parse error from its info log (invalid and dropped lines);
* ``error``: the first line of cargo's error (generate-lockfile), "" on success;
* optional ``crate``, ``dep``, ``version``, ``extra_lines`` when the case is not the default.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.cargo_probe import CargoProbe

CKSUM = "a" * 64


@dataclass
class Case:
    line: bytes
    why: str
    crate: str = "probe"
    dep: str | None = None
    version: str = "1.0.0"
    extra_lines: list[bytes] = field(default_factory=list)


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def pkg(**kw: Any) -> dict[str, Any]:
    """A valid line as a dict; keyword `drop=[...]` removes fields, others override/add."""
    drop = kw.pop("drop", [])
    base: dict[str, Any] = {
        "name": "probe",
        "vers": "1.0.0",
        "deps": [],
        "cksum": CKSUM,
        "features": {},
        "yanked": False,
    }
    base.update(kw)
    for k in drop:
        base.pop(k, None)
    return base


def dep(**kw: Any) -> dict[str, Any]:
    """An optional normal dependency on `helper` (so it is never resolved); overrides."""
    drop = kw.pop("drop", [])
    base: dict[str, Any] = {
        "name": "helper",
        "req": "^1",
        "features": [],
        "optional": True,
        "default_features": True,
        "target": None,
        "kind": "normal",
    }
    base.update(kw)
    for k in drop:
        base.pop(k, None)
    return base


def line(**kw: Any) -> bytes:
    return dumps(pkg(**kw)).encode()


def with_dep(why: str, **dkw: Any) -> Case:
    return Case(line(deps=[dep(**dkw)]), why)


def target(t: str, why: str) -> Case:
    return with_dep(f"dep target {t!r}: {why}", target=t)


def cases() -> Iterator[Case]:
    base = pkg()
    body = dumps(base)
    # ---- JSON framing: what makes a line dropped ------------------------------------------
    yield Case(body.encode(), "baseline valid line")
    yield Case(line(drop=["yanked"]), "no yanked field (Option<bool>)")
    yield Case(b"  \t" + body.encode(), "leading JSON whitespace (serde_json skips it)")
    yield Case(body.encode() + b" \t\r", "trailing JSON whitespace incl. CR (CRLF files)")
    yield Case(body.encode() + b"x", "trailing characters after the object: serde error, dropped")
    yield Case(body.encode() + b"{}", "two objects on one line: trailing characters, dropped")
    yield Case(b"\xef\xbb\xbf" + body.encode(), "UTF-8 BOM before the object: dropped")
    yield Case(b"{}", "empty object: no name/vers, dropped")
    yield Case(b"[]", "array: dropped")
    yield Case(b"null", "null: dropped")
    yield Case(b"", "empty line (blank line in the file): dropped, nothing else happens")
    yield Case(body[:-1].encode(), "truncated object: dropped")
    yield Case(body.replace('"cksum"', "cksum").encode(), "unquoted key: syntax error, dropped")
    yield Case((body[:-1] + ",}").encode(), "trailing comma in object: syntax error, dropped")
    yield Case(line(name=None), "name null: IndexPackageMinimum fails too, dropped")
    yield Case(line(drop=["name"]), "no name: dropped")
    yield Case(line(name=5), "name a number: dropped")
    yield Case(line(drop=["vers"]), "no vers: dropped")
    yield Case(line(vers=None), "vers null: dropped")
    yield Case(line(vers="1.0"), "vers not full semver: dropped")
    yield Case(line(vers="v1.0.0"), "vers with v prefix: dropped")
    yield Case(line(vers=" 1.0.0"), "vers with a leading space: semver::Version has no trim")
    yield Case(line(vers="1.0.0 "), "vers with a trailing space: dropped")
    yield Case(line(vers="01.0.0"), "vers leading zero: dropped")
    yield Case(
        line(vers="1.0.0-alpha.01"),
        "prerelease numeric leading zero: dropped "
        "(probed with =1.0.0-alpha.1, the version it would mean)",
        version="1.0.0-alpha.1",
    )
    yield Case(line(vers="1.0.0-alpha.1"), "prerelease version is fine", version="1.0.0-alpha.1")
    yield Case(line(vers="1.0.0+build.5"), "build metadata: kept; =1.0.0 matches 1.0.0+build.5")
    yield Case(line(vers="1.0.0+build.01"), "build metadata may have leading zeros")
    yield Case(
        line(vers="18446744073709551616.0.0"),
        "vers major overflows u64: dropped (probed with =18446744073709551615.0.0)",
        version="18446744073709551615.0.0",
    )
    yield Case(
        line(vers="18446744073709551615.0.0"),
        "vers major = u64::MAX: fine",
        version="18446744073709551615.0.0",
    )
    yield Case(line(vers=100), "vers a number: dropped")
    # ---- duplicate keys ----------------------------------------------------------------------
    yield Case(
        body.replace('"name":"probe",', '"name":"probe","name":"probe",').encode(),
        "duplicate name key: serde derive duplicate_field, Minimum fails too: dropped",
    )
    yield Case(
        body.replace('"vers":"1.0.0",', '"vers":"1.0.0","vers":"1.0.0",').encode(),
        "duplicate vers key: dropped",
    )
    yield Case(
        body.replace('"name":"probe",', '"name":"probe","n\\u0061me":"probe",').encode(),
        "duplicate name via \\u escape: keys compare after unescaping, dropped",
    )
    yield Case(
        body.replace('"cksum"', '"cksum":"x","cksum"').encode(),
        "duplicate cksum: invalid (name/vers still recoverable)",
    )
    yield Case(body.replace('"deps":[]', '"deps":[],"deps":[]').encode(), "duplicate deps: invalid")
    yield Case(
        body.replace('"features":{}', '"features":{},"features":{}').encode(),
        "duplicate features: invalid",
    )
    yield Case(
        body.replace('"yanked":false', '"yanked":false,"yanked":false').encode(),
        "duplicate yanked (same value): invalid",
    )
    yield Case(
        body.replace('"yanked":false', '"yanked":false,"y\\u0061nked":true').encode(),
        "duplicate yanked via \\u escape: invalid",
    )
    yield Case(
        body.replace('"yanked":false', '"yanked":true,"yanked":true').encode(),
        "duplicate yanked:true: invalid (not yanked)",
    )
    yield Case(
        (body[:-1] + ',"x":1,"x":2}').encode(),
        "duplicate unknown key: ignored fields are not checked for duplicates, usable",
    )
    yield Case(
        (body[:-1] + ',"v":1,"v":1}').encode(),
        "duplicate v: invalid (and IndexPackageV fails, so v defaults to 1)",
    )
    yield Case(
        (body[:-1] + ',"v":3,"v":3}').encode(),
        "duplicate v:3: invalid, not unsupported (v unreadable -> 1)",
    )
    yield Case(
        (body[:-1] + ',"rust_version":"1.70","rust_version":"1.70"}').encode(),
        "duplicate rust_version: invalid",
    )
    yield Case(
        (body[:-1] + ',"pubtime":null,"pubtime":null}').encode(), "duplicate pubtime: invalid"
    )
    yield Case(
        line(features={"a": [], "b": []}).replace(b'"b"', b'"a"'),
        "duplicate key inside features map: BTreeMap insert, last wins, usable",
    )
    yield Case(
        line(deps=[dep()]).replace(b'"req":"^1"', b'"req":"^1","req":"^1"'),
        "duplicate key inside a dependency: invalid",
    )
    yield Case(
        line(deps=[dep()]).replace(b'"kind":"normal"', b'"kind":"normal","zz":1,"zz":2'),
        "duplicate unknown key inside a dependency: usable",
    )
    # ---- bytes and escapes ---------------------------------------------------------------
    yield Case(
        (body[:-1] + ',"x":"\xff\xfe"}').encode("latin-1"),
        "invalid UTF-8 inside an unknown field's string: serde_json ignore_str does not "
        "validate it, usable",
    )
    yield Case(body.replace(CKSUM, "aa\xff").encode("latin-1"), "invalid UTF-8 in cksum: invalid")
    yield Case(
        body.replace('"probe"', '"pr\xffbe"', 1).encode("latin-1"), "invalid UTF-8 in name: dropped"
    )
    yield Case((body[:-1] + ',"\xff":1}').encode("latin-1"), "invalid UTF-8 in an unknown key")
    yield Case(
        body.replace(CKSUM, "aa\\ud800bb").encode(), "lone surrogate escape in cksum: invalid"
    )
    yield Case((body[:-1] + ',"x":"\\ud800"}').encode(), "lone surrogate escape in unknown field")
    yield Case(
        (body[:-1] + ',"x":"\\uZZZZ"}').encode(),
        "malformed \\u escape inside an unknown field: syntax error, dropped",
    )
    yield Case(
        (body[:-1] + ',"x":"\\q"}').encode(),
        "unknown escape \\q inside an unknown field: syntax error, dropped",
    )
    yield Case(
        (body[:-1] + ',"x":"\\ud800\\u0041"}').encode(),
        "lone high surrogate then a non-surrogate, in an unknown field: usable",
    )
    yield Case(body.replace(CKSUM, "a\tb").encode(), "raw tab inside a string: dropped")
    yield Case(
        (body[:-1] + ',"x":"a\tb"}').encode(),
        "raw tab inside an unknown field's string: dropped (ignore_str rejects it)",
    )
    yield Case(body.replace('"probe"', '"pr\\u006fbe"', 1).encode(), "name with \\u escape: usable")
    yield Case(
        (body[:-1] + ',"x":' + "[" * 130 + "]" * 130 + "}").encode(),
        "unknown field nested 130 deep: usable (serde_json skips ignored values "
        "without recursing, so its depth limit of 128 does not apply)",
    )
    yield Case(
        (body[:-1] + ',"x":' + "[" * 100 + "]" * 100 + "}").encode(),
        "unknown field nested 100 deep: usable",
    )
    yield Case((body[:-1] + ',"x":1e999}').encode(), "unknown field number out of f64 range")
    yield Case((body[:-1] + ',"x":NaN}').encode(), "NaN is not JSON: dropped")
    # ---- required fields, nulls and types ------------------------------------------------
    yield Case(line(drop=["deps"]), "no deps: deps has no serde default, invalid")
    yield Case(line(deps=None), "deps null: invalid")
    yield Case(line(deps={}), "deps an object: invalid")
    yield Case(line(drop=["cksum"]), "no cksum: String required, invalid")
    yield Case(line(cksum=None), "cksum null: invalid")
    yield Case(line(cksum=5), "cksum a number: invalid")
    yield Case(line(cksum=""), "cksum empty: any string is accepted, usable")
    yield Case(line(cksum="not-hex"), "cksum not hex: usable")
    yield Case(line(drop=["features"]), "no features: #[serde(default)], usable")
    yield Case(line(features=None), "features null: serde default does not cover null, invalid")
    yield Case(line(features=[]), "features an array: invalid")
    yield Case(line(features={"a": None}), "feature value list null: invalid")
    yield Case(line(features={"a": [1]}), "feature value a number: invalid")
    yield Case(line(features2=None), "features2 null: Option, usable")
    yield Case(line(features2={}), "features2 empty: usable")
    yield Case(line(features2=[]), "features2 an array: invalid")
    yield Case(line(yanked=None), "yanked null: Option<bool> None, usable (not yanked)")
    yield Case(line(yanked=True), "yanked true: yanked")
    yield Case(line(yanked="true"), "yanked a string: invalid")
    yield Case(line(yanked=1), "yanked 1: invalid")
    yield Case(line(yanked=0), "yanked 0: invalid")
    yield Case(line(links=None), "links null: usable")
    yield Case(line(links=""), "links empty: usable (no check)")
    yield Case(line(links="foo bar/\u00e9"), "links any string: usable")
    yield Case(line(links=5), "links a number: invalid")
    yield Case(line(links=["x"]), "links an array: invalid")
    yield Case(line(public=1), "unknown top-level field of any type: usable")
    yield Case(line(x={"yanked": True}), "yanked:true nested in an unknown field: usable")
    yield Case(
        line(deps=[dep(yanked=True)]),
        "yanked:true nested inside a dependency (unknown dep field): usable",
    )
    yield Case(
        line(deps=[dep(name="yanked", package="helper")], features={"yanked": ["dep:yanked"]}),
        "a dependency and a feature named yanked: usable",
    )
    yield Case(line(Yanked=True), "key Yanked (other case) is an unknown field: usable")
    yield Case(
        (body[:-1] + ',"Name":"other","VERS":"9.9.9"}').encode(),
        "keys Name/VERS (other case) are unknown fields: usable",
    )
    yield Case(line(features={"yanked": []}), "feature named yanked: usable")
    yield Case(line(features2={"yanked": True}), "features2 value not a list: invalid")
    yield Case(
        b'{"yanked":true,' + body.encode()[1:].replace(b',"yanked":false', b""),
        "yanked first in the object: yanked",
    )
    yield Case(line(yanked=True, cksum=None), "yanked and invalid: invalid is decided first")
    yield Case(line(yanked=True, v=3), "yanked and v 3: unsupported is decided first")
    yield Case(
        line(
            deps=[dep(kind="dev", optional=False, drop=["target"])], features={"a": ["dep:helper"]}
        ),
        "dep: on a required dev dependency: not optional, invalid",
    )
    # ---- v --------------------------------------------------------------------------------
    yield Case(line(v=None), "v null: 1")
    yield Case(line(v=0), "v 0: usable (only v > 2 is unsupported)")
    yield Case(line(v=1), "v 1: usable")
    yield Case(line(v=2), "v 2: usable")
    yield Case(line(v=3), "v 3: unsupported (INDEX_V_MAX = 2 without -Zbindeps)")
    yield Case(line(v=4294967295), "v u32::MAX: unsupported")
    yield Case(line(v=4294967296), "v overflows u32: invalid (v unreadable -> 1)")
    yield Case(line(v=-1), "v negative: invalid")
    yield Case(line(v=2.0), "v 2.0 (float): invalid")
    yield Case(line(v="2"), "v a string: invalid")
    yield Case(line(v=3, cksum=None), "v 3 and otherwise invalid: unsupported wins")
    yield Case(line(v=3, rust_version="1.70"), "v 3 with rust_version: 'requires cargo 1.70'")
    yield Case(line(v=3, rust_version="x"), "v 3 with a bad rust_version: unsupported")
    yield Case(line(v=3, deps=[dep(artifact=["bin"])]), "v 3 with an artifact dep: unsupported")
    # ---- rust_version ----------------------------------------------------------------------
    for rv, why in [
        (None, "null: usable"),
        ("1.70", "major.minor: usable"),
        ("1", "major only: usable"),
        ("1.70.0", "full: usable"),
        (" 1.70", "leading space: VersionReq trims spaces, usable"),
        ("1.70 ", "trailing space: usable"),
        ("  1.70.0  ", "spaces both sides, full version: usable"),
        ("\t1.70", "leading tab: invalid (only ' ' is trimmed)"),
        ("", "empty: invalid"),
        ("1.70.0-nightly", "prerelease: invalid"),
        ("1.70-nightly", "partial with prerelease: invalid"),
        ("1.70.0+build", "build metadata: invalid"),
        ("^1.70", "caret: invalid"),
        ("=1.70", "op: invalid"),
        ("~1.70", "tilde: invalid"),
        ("1.x", "wildcard: invalid"),
        ("*", "star: invalid"),
        ("1.70, 1.71", "two comparators: invalid"),
        ("1.70.0.0", "four parts: invalid"),
        ("01.70", "leading zero: invalid"),
        ("18446744073709551615", "u64::MAX: usable"),
        ("18446744073709551616", "overflows u64: invalid"),
        ("1.18446744073709551616", "minor overflows: invalid"),
        ("v1.70", "v prefix: invalid"),
    ]:
        yield Case(line(rust_version=rv), f"rust_version {rv!r}: {why}")
    yield Case(line(rust_version=170), "rust_version a number: invalid")
    # ---- pubtime -----------------------------------------------------------------------------
    for pt, why in [
        (None, "null: usable"),
        ("2025-11-12T19:30:12Z", "the format: usable"),
        ("2024-02-29T00:00:00Z", "leap day: usable"),
        ("2023-02-29T00:00:00Z", "Feb 29 in a common year: invalid"),
        ("2025-02-30T00:00:00Z", "Feb 30: invalid"),
        ("2025-04-31T00:00:00Z", "Apr 31: invalid"),
        ("2025-13-01T00:00:00Z", "month 13: invalid"),
        ("2025-00-01T00:00:00Z", "month 0: invalid"),
        ("2025-01-00T00:00:00Z", "day 0: invalid"),
        ("2025-01-01T24:00:00Z", "hour 24: invalid"),
        ("2025-01-01T00:60:00Z", "minute 60: invalid"),
        ("2025-01-01T00:00:60Z", "second 60: jiff clamps a leap second to 59, usable"),
        ("2025-01-01T00:00:61Z", "second 61: invalid"),
        ("2025-01-01T00:00:00", "no Z: invalid"),
        ("2025-01-01T00:00:00z", "lowercase z: invalid"),
        ("2025-01-01t00:00:00Z", "lowercase t: invalid"),
        ("2025-01-01 00:00:00Z", "space for T: invalid"),
        ("2025-01-01T00:00:00.5Z", "fraction: invalid"),
        ("2025-01-01T00:00:00+00:00", "offset: invalid"),
        ("2025-1-01T00:00:00Z", "unpadded month (19 chars): invalid"),
        ("2025-01-01T00:00:0Z", "unpadded second: invalid"),
        ("2025-01-01T 1:00:00Z", "space-padded hour, still 20 chars: jiff skips the space"),
        (" 2025-01-01T00:00:0Z", "leading space + unpadded second, 20 chars"),
        ("+025-01-01T00:00:00Z", "signed 3-digit year, 20 chars"),
        ("-025-01-01T00:00:00Z", "negative year, 20 chars"),
        ("0000-01-01T00:00:00Z", "year 0"),
        ("9999-12-31T23:59:59Z", "year 9999 end: beyond jiff Timestamp::MAX?"),
        ("9999-12-30T00:00:00Z", "year 9999 Dec 30"),
        ("1970-01-01T00:00:00Z", "epoch: usable"),
        ("", "empty: invalid"),
        ("2025-11-12T19:30:12Z ", "trailing space: invalid"),
    ]:
        yield Case(line(pubtime=pt), f"pubtime {pt!r}: {why}")
    yield Case(line(pubtime=1700000000), "pubtime a number: invalid")
    # ---- name and lookup ---------------------------------------------------------------------
    yield Case(line(name="Probe"), "line name differs in case from the dependency: not matched")
    yield Case(line(name="PROBE"), "upper-case line name, lower-case dependency: not matched")
    yield Case(line(name="Probe"), "dependency spelled like the line (Probe): usable", dep="Probe")
    yield Case(
        line(name="probe"), "dependency Probe, line probe (same file): not matched", dep="Probe"
    )
    yield Case(line(name="pro_be"), "line name pro_be in pr/ob/probe: not matched")
    yield Case(line(name="other"), "line of another crate in probe's file: not matched")
    yield Case(line(name=""), "empty name: no name validation in the index")
    yield Case(line(name="probe "), "name with trailing space: not matched")
    yield Case(line(name="pro-be"), "hyphen name, file pr/o-/pro-be, dep pro-be", crate="pro-be")
    yield Case(
        line(name="pro_be"), "underscore line, dep pro-be (file pr/o-/pro-be)", crate="pro-be"
    )
    # ---- dependency fields ------------------------------------------------------------------
    yield with_dep("optional dependency, all fields: usable")
    yield with_dep("dep without name: invalid", drop=["name"])
    yield with_dep("dep name null: invalid", name=None)
    yield with_dep("dep without req: invalid", drop=["req"])
    yield with_dep("dep req null: invalid", req=None)
    yield with_dep(
        "dep with only name and req: usable",
        drop=["features", "optional", "default_features", "target", "kind"],
    )
    yield Case(
        line(deps=[{"name": "helper", "req": "^1"}]),
        "non-optional minimal dep on helper: usable (resolves to helper 1.0.0)",
    )
    yield with_dep("dep features null: invalid", features=None)
    yield with_dep("dep features with an empty string: filtered out, usable", features=[""])
    yield with_dep("dep features with a number: invalid", features=[1])
    yield with_dep("dep features any string: usable", features=["no such / feature"])
    yield with_dep("dep optional null: invalid", optional=None)
    yield with_dep("dep optional a string: invalid", optional="true")
    yield with_dep("dep default_features null: invalid", default_features=None)
    yield with_dep("dep default_features missing: default true, usable", drop=["default_features"])
    yield with_dep("dep public true: usable", public=True)
    yield with_dep("dep public null: usable", public=None)
    yield with_dep("dep public a string: invalid", public="yes")
    yield with_dep("dep unknown field: usable", whatever={"x": [1]})
    yield with_dep(
        "optional dep renamed to 'not a crate!': its implicit feature name is invalid",
        name="not a crate!",
        package="helper",
    )
    yield with_dep(
        "required dep renamed to 'not a crate!': dep names are not validated, usable",
        name="not a crate!",
        package="helper",
        optional=False,
    )
    yield with_dep(
        "dep name empty: Dependency::new_override asserts !name.is_empty(), cargo panics", name=""
    )
    yield with_dep(
        "dep name empty and req invalid: the req error comes first, invalid", name="", req=""
    )
    yield with_dep(
        "dep name empty and registry invalid: the URL error comes first, invalid",
        name="",
        registry="",
    )
    yield Case(
        line(deps=[dep(req=""), dep(name="")]),
        "invalid dep before an empty-named dep: deps convert in order, invalid",
    )
    yield Case(
        line(deps=[dep(name=""), dep(req="")]), "empty-named dep before an invalid dep: panic"
    )
    yield with_dep(
        "required dep named '' renamed from helper: usable",
        name="",
        package="helper",
        optional=False,
    )
    yield with_dep(
        "optional dep named '' renamed from helper: empty feature name, invalid",
        name="",
        package="helper",
    )
    yield with_dep("dep package rename: usable", name="alias", package="helper")
    yield with_dep("dep package null: usable", package=None)
    yield with_dep("dep package empty: the package name is '', cargo panics", package="")
    yield with_dep("dep package a number: invalid", package=5)
    yield Case(line(deps=["helper"]), "dep a string: invalid")
    yield Case(line(deps=[None]), "dep null: invalid")
    # requirements
    for req, why in [
        ("*", "usable"),
        ("", "empty: invalid"),
        (" ", "blank: invalid"),
        ("^1", "usable"),
        (" ^1 ", "spaces around: usable"),
        ("\t^1", "tab: invalid"),
        (">=1, <2", "two comparators: usable"),
        (">= 1.0 , < 2", "spaces after op and around comma: usable"),
        (">=1 <2", "no comma: invalid"),
        ("1.0 || 2.0", "npm-style or: invalid"),
        ("~> 1.0", "ruby-style pessimistic: invalid"),
        ("=1.0.0-alpha", "exact prerelease: usable"),
        ("1.0.0-", "empty prerelease: invalid"),
        ("x", "x wildcard: usable"),
        ("1.*", "minor wildcard: usable"),
        ("1.*.1", "wildcard then number: invalid"),
        ("*, ^1", "star not alone: invalid"),
        ("^0-.11.0", "tma 0.1.0 in the 2019 snapshot: invalid"),
        ("~2.0-2.2", "raft 0.5.0 in the 2019 snapshot: invalid"),
        ("^0.51-oldsyn", "lmdb-rkv-sys 0.9.4 in the 2019 snapshot: invalid"),
        ("^1.0.0+build", "build metadata in a requirement: usable (ignored)"),
        ("^01", "leading zero: invalid"),
        ("^18446744073709551616", "overflow: invalid"),
        (", ".join([">=0"] * 32), "32 comparators: usable"),
        (", ".join([">=0"] * 33), "33 comparators: invalid (semver MAX_COMPARATORS)"),
        ("v1", "v prefix: invalid"),
        ("=v1.0.0", "op then v: invalid"),
    ]:
        yield with_dep(f"dep req {req!r}: {why}", req=req)
    # kinds
    for kind, why in [
        ("normal", "usable"),
        ("build", "usable"),
        ("dev", "dev + optional: 'dev-dependencies are not allowed to be optional', invalid"),
        ("Dev", "unknown kind -> Normal, so optional is allowed: usable"),
        ("", "empty kind -> Normal: usable"),
        ("weird", "unknown kind -> Normal: usable"),
        (None, "null kind -> Normal: usable"),
    ]:
        yield with_dep(f"dep kind {kind!r}: {why}", kind=kind)
    yield with_dep(
        "dep kind dev, not optional: usable (dev deps of a dependency are ignored)",
        kind="dev",
        optional=False,
    )
    yield with_dep("dep kind a number: invalid", kind=1)
    yield with_dep("dep without kind: usable", drop=["kind"])
    # registry
    for reg, why in [
        (None, "null: same registry, usable"),
        ("https://github.com/rust-lang/crates.io-index", "crates.io git URL: usable"),
        ("sparse+https://index.crates.io/", "crates.io sparse URL: usable"),
        ("https://example.com/index", "another registry: usable (optional, never fetched)"),
        ("sparse+http://127.0.0.1:9/", "sparse URL: usable"),
        ("file:///tmp/nowhere", "file URL: usable"),
        ("", "empty: relative URL without base, invalid"),
        ("not a url", "invalid"),
        ("/relative/path", "relative: invalid"),
        ("foo:bar", "cannot-be-a-base URL: invalid"),
        ("mailto:a@b.c", "cannot-be-a-base URL: invalid"),
        ("git@github.com:foo/bar", "scp-like: invalid"),
        ("http://[::1", "bad host: invalid"),
        ("http://exa mple.com/", "space in host: invalid"),
        ("https://ex\u00e4mple.com/", "IDN host: usable"),
        ("  https://example.com/  ", "surrounding spaces (url crate strips them): usable"),
    ]:
        yield with_dep(f"dep registry {reg!r}: {why}", registry=reg)
    yield with_dep("dep registry a number: invalid", registry=5)
    # artifact / bindep_target / lib
    for art, why in [
        (None, "null: usable"),
        ([], "empty list: usable"),
        (["bin"], "bin: usable (v absent!)"),
        (["cdylib", "staticlib"], "cdylib+staticlib: usable"),
        (["bin:foo"], "bin:NAME: usable"),
        (["bin:"], "bin: with empty name: usable"),
        (["bin", "bin:foo"], "bin and bin:NAME: invalid"),
        (["bin", "bin"], "duplicate kind: invalid"),
        (["bin:a", "bin:a"], "duplicate bin:NAME: invalid"),
        (["lib"], "lib is not an artifact kind: invalid"),
        (["BIN"], "case-sensitive: invalid"),
        (["dylib"], "invalid"),
        ("bin", "a string, not a list: invalid"),
        ([1], "a number: invalid"),
    ]:
        yield with_dep(f"dep artifact {art!r}: {why}", artifact=art)
    yield with_dep("bindep_target target: usable", artifact=["bin"], bindep_target="target")
    yield with_dep(
        "bindep_target a triple: usable", artifact=["bin"], bindep_target="x86_64-unknown-linux-gnu"
    )
    yield with_dep(
        "bindep_target empty: 'target was empty', invalid", artifact=["bin"], bindep_target=""
    )
    yield with_dep("bindep_target blank (trimmed): invalid", artifact=["bin"], bindep_target="  ")
    yield with_dep(
        "bindep_target .json without -Zjson-target-spec: invalid",
        artifact=["bin"],
        bindep_target="foo.json",
    )
    yield with_dep(
        "bindep_target with spaces: any triple string, usable",
        artifact=["bin"],
        bindep_target="not a triple",
    )
    yield with_dep("bindep_target empty without artifact: ignored, usable", bindep_target="")
    yield with_dep("bindep_target a number: invalid", bindep_target=5)
    yield with_dep("lib true with artifact: usable", artifact=["bin"], lib=True)
    yield with_dep("lib true without artifact: usable", lib=True)
    yield with_dep("lib null: invalid (#[serde(default)] bool)", lib=None)
    yield with_dep("lib a string: invalid", lib="true")
    # targets: named platforms and cfg grammar
    for t, why in [
        ("", 'empty: Platform::Name(""), usable'),
        ("x86_64-unknown-linux-gnu", "triple: usable"),
        ("wasm32-unknown-unknown", "usable"),
        ("thumbv7em-none-eabihf", "usable"),
        ("x86_64.json", "dots allowed: usable"),
        ("\u00fc-target", "Unicode alphanumeric: usable"),
        ("foo bar", "space: invalid"),
        ("a/b", "slash: invalid"),
        ("x86_64-unknown-linux-gnu ", "trailing space: invalid"),
        ("cfg(unix)", "usable"),
        ("cfg(windows)", "usable"),
        ('cfg(target_os = "linux")', "usable"),
        ('cfg(target_os="linux")', "no spaces: usable"),
        ("cfg( unix )", "spaces inside: usable"),
        ("cfg(all())", "empty all: usable"),
        ("cfg(any())", "empty any: usable"),
        ("cfg(all(unix,))", "trailing comma: usable"),
        ("cfg(any(unix, windows,))", "trailing comma: usable"),
        ("cfg(any(,))", "lone comma: invalid"),
        ("cfg(all(unix,,windows))", "double comma: invalid"),
        ("cfg(not(unix))", "usable"),
        ("cfg(not())", "not needs one: invalid"),
        ("cfg(not(unix, windows))", "not takes one: invalid"),
        ("cfg(not(unix,))", "not with trailing comma: invalid"),
        ("cfg(all)", "all without parens: invalid"),
        ("cfg(not)", "not without parens: invalid"),
        ('cfg(any = "x")', "any as a key: invalid"),
        ("cfg(r#all(unix))", "raw all is a plain ident, then '(': invalid"),
        ("cfg()", "empty: invalid"),
        ("cfg(true)", "true literal: usable"),
        ("cfg(false)", "false literal: usable"),
        ("cfg(r#true)", "raw true: usable"),
        ("cfg(r#foo)", "raw ident: usable"),
        ("cfg(r#)", "r# alone: invalid"),
        ("cfg(r#1)", "r# then digit: invalid"),
        ("cfg(1abc)", "ident starting with a digit: invalid"),
        ("cfg(_a1)", "underscore ident: usable"),
        ("cfg(\u00fcnix)", "non-ASCII ident: invalid"),
        ("cfg(a = b)", "value not a string: invalid"),
        ('cfg(a = "")', "empty string value: usable"),
        ('cfg(a = "x y (z), \\\\")', "any chars but a quote in the string: usable"),
        ('cfg(a = "b)', "unterminated string: invalid"),
        ('cfg(a = "b" "c")', "two strings: invalid"),
        ("cfg(a =)", "missing value: invalid"),
        ("cfg(unix windows)", "two idents: invalid"),
        ("cfg(unix, windows)", "top-level comma: invalid"),
        ("cfg(unix))", "extra paren: invalid"),
        ("cfg((unix))", "parenthesised: invalid"),
        ("cfg(unix", "no closing paren: named platform with '(': invalid"),
        ("cfg (unix)", "space before paren: invalid"),
        (" cfg(unix)", "leading space: invalid"),
        ("CFG(unix)", "upper-case cfg: invalid"),
        ("cfg(\tunix)", "tab inside: invalid (only spaces are skipped)"),
        ("cfg(test)", "test: warning only for manifests, usable"),
        ('cfg(feature = "x")', "feature key: usable"),
        ("cfg(debug_assertions)", "usable"),
        (
            'cfg(all(unix, target_arch = "x86_64", not(any(windows, target_env = "msvc"))))',
            "nested: usable",
        ),
        ("not(any(cfg(windows),cfg(macos)))", "font-loader 0.1.2: invalid"),
        ('and(cfg(unix), not(target_os = "linux"))', "notice 0.1.0: invalid"),
        ('cfg(target_arch = "wasm32"', "cddl 0.3.14-0.3.17: invalid"),
        ("unix", "bare cfg name as a platform name: usable (Platform::Name)"),
        ('target_os = "linux"', "key/value without cfg(): invalid"),
    ]:
        yield target(t, why)
    yield with_dep("dep target a number: invalid", target=5)
    yield Case(
        line(deps=[dep(target="cfg(all(" + "all(" * 200 + ")" * 201 + ")")]),
        "cfg nested 200 deep: the recursive-descent parser has no depth limit, usable",
    )
    # ---- features ------------------------------------------------------------------------
    for fname, why in [
        ("default", "usable"),
        ("", "empty feature name: invalid"),
        ("dep:x", "starts with dep:: invalid"),
        ("a/b", "slash: invalid"),
        ("-a", "starts with '-': invalid"),
        ("+a", "starts with '+': invalid"),
        (".a", "starts with '.': invalid"),
        ("1a", "starts with a digit: usable"),
        ("a+b.c-d_e", "+ . - _ after the first char: usable"),
        ("c++17", "usable"),
        ("_a", "usable"),
        ("\u00e9t\u00e9", "Unicode XID: usable"),
        ("a b", "space: invalid"),
        ("a:b", "colon: invalid"),
        ("a?", "question mark: invalid"),
        ("\u00b2", "superscript two (not XID start, not ASCII digit): invalid"),
        ("\u0663", "Arabic-Indic digit: char::is_digit(10) is ASCII only, invalid"),
    ]:
        yield Case(line(features={fname: []}), f"feature name {fname!r}: {why}")
    opt = [dep()]
    nonopt = [dep(optional=False, drop=["target"])]
    for fv, deps, why in [
        (["a"], [], "value names itself: usable"),
        (["b"], [], "value names nothing: invalid"),
        ([""], [], "empty value: invalid"),
        (["a b"], [], "value with a space naming nothing: invalid"),
        (["helper"], opt, "implicit feature of an optional dep: usable"),
        (["helper"], nonopt, "plain name of a non-optional dep: invalid"),
        (["dep:helper"], opt, "dep: on an optional dep: usable"),
        (["dep:helper"], nonopt, "dep: on a non-optional dep: invalid"),
        (["dep:nothing"], [], "dep: on no dep: invalid"),
        (["dep:"], [], "dep: with an empty name: invalid"),
        (["helper/hf"], opt, "dep/feature on an optional dep: usable"),
        (["helper/hf"], nonopt, "dep/feature on a non-optional dep: usable"),
        (["helper/nope"], opt, "dep/feature: the dep's feature is not checked here: usable"),
        (["helper?/hf"], opt, "weak on an optional dep: usable"),
        (["helper?/hf"], nonopt, "weak on a non-optional dep: invalid"),
        (["nothing/x"], [], "dep/feature on no dep: invalid"),
        (["helper/hf/x"], opt, "two slashes: invalid"),
        (["dep:helper/hf"], opt, "dep: and /: invalid"),
        (["helper/"], opt, "empty dep feature: usable"),
        (["/hf"], [], "empty dep name: invalid"),
        (["helper?"], opt, "? without /: a feature name that does not exist, invalid"),
        (["helper??/hf"], opt, "double ?: dep 'helper?' does not exist, invalid"),
        (["dep:helper", "helper"], opt, "dep: hides the implicit feature: invalid"),
    ]:
        yield Case(line(deps=deps, features={"a": fv}), f"feature value {fv!r}: {why}")
    yield Case(
        line(deps=[dep()], features={"helper": []}),
        "feature named like an optional dep that nothing enables: "
        "'optional dependency is not included in any feature', invalid",
    )
    yield Case(
        line(deps=[dep()], features={"helper": ["dep:helper"]}),
        "feature helper = [dep:helper]: usable",
    )
    yield Case(
        line(deps=[dep(optional=False, drop=["target"])], features={"helper": []}),
        "feature named like a non-optional dep: usable",
    )
    yield Case(
        line(deps=[dep(name="x y", package="helper")]),
        "optional dep named 'x y': its implicit feature name is invalid, invalid",
    )
    yield Case(
        line(deps=[dep(name="x y", package="helper")], features={"a": ["dep:x y"]}),
        "optional dep 'x y' behind dep:: no implicit feature, usable",
    )
    yield Case(
        line(deps=[dep(name="x y", package="helper", optional=False, drop=["target"])]),
        "non-optional dep named 'x y': usable",
    )
    yield Case(
        line(deps=[dep(name="alias", package="helper")], features={"a": ["alias/hf"]}),
        "renamed dep referenced by its name in toml: usable",
    )
    yield Case(
        line(deps=[dep(name="alias", package="helper")], features={"a": ["helper/hf"]}),
        "renamed dep referenced by its package name: invalid",
    )
    yield Case(line(deps=[dep(kind="build")]), "optional build dependency: usable")
    yield Case(
        line(deps=[dep(kind="dev", optional=False, drop=["target"]), dep()]),
        "same dep as dev (required) and normal (optional): usable",
    )
    yield Case(
        line(deps=[dep(), dep(optional=False, drop=["target"])], features={"a": ["helper"]}),
        "same name optional and required: counts as optional, usable",
    )
    yield Case(
        line(features={"a": []}, features2={"a": ["dep:helper"]}, deps=[dep()]),
        "features2 merged into features: usable",
    )
    yield Case(line(features2={"a": ["b"]}), "features2 value naming nothing: invalid")
    yield Case(line(features2={"": []}), "features2 empty feature name: invalid")
    yield Case(
        line(features={"a": ["b"]}, features2={"b": []}),
        "a feature defined only in features2 is known: usable",
    )
    # ---- duplicate versions in one file -----------------------------------------------------
    good = line()
    bad = line(cksum=None)
    yield Case(good, "same version twice, second invalid: last wins, invalid", extra_lines=[bad])
    yield Case(bad, "same version twice, second valid: last wins, usable", extra_lines=[good])
    yield Case(line(yanked=True), "yanked line then a non-yanked one: usable", extra_lines=[good])
    yield Case(
        good,
        "good line then a dropped line of the same version: usable",
        extra_lines=[good.replace(b'"name"', b'"name":1,"name"')],
    )
    yield Case(
        line(cksum="b" * 64),
        "same version twice with different cksum: last wins",
        extra_lines=[good],
    )
    other = line(vers="1.0.1")
    yield Case(
        good.replace(b'"name"', b'"name":1,"name"'),
        "dropped 1.0.0 next to a valid 1.0.1: 'candidate versions found which didn't match'",
        extra_lines=[other],
    )
    yield Case(
        bad, "invalid 1.0.0 next to a valid 1.0.1: 'index entry is invalid'", extra_lines=[other]
    )
    yield Case(
        line(name="Probe"),
        "Probe 1.0.0 next to a valid probe 1.0.1: 'candidate versions found which didn't match'",
        extra_lines=[other],
    )
    yield Case(
        line(vers="1.0.0+build.5"),
        "lock pins 1.0.0, index has 1.0.0+build.5: see the notes (Locked matches build "
        "metadata exactly); here the lock is cargo's own (1.0.0+build.5)",
    )
    yield Case(
        line(vers="1.0.0+a"),
        "1.0.0+a and 1.0.0+b: both match =1.0.0",
        extra_lines=[line(vers="1.0.0+b", cksum=None)],
    )


def encode_line(data: bytes) -> dict[str, str]:
    try:
        return {"line": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {
            "line": data.decode("utf-8", "replace"),
            "line_b64": base64.b64encode(data).decode(),
        }


def first_error(message: str) -> str:
    """cargo's first error line and the line after it (or its panic line)."""
    lines = message.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith("error"):
            detail = lines[i + 1].strip() if i + 1 < len(lines) else ""
            return f"{ln} / {detail}" if detail else ln
        if "panicked at" in ln:
            detail = lines[i + 1].strip() if i + 1 < len(lines) else ""
            return re.sub(r"thread '(\w+)' \(\d+\)", r"thread '\1'", f"{ln.strip()} / {detail}")
    return ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", type=Path, default=Path("tests/fixtures/cargo_index_lines.json"))
    ap.add_argument("-k", default="", help="only cases whose note contains this")
    args = ap.parse_args(argv)
    out: list[dict[str, Any]] = []
    started = time.monotonic()
    selected = [c for c in cases() if args.k in c.why]
    with CargoProbe() as probe:
        for case in selected:
            res = probe.probe(
                case.line,
                crate=case.crate,
                dep_name=case.dep,
                version=case.version,
                locked=True,
                extra_lines=case.extra_lines,
            )
            row: dict[str, Any] = encode_line(case.line)
            row.update(
                cargo=res.verdict,
                locked=res.locked,
                why=case.why,
                reason=res.reason,
                error=first_error(res.message),
            )
            if case.crate != "probe":
                row["crate"] = case.crate
            if case.dep is not None:
                row["dep"] = case.dep
            if case.version != "1.0.0":
                row["version"] = case.version
            if case.extra_lines:
                row["extra_lines"] = [encode_line(x)["line"] for x in case.extra_lines]
            out.append(row)
            print(
                f"{res.verdict:13} {res.locked:8} {res.seconds:5.2f}s  {case.why}", file=sys.stderr
            )
    took = time.monotonic() - started
    print(
        f"{len(out)} lines in {took:.1f}s ({took / max(len(out), 1):.3f}s per line, "
        "two cargo runs each)",
        file=sys.stderr,
    )
    if not args.k:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    else:
        print(json.dumps(out, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
