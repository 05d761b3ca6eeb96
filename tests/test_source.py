"""``--index-url`` parsing: the plain-URL shortcut agrees with the full ``urlsplit`` checks."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from registry.config import index_url as source
from registry.config.index_url import SPARSE, parse_index_url
from registry.errors import UsageError

URLS = [
    "sparse+https://index.crates.io/",
    "https://index.crates.io/",
    "http://127.0.0.1:8719/",
    "sparse+http://127.0.0.1:8719/sub/dir/",
    "https://my-registry.example_corp.com/index",
    "HTTPS://INDEX.crates.io/",
    "sparse+https://index.crates.io",
    "https://host:99999/",
    "https://host:/",
    "https://host:0/",
    "https://user:pw@host/",
    "https://[::1]:8080/",
    "https://[::1/",
    "https://host/?q=1",
    "https://host/#frag",
    "https://ho st/",
    "https://host%41/",
    "https:///path/",
    "ftp://host/",
    "https://hôst/",
    "https://host:12a/",
]


def _outcome(text: str) -> tuple[str, str] | str:
    try:
        parsed = parse_index_url(text)
    except UsageError as exc:
        return str(exc)
    assert parsed.kind == SPARSE
    return parsed.url, parsed.dir_name


@pytest.mark.parametrize("text", URLS)
def test_plain_url_shortcut_matches_urlsplit(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _outcome(text)
    monkeypatch.setattr(source, "_is_plain_http_url", lambda url: False)
    assert _outcome(text) == fast


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("https://index.crates.io/", True),
        ("http://127.0.0.1:8719/", True),
        ("https://user:pw@host/", False),
        ("https://[::1]:8080/", False),
        ("https://host:99999/", False),
        ("ftp://host/", False),
    ],
)
def test_plain_url_shortcut_takes_only_plain_urls(text: str, plain: bool) -> None:
    assert source._is_plain_http_url(text) is plain


ORIGIN_URLS = [
    *(u.removeprefix("sparse+") for u in URLS if "99999" not in u and ":12a" not in u),
    "https://Index.Crates.IO:443/a/1/b",
    "http://127.0.0.1:080/x",
    "https://evil.example/redirect?to=https://index.crates.io/",
    "https://index.crates.io@evil.example/",
    "https://index.crates.io.evil.example/",
    "//host/",
    "",
]


@pytest.mark.parametrize("url", ORIGIN_URLS)
def test_url_origin_matches_urlsplit(url: str) -> None:
    """The token's host check: (scheme, host, port) exactly as ``urlsplit`` reads them."""
    try:
        parts = urlsplit(url)
        expected = (parts.scheme, (parts.hostname or "").lower(), parts.port)
    except ValueError:
        with pytest.raises(ValueError):
            source.url_origin(url)
        return
    assert source.url_origin(url) == expected


def test_credentials_refused_without_echoing_them() -> None:
    with pytest.raises(UsageError, match=r"carries credentials") as info:
        parse_index_url("https://user:secret@host/")
    assert "secret" not in str(info.value)
