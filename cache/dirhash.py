"""Cargo's index directory names: ``<host>-<short_hash(SourceId)>`` (spec §6).

``source_dir_name`` gives the name cargo >= 1.85 uses under ``registry/index/``;
``legacy_source_dir_name`` the one cargo <= 1.84 used. Both take a source URL in one of the
forms cargo accepts for registries:

* ``sparse+http(s)://...``: kind SparseRegistry (3). The whole URL, ``sparse+`` included, is
  hashed. The scheme is not a WHATWG "special" scheme, so the host is opaque (case kept) and
  the port and an empty path are kept as written.
* ``registry+https://...`` or a plain ``https://...``: kind Registry (2), the URL without
  ``registry+``. Special-scheme normalisation: lowercase host, default port dropped, ``/`` for
  an empty path.

The hash (>= 1.85) is ``rustc_stable_hash::StableSipHasher128`` (SipHash-1-3, 128-bit output
mode, keys 0) over ``write_isize(kind)`` (one byte) + canonical URL + ``0xff``, reduced by
``finish() = (lo * 3 + hi) mod 2**64``. The short hash is that u64's 8 little-endian bytes in
hex. Cargo <= 1.84 used SipHash-2-4-64 over an 8-byte kind and the *non-canonical* URL; in
cargo's source at tag 0.85.0 (= cargo 1.84, the last with the old hash):
src/cargo/util/hasher.rs:13 (``StableHasher(SipHasher::new())``: std's SipHash-2-4, keys 0),
src/cargo/util/hex.rs:29 (``short_hash``: ``to_hex(hash_u64(..))``, little-endian hex),
src/cargo/core/source_id.rs:671 (``impl Hash for SourceId``: the kind, then the canonical URL
for git and ``url.as_str()`` otherwise), crates/cargo-util-schemas/src/core/source_kind.rs:4
(``#[derive(Hash)]``: the discriminant through ``write_isize``, 8 bytes) and
src/cargo/sources/registry/mod.rs:455 (``short_name``: ``<host>-<short hash>``). Its own tests
pin the values tests/test_dirhash.py checks: source_id.rs:793 (``1ecc6299db9ec823``, crates.io
over git), source_id.rs:814-848, tests/testsuite/global_cache_tracker.rs:240
(``index.crates.io-6f17d22bba15001f``). No cargo <= 1.84 is installed here to ask directly.

Everything here is pure Python without third-party or heavy stdlib imports: it runs at the
start of every command.
"""

from __future__ import annotations

from query.record import Record

__all__ = [
    "DIRECTORY",
    "GIT",
    "GIT_BRANCH",
    "GIT_DEFAULT_BRANCH",
    "GIT_REV",
    "GIT_TAG",
    "LOCAL_REGISTRY",
    "PATH",
    "REGISTRY",
    "SPARSE_REGISTRY",
    "canonicalize_url",
    "legacy_source_dir_name",
    "normalize_url",
    "parse_source",
    "short_hash",
    "siphash13_64",
    "siphash13_128",
    "siphash24_64",
    "source_dir_name",
    "source_id_stream",
    "stable_hash_u64",
]

# SourceKind discriminants in declaration order (cargo-util-schemas core/source_kind.rs).
GIT = 0
PATH = 1
REGISTRY = 2
SPARSE_REGISTRY = 3
LOCAL_REGISTRY = 4
DIRECTORY = 5

# GitReference discriminants, for git sources: (discriminant, payload or None).
GIT_TAG = 0
GIT_BRANCH = 1
GIT_REV = 2
GIT_DEFAULT_BRANCH = 3

_M64 = 0xFFFF_FFFF_FFFF_FFFF


# --------------------------------------------------------------------------------------------
# SipHash


def _rounds(v0: int, v1: int, v2: int, v3: int, n: int) -> tuple[int, int, int, int]:
    m64 = _M64
    for _ in range(n):
        v0 = (v0 + v1) & m64
        v1 = ((v1 << 13) | (v1 >> 51)) & m64 ^ v0
        v0 = ((v0 << 32) | (v0 >> 32)) & m64
        v2 = (v2 + v3) & m64
        v3 = ((v3 << 16) | (v3 >> 48)) & m64 ^ v2
        v0 = (v0 + v3) & m64
        v3 = ((v3 << 21) | (v3 >> 43)) & m64 ^ v0
        v2 = (v2 + v1) & m64
        v1 = ((v1 << 17) | (v1 >> 47)) & m64 ^ v2
        v2 = ((v2 << 32) | (v2 >> 32)) & m64
    return v0, v1, v2, v3


