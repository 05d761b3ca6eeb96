"""cache/dirhash.py: every vector of spec §6.4, plus URL normalisation and canonicalisation."""

from __future__ import annotations

import time

import pytest

from cache.dirhash import (
    DIRECTORY,
    GIT,
    GIT_BRANCH,
    GIT_DEFAULT_BRANCH,
    LOCAL_REGISTRY,
    PATH,
    REGISTRY,
    SPARSE_REGISTRY,
    canonicalize_url,
    legacy_source_dir_name,
    normalize_url,
    parse_source,
    short_hash,
    siphash13_64,
    siphash13_128,
    siphash24_64,
    source_dir_name,
    source_id_stream,
    stable_hash_u64,
)

# --- §6.4 byte-stream examples --------------------------------------------------------------

CRATES_IO_STREAM = "037370617273652b68747470733a2f2f696e6465782e6372617465732e696f2fff"


@pytest.mark.parametrize(
    ("kind", "url", "legacy", "stream_hex"),
    [
        (SPARSE_REGISTRY, "sparse+https://index.crates.io/", False, CRATES_IO_STREAM),
        (
            SPARSE_REGISTRY,
            "sparse+https://index.crates.io/",
            True,
            "0300000000000000" + CRATES_IO_STREAM[2:],
        ),
        (
            SPARSE_REGISTRY,
            "sparse+http://127.0.0.1:8719/",
            False,
            "037370617273652b687474703a2f2f3132372e302e302e313a383731392fff",
        ),
        (
            REGISTRY,
            "https://github.com/rust-lang/crates.io-index",
            False,
            "02" + b"https://github.com/rust-lang/crates.io-index".hex() + "ff",
        ),
        (
            REGISTRY,
            "https://github.com/rust-lang/crates.io-index",
            True,
            "0200000000000000" + b"https://github.com/rust-lang/crates.io-index".hex() + "ff",
        ),
    ],
)
def test_stream(kind: int, url: str, legacy: bool, stream_hex: str) -> None:
    assert source_id_stream(kind, url, legacy=legacy).hex() == stream_hex


@pytest.mark.parametrize(
    ("stream_hex", "lo", "hi", "finish", "short"),
    [
        (
            CRATES_IO_STREAM,
            0x4A281FA69FFA92F9,
            0xA0DCFC77ACDF902E,
            0x7F555B6B8CCF4919,
            "1949cf8c6b5b557f",
        ),
        (
            "037370617273652b687474703a2f2f3132372e302e302e313a383731392fff",
            None,
            None,
            0xA9567096C78AC1F8,
            "f8c18ac7967056a9",
        ),
        (
            "02" + b"https://github.com/rust-lang/crates.io-index".hex() + "ff",
            None,
            None,
            7062945687441624357,
            "25cdd57fae9f0462",
        ),
    ],
)
def test_stable_hasher_vectors(
    stream_hex: str, lo: int | None, hi: int | None, finish: int, short: str
) -> None:
    stream = bytes.fromhex(stream_hex)
    got_lo, got_hi = siphash13_128(stream)
    if lo is not None:
        assert (got_lo, got_hi) == (lo, hi)
    assert stable_hash_u64(stream) == finish == (got_lo * 3 + got_hi) % 2**64
    assert finish.to_bytes(8, "little").hex() == short


def test_crates_io_finish_decimal() -> None:
    assert stable_hash_u64(bytes.fromhex(CRATES_IO_STREAM)) == 9175340333319276825


@pytest.mark.parametrize(
    ("stream", "value", "short"),
    [
        (
            bytes.fromhex("0300000000000000" + CRATES_IO_STREAM[2:]),
            0x1F0015BA2BD2176F,
            "6f17d22bba15001f",
        ),
        (
            bytes.fromhex("0200000000000000") + b"https://github.com/rust-lang/crates.io-index\xff",
            None,
            "1ecc6299db9ec823",
        ),
    ],
)
def test_legacy_siphash24_vectors(stream: bytes, value: int | None, short: str) -> None:
    got = siphash24_64(stream)
    if value is not None:
        assert got == value
    assert got.to_bytes(8, "little").hex() == short


# --- §6.4 directory-name table --------------------------------------------------------------


