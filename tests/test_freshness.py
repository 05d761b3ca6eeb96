"""cache/freshness.py: the pure freshness rule and the max-age sidecar."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from cache.freshness import CLOCK_SKEW, is_fresh, read_max_age, write_max_age

NAN = math.nan
INF = math.inf


@pytest.mark.parametrize(
    ("fetched_at", "max_age", "now", "fresh"),
    [
        (1000.0, 60, 1000.0, True),
        (1000.0, 60, 1059.9, True),
        (1000.0, 60, 1060.0, False),  # age == max-age: stale
        (1000.0, 60, 5000.0, False),
        (1000.0, 1, 1000.5, True),
        (1000.0, None, 1000.0, False),  # no max-age: never fresh
        (1000.0, 0, 1000.0, False),  # max-age=0: never fresh
        (1000.0, -5, 999.0, False),
        (1000.0 + CLOCK_SKEW - 1, 60, 1000.0, True),  # slightly in the future: clock skew
        (1000.0 + CLOCK_SKEW, 60, 1000.0, True),
        (1000.0 + CLOCK_SKEW + 1, 60, 1000.0, False),  # too far in the future
        (1e12, 10**9, 1000.0, False),
        (NAN, 60, 1000.0, False),
        (1000.0, NAN, 1000.0, False),
        (1000.0, 60, NAN, False),
        (1000.0, INF, 1e15, True),
    ],
)
def test_is_fresh(fetched_at: float, max_age: float | None, now: float, fresh: bool) -> None:
    assert is_fresh(fetched_at, max_age, now) is fresh


def test_sidecar_round_trip(tmp_path: Path) -> None:
    sidecar = tmp_path / "a" / "b" / "se" / "rd" / "serde"
    write_max_age(sidecar, 300)
    assert sidecar.read_bytes() == b"300\n"
    assert os.listdir(sidecar.parent) == ["serde"]  # no temp left behind
    got = read_max_age(sidecar)
    assert got == (sidecar.stat().st_mtime, 300.0)
    os.utime(sidecar, (1234.5, 1234.5))
    assert read_max_age(sidecar) == (1234.5, 300.0)
    write_max_age(sidecar, 0)
    got = read_max_age(sidecar)
    assert got is not None
    assert got[1] == 0.0
    assert got[0] > 1234.5  # rewriting restarts the clock


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"60", 60.0),
        (b" 60 \n", 60.0),
        (b"0\n", 0.0),
        (b"", None),
        (b"\n", None),
        (b"abc", None),
        (b"-5", None),
        (b"+5", None),
        (b"1.5", None),
        (b"1e3", None),
        (b"6 0", None),
        (b"\xff\xfe", None),
        ("\u0663".encode(), None),  # a non-ASCII digit
        (b"9" * 40, None),  # absurdly long
        (b"60\x00", None),
    ],
)
def test_read_max_age_garbage(tmp_path: Path, content: bytes, expected: float | None) -> None:
    sidecar = tmp_path / "s"
    sidecar.write_bytes(content)
    got = read_max_age(sidecar)
    assert (None if got is None else got[1]) == expected


def test_read_max_age_missing_or_directory(tmp_path: Path) -> None:
    assert read_max_age(tmp_path / "missing") is None
    (tmp_path / "dir").mkdir()
    assert read_max_age(tmp_path / "dir") is None
    (tmp_path / "file").write_bytes(b"1")
    assert read_max_age(tmp_path / "file" / "below") is None


@pytest.mark.parametrize("bad", [-1, True, 1.5, "60", None])
def test_write_max_age_rejects(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ValueError, match="max-age"):
        write_max_age(tmp_path / "s", bad)  # type: ignore[arg-type]
    assert not (tmp_path / "s").exists()