def _siphash(data: bytes, c_rounds: int, d_rounds: int, wide: bool) -> tuple[int, int]:
    """SipHash-c-d with keys (0, 0). Returns (first 64-bit output, second output or 0)."""
    v0 = 0x736F6D6570736575
    v1 = 0x646F72616E646F6D ^ (0xEE if wide else 0)
    v2 = 0x6C7967656E657261
    v3 = 0x7465646279746573
    n = len(data)
    tail = n - n % 8
    for i in range(0, tail + 8, 8):
        if i < tail:
            m = int.from_bytes(data[i : i + 8], "little")
        else:  # last block: the 0..7 tail bytes, zero padded, with len & 0xff in the top byte
            m = ((n & 0xFF) << 56) | int.from_bytes(data[tail:], "little")
        v0, v1, v2, v3 = _rounds(v0, v1, v2, v3 ^ m, c_rounds)
        v0 ^= m
    v0, v1, v2, v3 = _rounds(v0, v1, v2 ^ (0xEE if wide else 0xFF), v3, d_rounds)
    first = v0 ^ v1 ^ v2 ^ v3
    if not wide:
        return first, 0
    v0, v1, v2, v3 = _rounds(v0, v1 ^ 0xDD, v2, v3, d_rounds)
    return first, v0 ^ v1 ^ v2 ^ v3


def siphash13_128(data: bytes) -> tuple[int, int]:
    """SipHash-1-3 in 128-bit mode, keys 0: returns (lo, hi) as u64s."""
    return _siphash(data, 1, 3, True)


def stable_hash_u64(data: bytes) -> int:
    """``StableSipHasher128::finish()`` over ``data``: ``(lo * 3 + hi) mod 2**64``."""
    lo, hi = _siphash(data, 1, 3, True)
    return (lo * 3 + hi) & _M64


def siphash24_64(data: bytes) -> int:
    """SipHash-2-4, 64-bit output, keys 0 (``std::hash::SipHasher::new()``, cargo <= 1.84)."""
    return _siphash(data, 2, 4, False)[0]


def siphash13_64(data: bytes) -> int:
    """SipHash-1-3, 64-bit output, keys 0 (Rust's ``DefaultHasher``; used by test vectors)."""
    return _siphash(data, 1, 3, False)[0]


# --------------------------------------------------------------------------------------------
# SourceId byte stream and short hash


def _write_isize(value: int, legacy: bool) -> bytes:
    if legacy:  # Hasher::write_isize default: 8 native-endian (LE on every supported host) bytes
        return value.to_bytes(8, "little", signed=True)
    # StableHasher: one byte below 0xFF, else 0xFF + the u64 in little-endian order
    return bytes([value]) if 0 <= value < 0xFF else b"\xff" + (value & _M64).to_bytes(8, "little")


def source_id_stream(
    kind: int,
    url: str,
    *,
    git_reference: tuple[int, str | None] | None = None,
    legacy: bool = False,
) -> bytes:
    """The bytes cargo feeds its hasher for ``impl Hash for SourceId`` (§6.2).

    ``url`` is the URL as stored in the SourceId: ``sparse+`` included, ``registry+`` not.
    ``git_reference`` is (GIT_TAG/GIT_BRANCH/GIT_REV, name) or (GIT_DEFAULT_BRANCH, None) and
    only matters for ``kind == GIT`` (where it defaults to the default branch).
    ``legacy`` selects cargo <= 1.84: 8-byte discriminants and, except for git, the
    non-canonical URL.
    """
    return _stream(kind, _parse(url), git_reference, legacy)


def _stream(
    kind: int, parsed: _Url, git_reference: tuple[int, str | None] | None, legacy: bool
) -> bytes:
    out = [_write_isize(kind, legacy)]
    if kind == GIT:
        ref_kind, ref_name = git_reference or (GIT_DEFAULT_BRANCH, None)
        out.append(_write_isize(ref_kind, legacy))
        if ref_name is not None:
            out += (ref_name.encode(), b"\xff")
    hashed = parsed.serialize() if legacy and kind != GIT else _canonical(parsed).serialize()
    out += (hashed.encode(), b"\xff")
    return b"".join(out)


def short_hash(
    kind: int,
    url: str,
    *,
    git_reference: tuple[int, str | None] | None = None,
    legacy: bool = False,
) -> str:
    """``cargo::util::hex::short_hash(&source_id)``: 16 hex digits of the u64, little-endian."""
    return _short_hash(
        source_id_stream(kind, url, git_reference=git_reference, legacy=legacy), legacy
    )


def _short_hash(stream: bytes, legacy: bool) -> str:
    value = siphash24_64(stream) if legacy else stable_hash_u64(stream)
    return value.to_bytes(8, "little").hex()


def parse_source(source_url: str) -> tuple[int, str]:
    """Split a registry source URL into (SourceKind, URL as stored in the SourceId)."""
    if source_url.startswith("sparse+"):
        return SPARSE_REGISTRY, source_url
    if source_url.startswith("registry+"):
        return REGISTRY, source_url[len("registry+") :]
    return REGISTRY, source_url