# The crates.io rows' legacy names are the ones cargo 1.84's tests pin:
# src/cargo/core/source_id.rs:793 ("1ecc6299db9ec823") and
# tests/testsuite/global_cache_tracker.rs:240 ("index.crates.io-6f17d22bba15001f"), tag 0.85.0.
@pytest.mark.parametrize(
    ("source", "new", "legacy"),
    [
        (
            "sparse+https://index.crates.io/",
            "index.crates.io-1949cf8c6b5b557f",
            "index.crates.io-6f17d22bba15001f",
        ),
        (
            "registry+https://github.com/rust-lang/crates.io-index",
            "github.com-25cdd57fae9f0462",
            "github.com-1ecc6299db9ec823",
        ),
        (
            "https://github.com/rust-lang/crates.io-index",
            "github.com-25cdd57fae9f0462",
            "github.com-1ecc6299db9ec823",
        ),
        (
            "sparse+http://127.0.0.1:8719/",
            "127.0.0.1-f8c18ac7967056a9",
            "127.0.0.1-02e481614c4c56ef",
        ),
        (
            "sparse+http://127.0.0.1:18719/",
            "127.0.0.1-3649d011aac782cd",
            "127.0.0.1-331088a315ebcca9",
        ),
        ("sparse+http://127.0.0.1:18719/some/path/", "127.0.0.1-19fb7e01efc5534f", None),
        ("sparse+http://127.0.0.1:18719//", "127.0.0.1-3649d011aac782cd", None),
        ("sparse+http://LocalHost:18719/", "LocalHost-61c93e6ee5d3a03d", None),
        ("sparse+http://localhost:18719/", "localhost-47d9e03820a3835c", None),
        ("registry+http://127.0.0.1:9/git-index.git", "127.0.0.1-9fcf5ea41d507469", None),
        ("registry+http://127.0.0.1:9/git-index", "127.0.0.1-9fcf5ea41d507469", None),
    ],
)
def test_dir_names(source: str, new: str, legacy: str | None) -> None:
    assert source_dir_name(source) == new
    if legacy is not None:
        assert legacy_source_dir_name(source) == legacy


# --- §6.4 source_id.rs unit-test table (short_hash, >=1.85 and <=1.84) ------------------------
# The legacy column is cargo 1.84's own test (src/cargo/core/source_id.rs:814-848 at tag 0.85.0),
# the new one cargo 1.85's (the same test at tag 0.86.0).


@pytest.mark.parametrize(
    ("kind", "url", "new", "legacy"),
    [
        (REGISTRY, "https://my-crates.io", "b2d65deb64f05373", "fb60813d6cb8df79"),
        (REGISTRY, "https://your-crates.io", "755952de063f5dc4", "09c10fd0cbd74bce"),
        (SPARSE_REGISTRY, "sparse+https://my-crates.io", "327cfdbd92dd81e1", "d1ea0d96f6f759b5"),
        (SPARSE_REGISTRY, "sparse+https://your-crates.io", "64a713b6a6fb7055", "135d23074253cb78"),
        (GIT, "file:///tmp/ws/crate", "199e591d94239206", "73a808694abda756"),
        (LOCAL_REGISTRY, "file:///tmp/ws/crate", "58d73c154f81d09f", "52a84cc73f6fd48b"),
        (PATH, "file:///tmp/ws/crate", "64bace89c92b101f", "e1ddd48578620fc1"),
        (DIRECTORY, "file:///tmp/ws/crate", "505191d1f3920955", "6568fe2c2fab5bfe"),
    ],
)
def test_source_id_unit_vectors(kind: int, url: str, new: str, legacy: str) -> None:
    assert short_hash(kind, url) == new
    assert short_hash(kind, url, legacy=True) == legacy


@pytest.mark.parametrize(
    ("kind", "url", "finish"),
    [
        (REGISTRY, "https://github.com/rust-lang/crates.io-index", 7062945687441624357),
        (REGISTRY, "https://my-crates.io", 8310250053664888498),
        (SPARSE_REGISTRY, "sparse+https://my-crates.io", 16249512552851930162),
    ],
)
def test_finish_decimals(kind: int, url: str, finish: int) -> None:
    assert stable_hash_u64(source_id_stream(kind, url)) == finish


def test_legacy_default_hasher_decimal() -> None:
    # <=1.84 test value computed with DefaultHasher (SipHash-1-3, 64-bit) over the old stream.
    stream = source_id_stream(REGISTRY, "https://my-crates.io", legacy=True)
    assert stream == bytes.fromhex("0200000000000000") + b"https://my-crates.io/\xff"
    assert siphash13_64(stream) == 18108075011063494626


def test_git_reference_changes_stream() -> None:
    default = source_id_stream(GIT, "https://example.com/repo")
    assert default == b"\x00\x03https://example.com/repo\xff"
    assert (
        source_id_stream(GIT, "https://example.com/repo", git_reference=(GIT_DEFAULT_BRANCH, None))
        == default
    )
    branch = source_id_stream(GIT, "https://example.com/repo", git_reference=(GIT_BRANCH, "main"))
    assert branch == b"\x00\x01main\xffhttps://example.com/repo\xff"
    legacy = source_id_stream(GIT, "https://example.com/repo.git", legacy=True)
    assert legacy == bytes(8) + (3).to_bytes(8, "little") + b"https://example.com/repo\xff"


