"""query.requirement: cargo requirement parsing and matching (spec §9.2-9.4)."""

from __future__ import annotations

import pytest
import semver
from hypothesis import given, settings
from hypothesis import strategies as st

from query.requirement import Requirement, RequirementError
from query.version import parse_version

# Every row of the §9.4 table (verified against cargo 1.95 by the spec's author).
SPEC_9_4 = [
    ("1.2.3", "1.9.0", True),
    ("1.2.3", "2.0.0", False),
    ("1.2.3", "1.2.2", False),
    ("^0.2.3", "0.2.9", True),
    ("^0.2.3", "0.3.0", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^0.0", "0.0.7", True),
    ("^0.0", "0.1.0", False),
    ("^0", "0.9.9", True),
    ("^0.2", "0.2.0", True),
    ("^0.2", "0.3.0", False),
    ("^1.2", "1.9.0", True),
    ("~1.2.3", "1.2.9", True),
    ("~1.2.3", "1.3.0", False),
    ("~1.2", "1.2.0", True),
    ("~1", "1.9.0", True),
    ("=1.2", "1.2.7", True),
    ("=1", "1.7.0", True),
    (">1.2", "1.2.9", False),
    (">1.2", "1.3.0", True),
    ("<=1.2", "1.2.9", True),
    ("<1.2", "1.1.9", True),
    ("<1.2", "1.2.0", False),
    ("1.*", "1.5.0", True),
    ("1.2.*", "1.3.0", False),
    ("*", "3.0.0", True),
    ("*", "0.0.1", True),
    ("x", "3.0.0", True),
    ("x", "0.0.1", True),
    (">=1.0.0, <2.0.0", "1.5.0", True),
    (">=1.0.0, <2.0.0", "2.0.0", False),
    (">= 1.2 , < 1.5", "1.4.0", True),
    ("^1.2.3-alpha.2", "1.2.3-alpha.10", True),
    ("^1.2.3-alpha.2", "1.2.3-alpha.1", False),
    ("^1.2.3-alpha", "1.2.4-alpha", False),
    ("^1.2.3-alpha", "1.3.0", True),
    ("^1.2.3", "1.2.4-rc.1", False),
    ("*", "1.0.0-beta", False),
    (">=1.0.0-0", "1.0.0-beta", True),
    (">=1.0.0-0", "1.0.1-beta", False),
    ("<2.0.0", "2.0.0-alpha", False),
    ("=1.2.3", "1.2.3+build.9", True),
    ("=1.2.3+ignored", "1.2.3", True),
    ("~1.2.3-beta", "1.2.3-rc", True),
    ("~1.2.3-beta", "1.2.4", True),
]

# More cases, read off the semver crate's eval.rs (not individually checked with cargo).
MORE = [
    ("X", "0.0.0", True),
    (">=1.*", "1.0.0", True),
    (">=1.*", "0.9.9", False),
    ("^1.x", "1.9.0", True),
    ("^1.x", "2.0.0", False),
    ("~1.*", "1.5.0", True),
    ("1.*.*", "1.5.0", True),
    ("1.x.X", "2.0.0", False),
    ("1.2.x", "1.2.9", True),
    ("=1.2.3-alpha", "1.2.3-alpha", True),
    ("=1.2.3-alpha", "1.2.3-beta", False),
    (">1.2.3-alpha", "1.2.3-beta", True),
    (">1.2.3-alpha", "1.2.3", True),
    ("<1.2.3-beta", "1.2.3-alpha", True),
    ("<1.2.3-beta", "1.2.3", False),
    ("1.2.3-alpha", "1.2.3-alpha+b", True),
    ("^0.0", "0.0.0-alpha", False),
    ("<=1.2.3-rc.1", "1.2.3-rc.1", True),
    # Partial comparators: the crate compares only the fields given, and `=`, `>=`, `<=`, `~`
    # then demand an equal (empty) pre-release, while `^`, `>`, `<` do not look at it. This
    # shows when another comparator opts a pre-release in:
    ("=1.2, >=1.2.1-alpha", "1.2.1-alpha", False),
    ("^1.2, >=1.2.1-alpha", "1.2.1-alpha", True),
    (">=1.2, <=1.2.1-beta", "1.2.1-alpha", False),
    (">1.1, <=1.2.1-beta", "1.2.1-alpha", True),
    (">1, <=2.0.0-beta", "2.0.0-alpha", True),
    ("<2.0.0, >=2.0.0-alpha", "2.0.0-alpha", True),
    ("<2, >=1.9.9-alpha", "1.9.9-alpha", True),
    ("<=1, >=1.9.9-alpha", "1.9.9-alpha", False),
]


@pytest.mark.parametrize(("req", "version", "expected"), SPEC_9_4 + MORE)
def test_matches_table(req: str, version: str, expected: bool) -> None:
    assert Requirement.parse(req).matches(parse_version(version)) is expected


# (requirement, fragment of the reason)
PARSE_ERRORS = [
    ("", "unexpected end of input while parsing major"),
    ("   ", "unexpected end of input while parsing major"),
    ("v1", "unexpected character 'v' while parsing major"),
    ("~>1.2", "unexpected character '>' while parsing major"),
    ("> =1", "unexpected character '=' while parsing major"),
    ("=*", "unexpected character '*' while parsing major"),
    ("\uff11", "while parsing major"),
    ("01", "invalid leading zero in major"),
    ("1.02", "invalid leading zero in minor"),
    ("1.2.03", "invalid leading zero in patch"),
    ("1.2.3-01", "invalid leading zero in pre-release"),
    ("18446744073709551616", "exceeds u64::MAX"),
    ("1.2.3-", "empty identifier segment in pre-release"),
    ("1.2.3-a..b", "empty identifier segment in pre-release"),
    ("1.2.3+", "empty identifier segment in build"),
    ("1.2.3+a.", "empty identifier segment in build"),
    ("*, 1", "wildcard req (*) must be the only comparator"),
    ("x , >=1", "wildcard req (x) must be the only comparator"),
    ("1, *", "wildcard req (*) must be the only comparator"),
    (">=1.0, X ", "wildcard req (X) must be the only comparator"),
    ("1.*.3", "unexpected character after wildcard"),
    ("^1.x.0", "unexpected character after wildcard"),
    ("*1", "unexpected character after wildcard"),
    ("x.1", "unexpected character after wildcard"),
    ("*.*", "unexpected character after wildcard"),
    (", ".join(["1"] * 33), "excessive number of version comparators"),
    (">=1 <2", "expected comma after major version number, found '<'"),
    (">=1.0 <2", "expected comma after minor version number, found '<'"),
    ("1 || 2", "expected comma after major version number, found '|'"),
    ("1.2.3 - 2.0.0", "expected comma after patch version number, found '-'"),
    ("1.2-alpha", "expected comma after minor version number, found '-'"),
    ("1-alpha", "expected comma after major version number, found '-'"),
    ("1.2.*-alpha", "expected comma after patch version number, found '-'"),
    ("1.2+build", "expected comma after minor version number, found '+'"),
    ("1.2.3.4", "expected comma after patch version number, found '.'"),
    ("1.2.3-alpha beta", "expected comma after pre-release identifier, found 'b'"),
    ("1.0,", "unexpected end of input while parsing major"),
    (",1.0", "unexpected character ',' while parsing major"),
    ("1,,2", "unexpected character ',' while parsing major"),
    ("\t1", "unexpected character '\\t' while parsing major"),
    ("1\t", "expected comma after major version number, found '\\t'"),
    ("1,\t2", "unexpected character '\\t' while parsing major"),
    ("1.2\u00a0", "found '\\xa0'"),
]


@pytest.mark.parametrize(("req", "reason"), PARSE_ERRORS)
def test_parse_errors(req: str, reason: str) -> None:
    with pytest.raises(RequirementError) as info:
        Requirement.parse(req)
    message = str(info.value)
    assert repr(req) in message
    assert reason in message
    assert isinstance(info.value, ValueError)


# (input, normalised str()) for accepted requirements
NORMALISED = [
    ("1.2.3", "^1.2.3"),
    ("  1.2  ", "^1.2"),
    ("*", "*"),
    (" x ", "*"),
    ("X", "*"),
    (">= 1.2 , < 1.5", ">=1.2, <1.5"),
    (">=1.0.0,<2.0.0", ">=1.0.0, <2.0.0"),
    ("1.2.*", "1.2.*"),
    ("1.*", "1.*"),
    ("1.*.*", "1.*"),
    ("1.x", "1.*"),
    ("1.2.X", "1.2.*"),
    (">=1.*", ">=1"),
    ("^1.x", "^1"),
    ("~1.2.*", "~1.2"),
    ("=1.2.3+build.5", "=1.2.3"),
    ("~1.2.3-beta.1+b", "~1.2.3-beta.1"),
    ("<= 0.0.0-0", "<=0.0.0-0"),
    ("18446744073709551615.0.0", "^18446744073709551615.0.0"),
    (", ".join(["1"] * 32), ", ".join(["^1"] * 32)),
]


@pytest.mark.parametrize(("req", "shown"), NORMALISED)
def test_parse_and_str(req: str, shown: str) -> None:
    parsed = Requirement.parse(req)
    assert str(parsed) == shown
    assert Requirement.parse(shown) == parsed


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("1.2.3", "^1.2.3", True),
        ("=1.2.3+a", "=1.2.3", True),
        (">= 1.0 ,<2", ">=1.0, <2", True),
        ("*", "x", True),
        ("1.2.3", "=1.2.3", False),
        ("1.2.*", "=1.2", False),  # a distinct op in the crate, even though they match alike
        (">=1, <2", "<2, >=1", False),
    ],
)
def test_equality_and_hash(a: str, b: str, equal: bool) -> None:
    ra, rb = Requirement.parse(a), Requirement.parse(b)
    assert (ra == rb) is equal
    if equal:
        assert hash(ra) == hash(rb)
        assert len({ra, rb}) == 1