def _dir_name(source_url: str, legacy: bool) -> str:
    kind, url = parse_source(source_url)
    parsed = _parse(url)
    return f"{parsed.host}-{_short_hash(_stream(kind, parsed, None, legacy), legacy)}"


def source_dir_name(source_url: str) -> str:
    """The ``registry/index/`` directory name cargo >= 1.85 uses for this registry.

    >>> source_dir_name("sparse+https://index.crates.io/")
    'index.crates.io-1949cf8c6b5b557f'
    """
    return _dir_name(source_url, legacy=False)


def legacy_source_dir_name(source_url: str) -> str:
    """The directory name cargo <= 1.84 used (SipHash-2-4 over the non-canonical URL)."""
    return _dir_name(source_url, legacy=True)


def normalize_url(url: str) -> str:
    """The URL as the WHATWG parser (Rust ``url`` crate) serialises it: ``Url::as_str()``."""
    return _parse(url).serialize()


def canonicalize_url(url: str) -> str:
    """Cargo's ``CanonicalUrl::new(url).as_str()`` (§6.2)."""
    return _canonical(_parse(url)).serialize()


# --------------------------------------------------------------------------------------------
# A small WHATWG URL parser: just what registry URLs need (hierarchical URLs with a host).

_SPECIAL_SCHEMES = ("http", "https", "ws", "wss", "ftp", "file")
_PATH_SET = ' "#<>?`{}'
_USERINFO_SET = _PATH_SET + "/:;=@[\\]^|"
_QUERY_SET = ' "#<>'
_FRAGMENT_SET = ' "<>`'
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_FORBIDDEN_HOST = "\0\t\n\r #/:<>?@[\\]^|"
_SCHEME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-."


def _default_port(scheme: str) -> int | None:
    if scheme in ("http", "ws"):
        return 80
    if scheme in ("https", "wss"):
        return 443
    return 21 if scheme == "ftp" else None


def _pct(text: str, extra: str) -> str:
    """Percent-encode C0 controls, non-ASCII and the characters in ``extra`` (UTF-8)."""
    if text.isascii() and text.isprintable() and not any(c in text for c in extra):
        return text
    out = []
    for ch in text:
        if ch < " " or ch > "~" or ch in extra:
            out.append("".join(f"%{b:02X}" for b in ch.encode()))
        else:
            out.append(ch)
    return "".join(out)


class _Url(Record, frozen=False):
    scheme: str
    userinfo: str
    host: str
    port: str
    path: str
    query: str | None
    fragment: str | None

    @property
    def special(self) -> bool:
        return self.scheme in _SPECIAL_SCHEMES

    def serialize(self, scheme: str | None = None) -> str:
        out = [scheme or self.scheme, "://"]
        if self.userinfo:
            out += (self.userinfo, "@")
        out.append(self.host)
        if self.port:
            out += (":", self.port)
        out.append(self.path)
        if self.query is not None:
            out += ("?", self.query)
        if self.fragment is not None:
            out += ("#", self.fragment)
        return "".join(out)


def _parse(url: str) -> _Url:
    """Parse an absolute URL with an authority the way the WHATWG parser would."""
    url = url.strip(_C0_AND_SPACE).replace("\t", "").replace("\n", "")
    url = url.replace("\r", "")
    scheme, colon, rest = url.partition(":")
    if not colon or not scheme or not scheme[0].isalpha() or scheme.strip(_SCHEME_CHARS):
        raise ValueError(f"not an absolute URL: {url!r}")
    scheme = scheme.lower()
    special = scheme in _SPECIAL_SCHEMES
    rest, hash_sign, fragment = rest.partition("#")
    rest, question, query = rest.partition("?")
    if special:
        rest = rest.replace("\\", "/")
    if special and scheme != "file":
        rest = "//" + rest.lstrip("/")  # the special-authority states ignore any slashes
    if not rest.startswith("//"):
        raise ValueError(f"URL has no host (cannot be a registry URL): {url!r}")
    slash = rest.find("/", 2)
    authority, path = (rest[2:], "") if slash < 0 else (rest[2:slash], rest[slash:])
    userinfo, at, hostport = authority.rpartition("@")
    if at:
        user, _, password = userinfo.partition(":")
        userinfo = _pct(user, _USERINFO_SET)
        if password:
            userinfo += ":" + _pct(password, _USERINFO_SET)
    if hostport.startswith("["):
        close = hostport.find("]")
        host, port_part = hostport[: close + 1], hostport[close + 1 :]
        if close < 0 or (port_part and not port_part.startswith(":")):
            raise ValueError(f"invalid IPv6 host in {url!r}")
        host, port = _ipv6(host[1:-1], url), port_part[1:]
    else:
        host, _, port = hostport.partition(":")
        host = _host(host, scheme, url)
    if port:
        if not port.isascii() or not port.isdigit() or int(port) > 0xFFFF:
            raise ValueError(f"invalid port in {url!r}")
        port = "" if int(port) == _default_port(scheme) else str(int(port))
    if (userinfo or port) and not host:
        raise ValueError(f"URL has credentials or a port but no host: {url!r}")
    return _Url(
        scheme=scheme,
        userinfo=userinfo,
        host=host,
        port=port,
        path=_path(path, special),
        query=_pct(query, _QUERY_SET + ("'" if special else "")) if question else None,
        fragment=_pct(fragment, _FRAGMENT_SET) if hash_sign else None,
    )


