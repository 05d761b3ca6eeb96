"""query.spec: CLI query specs (NAME, NAME==VERSION, NAME@REQUIREMENT)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from query.spec import QuerySpec, QuerySpecError, parse_query_spec
from query.version import VersionError, parse_version

REPO_ROOT = Path(__file__).resolve().parent.parent

VALID = [
    ("serde", QuerySpec("serde", None, None)),
    ("Serde_JSON", QuerySpec("Serde_JSON", None, None)),
    ("serde==1.0.102", QuerySpec("serde", "1.0.102", None)),
    ("serde==0.0.0", QuerySpec("serde", "0.0.0", None)),
    ("serde==1.0.0-rc.1+build.01", QuerySpec("serde", "1.0.0-rc.1+build.01", None)),
    ("serde==18446744073709551615.0.0", QuerySpec("serde", "18446744073709551615.0.0", None)),
    ("serde@^1.0", QuerySpec("serde", None, "^1.0")),
    ("serde@1.0", QuerySpec("serde", None, "1.0")),
    ("serde@=1.0.2", QuerySpec("serde", None, "=1.0.2")),
    ("serde@*", QuerySpec("serde", None, "*")),
    ("serde@x", QuerySpec("serde", None, "x")),
    ("serde@>=1.0, <2.0", QuerySpec("serde", None, ">=1.0, <2.0")),
    ("serde@ ~1.2 ", QuerySpec("serde", None, " ~1.2 ")),
    ("serde@1.0.0-alpha", QuerySpec("serde", None, "1.0.0-alpha")),
    ("a@1", QuerySpec("a", None, "1")),
    ("_x==1.2.3", QuerySpec("_x", "1.2.3", None)),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_specs(text: str, expected: QuerySpec) -> None:
    assert parse_query_spec(text) == expected


ERRORS = [
    "",
    "@1.0",
    "==1.0.0",
    "serde=1.0",
    "serde=",
    "serde==",
    "serde==1.0",
    "serde==1",
    "serde==v1.0.0",
    "serde== 1.0.0",
    "serde==1.0.0 ",
    "serde==01.0.0",
    "serde==1.0.0-01",
    "serde==1.0.0-",
    "serde==1.0.0+",
    "serde==1.0.0-a..b",
    "serde==18446744073709551616.0.0",
    "serde==^1.0.0",
    "serde===1.0.0",
    "serde==1.0.0==2.0.0",
    "serde==1.0.0@1",
    "serde==1.0.\u0661",
    "serde@",
    "serde@ ",
    "serde@@1",
    "serde@1.*.3",
    "serde@>=1 <2",
    "serde@1 || 2",
    "serde@*, 1",
    "serde@1.0==1",
    "serde@\t1",
    "ser/de",
    "../x==1.0.0",
    "-x@1",
    "serde ==1.0.0",
    " serde",
    "\u017ferde",
]


@pytest.mark.parametrize("text", ERRORS)
def test_invalid_specs(text: str) -> None:
    with pytest.raises(QuerySpecError) as info:
        parse_query_spec(text)
    assert repr(text) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_exact_message_suggests_requirement_form() -> None:
    with pytest.raises(QuerySpecError, match=r"use serde@REQUIREMENT"):
        parse_query_spec("serde==1.0")


def test_query_spec_is_frozen() -> None:
    spec = parse_query_spec("serde==1.0.0")
    with pytest.raises(AttributeError):
        spec.name = "other"  # type: ignore[misc]
    assert spec == QuerySpec("serde", "1.0.0", None)


VERSION_ALPHABET = "0129.-+aZ x"


@st.composite
def version_like(draw: st.DrawFn) -> str:
    """Strings near the version grammar: numbers with leading zeros, odd separators, etc."""
    if draw(st.booleans()):
        return draw(st.text(alphabet=VERSION_ALPHABET, max_size=14))
    nums = [
        draw(st.sampled_from(["0", "1", "01", "10", "", "18446744073709551616"])) for _ in "xyz"
    ]
    text = ".".join(nums[: draw(st.integers(min_value=1, max_value=3))])
    idents = st.sampled_from(["0", "00", "01", "1", "a", "0a", "-", "", "rc"])
    if draw(st.booleans()):
        text += "-" + ".".join(draw(st.lists(idents, min_size=1, max_size=3)))
    if draw(st.booleans()):
        text += "+" + ".".join(draw(st.lists(idents, min_size=1, max_size=3)))
    return text


@settings(max_examples=1000, deadline=None)
@given(version=version_like())
def test_exact_check_agrees_with_parse_version(version: str) -> None:
    try:
        parse_version(version)
    except VersionError:
        valid = False
    else:
        valid = True
    try:
        parse_query_spec(f"serde=={version}")
    except QuerySpecError:
        accepted = False
    else:
        accepted = True
    assert accepted is valid, version


def _fresh_python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_import_does_not_load_semver() -> None:
    out = _fresh_python("import query.spec, sys; print('semver' in sys.modules)")
    assert out == "False"


def test_parsing_specs_does_not_load_semver() -> None:
    """Requirements match on plain version parts; ``semver`` (~5 ms) loads only when a
    ``semver.Version`` is asked for."""
    code = (
        "import sys, query.spec as s\n"
        "s.parse_query_spec('serde==1.0.0-rc.1'); s.parse_query_spec('serde')\n"
        "print('semver' in sys.modules)\n"
        "from query.requirement import Requirement\n"
        "from query.version import parse_parts, parse_version\n"
        "req = s.parse_query_spec('serde@^1').requirement\n"
        "print(Requirement.parse(req).matches(parse_parts('1.2.3')))\n"
        "print('semver' in sys.modules)\n"
        "print(type(parse_version('1.2.3')).__module__, 'semver' in sys.modules)\n"
    )
    assert _fresh_python(code).split() == ["False", "True", "False", "semver.version", "True"]