# --- URL handling ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "kind", "url"),
    [
        ("sparse+https://index.crates.io/", SPARSE_REGISTRY, "sparse+https://index.crates.io/"),
        ("registry+https://x.io/i", REGISTRY, "https://x.io/i"),
        ("https://x.io/i", REGISTRY, "https://x.io/i"),
    ],
)
def test_parse_source(source: str, kind: int, url: str) -> None:
    assert parse_source(source) == (kind, url)


@pytest.mark.parametrize(
    ("url", "normalized", "canonical"),
    [
        # special schemes: lowercase host, default port dropped, "/" for an empty path
        ("HTTPS://Example.COM:443", "https://example.com/", "https://example.com/"),
        ("http://example.com:80/a/", "http://example.com/a/", "http://example.com/a"),
        ("http://example.com:0080/a", "http://example.com/a", "http://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com//", "https://example.com//", "https://example.com/"),
        ("https://example.com/a//", "https://example.com/a//", "https://example.com/a/"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c", "https://example.com/a/c"),
        ("https://example.com/a b", "https://example.com/a%20b", "https://example.com/a%20b"),
        ("https://example.com/é", "https://example.com/%C3%A9", "https://example.com/%C3%A9"),
        ("https://0x7f.1/", "https://127.0.0.1/", "https://127.0.0.1/"),
        ("https://[0:0::1]:443/", "https://[::1]/", "https://[::1]/"),
        ("https://u:p@example.com/", "https://u:p@example.com/", "https://u:p@example.com/"),
        (
            "https://example.com/i?q=1#f",
            "https://example.com/i?q=1#f",
            "https://example.com/i?q=1#f",
        ),
        # github.com: path lowercased, scheme forced to https; .git stripped
        (
            "http://GitHub.com/Rust-Lang/Crates.io-Index.git",
            "http://github.com/Rust-Lang/Crates.io-Index.git",
            "https://github.com/rust-lang/crates.io-index",
        ),
        (
            "https://example.com/Repo.git/",
            "https://example.com/Repo.git/",
            "https://example.com/Repo",
        ),
        ("https://example.com/.git", "https://example.com/.git", "https://example.com/"),
        # non-special (sparse+): host case, port and empty path kept
        (
            "sparse+https://My-Crates.io",
            "sparse+https://My-Crates.io",
            "sparse+https://My-Crates.io",
        ),
        ("SPARSE+http://h:80/", "sparse+http://h:80/", "sparse+http://h:80/"),
        ("sparse+http://127.1/x/", "sparse+http://127.1/x/", "sparse+http://127.1/x"),
        ("sparse+http://h/", "sparse+http://h/", "sparse+http://h/"),
        ("sparse+http://h//", "sparse+http://h//", "sparse+http://h/"),
    ],
)
def test_normalize_and_canonicalize(url: str, normalized: str, canonical: str) -> None:
    assert normalize_url(url) == normalized
    assert canonicalize_url(url) == canonical


@pytest.mark.parametrize(
    "url",
    [
        "index.crates.io",
        "not a url",
        "mailto:someone@example.com",
        "sparse+http:no-authority",
        "https://",
        "https://exa mple.com/",
        "https://example.com:99999/",
        "https://example.com:8x/",
        "https://[::1/",
        "https://256.256.256.256/",
    ],
)
def test_rejects(url: str) -> None:
    with pytest.raises(ValueError):
        source_dir_name(url)


def test_host_is_from_the_non_canonical_url() -> None:
    assert source_dir_name("registry+https://GitHub.com/Rust-Lang/crates.io-index").startswith(
        "github.com-25cdd57fae9f0462"
    )
    assert source_dir_name("sparse+http://[::1]:8080/").startswith("[::1]-")


def test_fast_enough() -> None:
    # Runs at start-up of every command: well under 1 ms per directory name.
    start = time.perf_counter()
    for _ in range(200):
        source_dir_name("sparse+https://index.crates.io/")
    assert (time.perf_counter() - start) / 200 < 1e-3


@pytest.mark.parametrize(
    ("kind", "url", "hashed"),
    [
        # <=1.84 hashed the URL as written (normalised), not the canonical one
        (REGISTRY, "https://example.com/Index.git/", "https://example.com/Index.git/"),
        (SPARSE_REGISTRY, "sparse+http://h:1/some/path/", "sparse+http://h:1/some/path/"),
        (REGISTRY, "https://GitHub.com/A/B", "https://github.com/A/B"),
    ],
)
def test_legacy_hashes_the_non_canonical_url(kind: int, url: str, hashed: str) -> None:
    stream = source_id_stream(kind, url, legacy=True)
    assert stream == kind.to_bytes(8, "little") + hashed.encode() + b"\xff"
    assert source_id_stream(kind, url) != bytes([kind]) + hashed.encode() + b"\xff"