def _host(host: str, scheme: str, url: str) -> str:
    if scheme not in _SPECIAL_SCHEMES:  # opaque host: case kept, nothing decoded
        if any(c in _FORBIDDEN_HOST for c in host):
            raise ValueError(f"forbidden character in host of {url!r}")
        return _pct(host, "")
    if "%" in host:
        from urllib.parse import unquote

        host = unquote(host)
    if not host.isascii():
        host = host.encode("idna").decode("ascii")  # UnicodeError is a ValueError
    host = host.lower()
    if scheme == "file" and host == "localhost":
        return ""
    if not host and scheme != "file":
        raise ValueError(f"URL has an empty host: {url!r}")
    if any(c in _FORBIDDEN_HOST or c in "%\x7f" or c < " " for c in host):
        raise ValueError(f"forbidden character in host of {url!r}")
    return _ipv4(host, url)


def _ipv4_number(part: str) -> int | None:
    digits, base = part, 10
    if part[:2] in ("0x", "0X"):
        digits, base = part[2:], 16
    elif len(part) > 1 and part[0] == "0":
        digits, base = part[1:], 8
    if not digits:
        return 0 if base != 10 else None
    allowed = "0123456789abcdefABCDEF"[: 22 if base == 16 else base]
    return int(digits, base) if not digits.strip(allowed) else None


def _ipv4(host: str, url: str) -> str:
    """Domains that end in a number are IPv4 addresses, normalised to dotted decimal."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if not parts[-1] or _ipv4_number(parts[-1]) is None:
        return host
    numbers = [_ipv4_number(p) if p else None for p in parts]
    if len(parts) > 4 or None in numbers:
        raise ValueError(f"invalid IPv4 host in {url!r}")
    values = [n for n in numbers if n is not None]
    if any(n > 255 for n in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise ValueError(f"invalid IPv4 host in {url!r}")
    address = values[-1] + sum(n << (8 * (3 - i)) for i, n in enumerate(values[:-1]))
    return ".".join(str((address >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def _ipv6(text: str, url: str) -> str:
    import ipaddress

    if "%" in text:
        raise ValueError(f"invalid IPv6 host in {url!r}")
    value = int(ipaddress.IPv6Address(text))  # AddressValueError is a ValueError
    pieces = [(value >> (16 * (7 - i))) & 0xFFFF for i in range(8)]
    best, best_len, run = -1, 1, 0  # compress the first longest run of >= 2 zero pieces
    for i, piece in enumerate(pieces):
        run = run + 1 if piece == 0 else 0
        if run > best_len:
            best, best_len = i - run + 1, run
    if best < 0:
        return "[" + ":".join(f"{p:x}" for p in pieces) + "]"
    head = ":".join(f"{p:x}" for p in pieces[:best])
    tail = ":".join(f"{p:x}" for p in pieces[best + best_len :])
    return f"[{head}::{tail}]"


def _path(path: str, special: bool) -> str:
    if not path:
        return "/" if special else ""
    segments: list[str] = []
    raw = path.split("/")[1:]
    for i, segment in enumerate(raw):
        last = i == len(raw) - 1
        lowered = segment.lower().replace("%2e", ".")
        if lowered == "..":
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif lowered == ".":
            if last:
                segments.append("")
        else:
            segments.append(_pct(segment, _PATH_SET))
    return "/" + "/".join(segments)


def _canonical(url: _Url) -> _Url:
    """``CanonicalUrl::new`` (§6.2): trailing-slash pop, github.com rules, ``.git`` strip."""
    path = url.path
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]  # pop_if_empty: one trailing empty segment, never the root "/"
    url = _parse(url.serialize())  # a private copy
    url.path = path
    if url.host == "github.com":
        url = _parse(url.serialize("https"))
        url.path = _path(url.path.lower(), True)
    if url.path.endswith(".git"):
        head, _, last = url.path.rpartition("/")
        last = _pct(last[:-4], _PATH_SET + "/%" + ("\\" if url.special else ""))
        url.path = (head if last in (".", "..") else f"{head}/{last}") or "/"  # pop, push
    return url