def test_any_versus_star() -> None:
    star = Requirement.parse("*")
    anything = Requirement.any()
    beta = parse_version("1.0.0-beta")
    release = parse_version("1.0.0+build")
    assert anything.matches(beta)
    assert not star.matches(beta)
    assert anything.matches(release)
    assert star.matches(release)
    assert anything != star
    assert anything == Requirement.any()
    assert hash(anything) == hash(Requirement.any())
    assert repr(anything) == "Requirement.any()"
    assert repr(star) == "Requirement.parse('*')"


def test_requirement_is_immutable() -> None:
    req = Requirement.parse("^1")
    with pytest.raises(AttributeError):
        req._any = True  # type: ignore[attr-defined]
    assert not req.matches(parse_version("1.0.0-alpha"))


# ---------------------------------------------------------------------------------------------
# Property test against an independent reference.
#
# The reference desugars each comparator into an interval over the total order of
# (major, minor, patch, pre) -- with MIN, a sentinel below every pre-release, playing the role
# of node's "-0" -- plus, for partial `=`/`~`/wildcard/`>=`/`<=`, a "zone" (versions whose given
# fields equal the comparator's) in which only releases are admitted. On top of that sits the
# §9.3 pre-release rule. The §9.3 per-operator table, made exact for pre-releases:
#   =I.J.K-p   [v, v]                 >v  (v, inf)       >=v [v, inf)
#   <v         (-inf, v)              <=v (-inf, v]
#   ~I.J.K-p   [v, I.(J+1).0-MIN)
#   ^I.J.K-p   [v, (I+1).0.0-MIN) if I>0; [v, 0.(J+1).0-MIN) if J>0; else [v, 0.0.(K+1)-MIN)
#   =P, ~P, P.*  zone(P), releases only          >P  [next(P), inf)
#   >=P        [zone(P) start, inf), releases only inside zone(P)
#   <P         (-inf, zone(P) start)  <=P (-inf, next(P)), releases only inside zone(P)
#   ^I         [I.0.0-MIN, (I+1).0.0-MIN)
#   ^I.J       [I.J.0-MIN, (I+1).0.0-MIN) if I>0 else [0.J.0-MIN, 0.(J+1).0-MIN)
# where zone(I.J) = [I.J.0-MIN, I.(J+1).0-MIN), zone(I) = [I.0.0-MIN, (I+1).0.0-MIN), and
# next(P) is the end of zone(P).
# ---------------------------------------------------------------------------------------------

MIN_PRE = (0,)
RELEASE = (2,)

Point = tuple[int, int, int, tuple[object, ...]]
# (effective op, major, minor, patch, pre): the op is "=" for a bare wildcard, "^" when bare
Structured = tuple[str, int, int | None, int | None, str | None]
VersionParts = tuple[int, int, int, str | None]


def ref_pre(pre: str | None) -> tuple[object, ...]:
    if not pre:
        return RELEASE
    idents = tuple((0, int(x)) if x.isdigit() else (1, x) for x in pre.split("."))
    return (1, idents)


def ref_point(major: int, minor: int, patch: int, pre: str | None) -> Point:
    return (major, minor, patch, ref_pre(pre))


def ref_zone(prefix: tuple[int, ...]) -> tuple[Point, Point]:
    if len(prefix) == 1:
        (i,) = prefix
        return (i, 0, 0, MIN_PRE), (i + 1, 0, 0, MIN_PRE)
    i, j = prefix
    return (i, j, 0, MIN_PRE), (i, j + 1, 0, MIN_PRE)


def ref_comparator_matches(cmp: Structured, v: Point) -> bool:
    op, i, j, k, pre = cmp
    lo: Point | None = None
    hi: Point | None = None
    lo_incl = hi_incl = True
    release_only_zone: tuple[Point, Point] | None = None
    if k is not None:
        assert j is not None
        full = ref_point(i, j, k, pre)
        if op == "=":
            lo = hi = full
        elif op == ">":
            lo, lo_incl = full, False
        elif op == ">=":
            lo = full
        elif op == "<":
            hi, hi_incl = full, False
        elif op == "<=":
            hi = full
        elif op == "~":
            lo, hi, hi_incl = full, (i, j + 1, 0, MIN_PRE), False
        else:  # ^
            if i > 0:
                top = (i + 1, 0, 0, MIN_PRE)
            elif j > 0:
                top = (0, j + 1, 0, MIN_PRE)
            else:
                top = (0, 0, k + 1, MIN_PRE)
            lo, hi, hi_incl = full, top, False
    else:
        prefix = (i,) if j is None else (i, j)
        start, end = ref_zone(prefix)
        if op in ("=", "~"):
            lo, hi, hi_incl = start, end, False
            release_only_zone = (start, end)
        elif op == ">":
            lo = end
        elif op == ">=":
            lo = start
            release_only_zone = (start, end)
        elif op == "<":
            hi, hi_incl = start, False
        elif op == "<=":
            hi, hi_incl = end, False
            release_only_zone = (start, end)
        elif j is None or i > 0:  # ^
            lo, hi, hi_incl = start, (i + 1, 0, 0, MIN_PRE), False
        else:  # ^0.J
            lo, hi, hi_incl = start, end, False
    if lo is not None and not (v >= lo if lo_incl else v > lo):
        return False
    if hi is not None and not (v <= hi if hi_incl else v < hi):
        return False
    if release_only_zone is not None and v[3] != RELEASE:
        zstart, zend = release_only_zone
        if zstart <= v < zend:
            return False
    return True


def ref_matches(comparators: list[Structured], version: VersionParts) -> bool:
    major, minor, patch, pre = version
    point = ref_point(major, minor, patch, pre)
    if not all(ref_comparator_matches(c, point) for c in comparators):
        return False
    if not pre:
        return True
    return any(c[4] and (c[1], c[2], c[3]) == (major, minor, patch) for c in comparators)


PRES = ["0", "1", "2", "10", "alpha", "alpha.1", "alpha.2", "alpha.10", "beta", "rc.1"]
BUILDS = ["1", "01", "build.5"]
OPS = ["", "=", ">", ">=", "<", "<=", "~", "^"]
SHAPES = ["M", "M.m", "M.m.p", "M.m.p", "M.m.p-pre", "M.m.p-pre", "M.*", "M.*.*", "M.m.*"]
SPACE = st.sampled_from(["", "", " ", "  "])
WILD = st.sampled_from("*xX")


def near(draw: st.DrawFn, value: int) -> int:
    """A number at or next to ``value`` most of the time, so that boundaries are exercised."""
    return draw(st.sampled_from([value, value, value, value + 1, max(value - 1, 0), 0, 1, 2]))


@st.composite
def versions(draw: st.DrawFn) -> VersionParts:
    major, minor, patch = (draw(st.integers(min_value=0, max_value=2)) for _ in range(3))
    pre = draw(st.one_of(st.none(), st.sampled_from(PRES)))
    return major, minor, patch, pre


@st.composite
def comparators(draw: st.DrawFn, target: VersionParts) -> tuple[str, Structured]:
    """One comparator near ``target``, as (text, structured form with the effective op)."""
    op = draw(st.sampled_from(OPS))
    major = near(draw, target[0])
    shape = draw(st.sampled_from(SHAPES))
    minor: int | None = None
    patch: int | None = None
    pre: str | None = None
    if shape == "M":
        body = f"{major}"
    elif shape == "M.*":
        body = f"{major}.{draw(WILD)}"
    elif shape == "M.*.*":
        body = f"{major}.{draw(WILD)}.{draw(WILD)}"
    else:
        minor = near(draw, target[1])
        if shape == "M.m":
            body = f"{major}.{minor}"
        elif shape == "M.m.*":
            body = f"{major}.{minor}.{draw(WILD)}"
        else:
            patch = near(draw, target[2])
            body = f"{major}.{minor}.{patch}"
            if shape == "M.m.p-pre":
                choices = [*PRES, target[3]] if target[3] else PRES
                pre = draw(st.sampled_from(choices))
                body += f"-{pre}"
            build = draw(st.one_of(st.none(), st.sampled_from(BUILDS)))
            if build is not None:
                body += f"+{build}"
    effective = op if op else ("=" if "*" in shape else "^")
    return f"{op}{draw(SPACE)}{body}", (effective, major, minor, patch, pre)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, list[Structured], VersionParts, semver.Version]:
    parts = draw(versions())
    build = draw(st.one_of(st.none(), st.sampled_from(BUILDS)))
    version = semver.Version(*parts[:3], parts[3], build)
    if draw(st.integers(min_value=0, max_value=19)) == 0:
        return f"{draw(SPACE)}{draw(WILD)}{draw(SPACE)}", [], parts, version
    drawn = draw(st.lists(comparators(parts), min_size=1, max_size=3))
    text = draw(SPACE)
    for n, (part, _) in enumerate(drawn):
        if n:
            text += f"{draw(SPACE)},{draw(SPACE)}"
        text += part
    text += draw(SPACE)
    return text, [structured for _, structured in drawn], parts, version


@settings(max_examples=2000, deadline=None)
@given(case=cases())
def test_matches_agrees_with_reference(
    case: tuple[str, list[Structured], VersionParts, semver.Version],
) -> None:
    text, structured, parts, version = case
    parsed = Requirement.parse(text)
    assert parsed.matches(version) is ref_matches(structured, parts), (text, str(version))
    assert Requirement.parse(str(parsed)) == parsed
