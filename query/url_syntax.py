"""Would cargo 1.95 take a text as a registry URL? (the ``registry`` of an index dependency)

cargo reads it with ``Url::parse`` (the WHATWG URL parser of the ``url`` crate 2.5.8, via
``IntoUrl for &str``, ``src/cargo/util/into_url.rs:13-27``) and then refuses a
*cannot-be-a-base* URL (``CanonicalUrl::new``, ``src/cargo/util/canonical_url.rs:19-29``). A
failure makes the index line invalid (``registry_dependency_into_dep``,
``src/cargo/sources/registry/index/mod.rs:737-741``). :func:`url_error` ports the parts of
``url/src/parser.rs`` and ``url/src/host.rs`` at v2.5.8 that can fail without a base URL:

* surrounding C0 controls and spaces are trimmed, tabs and newlines anywhere are ignored;
* a scheme (``[A-Za-z][A-Za-z0-9+.-]*:``) is required ("relative URL without a base");
* ``http``, ``https``, ``ws``, ``wss``, ``ftp``: a non-empty host (a domain, an IPv4 or a
  bracketed IPv6 address), an optional port up to 65535;
* ``file``: an optional host, parsed like a domain;
* any other scheme: ``//`` and an opaque host (no forbidden code point), or a path starting with
  ``/``; anything else is cannot-be-a-base.

Domains go through UTS 46 (``idna`` 1.1.0) in the url crate. ASCII domains are ported exactly
(lower-cased, the URL deny list, ``xn--`` labels decoded); a domain with non-ASCII characters is
approximated with Python's Unicode 14 tables (a character that is unassigned, a control, a
private-use or a space, or one NFKC maps into the deny list, is refused). The index of
crates.io has no such URL.
"""

from __future__ import annotations

__all__ = ["url_error"]

_SPECIAL = frozenset({"http", "https", "ws", "wss", "ftp"})
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
_C0_OR_SPACE = "".join(chr(i) for i in range(0x21))
# The forbidden domain code points of the URL deny list (idna AsciiDenyList::URL), glyphless
# ones (controls, space, DEL) included.
_DENIED = frozenset("%#/:<>?@[\\]^|" + _C0_OR_SPACE + "\x7f")
_OPAQUE_FORBIDDEN = frozenset("\0\t\n\r #/:<>?@[\\]^|")
_HEX = frozenset("0123456789abcdefABCDEF")


def url_error(text: str) -> str | None:
    """Why the url crate (plus cargo's cannot-be-a-base check) refuses ``text``, or None."""
    s = text.strip(_C0_OR_SPACE).replace("\t", "").replace("\n", "").replace("\r", "")
    if not s or not ("a" <= s[0].lower() <= "z"):
        return "relative URL without a base"
    colon = -1
    for i, c in enumerate(s):
        if c == ":":
            colon = i
            break
        if c not in _SCHEME_CHARS:
            return "relative URL without a base"
    if colon < 0:
        return "relative URL without a base"
    scheme, rest = s[:colon].lower(), s[colon + 1 :]
    if scheme == "file":
        return _file_error(rest)
    if scheme in _SPECIAL:
        return _authority_error(rest.lstrip("/\\"), special=True)
    if rest.startswith("//"):
        return _authority_error(rest[2:], special=False)
    if rest.startswith("/"):
        return None
    return "cannot-be-a-base-URLs are not supported"


def _file_error(rest: str) -> str | None:
    if len(rest) < 2 or rest[0] not in "/\\" or rest[1] not in "/\\":
        return None  # a path
    host = rest[2:]
    for i, c in enumerate(host):
        if c in "/\\?#":
            host = host[:i]
            break
    if len(host) == 2 and host[0].isascii() and host[0].isalpha() and host[1] in ":|":
        return None  # a Windows drive letter, not a host
    if not host:
        return None
    return _host_error(host)


def _authority_error(rest: str, special: bool) -> str | None:
    stops = "/?#\\" if special else "/?#"
    end = len(rest)
    for i, c in enumerate(rest):
        if c in stops:
            end = i
            break
    at = rest.rfind("@", 0, end)
    has_authority = False
    if at == 0:
        after = rest[1:2]
        if after and after in stops:
            return "empty host"
        rest = rest[1:]
    elif at > 0:
        has_authority = rest[:at] != ":"  # a username or a password was written
        rest = rest[at + 1 :]
    # the host runs to ':' (outside brackets), '/', '?', '#' (and '\' when special)
    in_brackets = False
    end = len(rest)
    for i, c in enumerate(rest):
        if c == ":" and not in_brackets:
            end = i
            break
        if c in stops:
            end = i
            break
        if c == "[":
            in_brackets = True
        elif c == "]":
            in_brackets = False
    host, tail = rest[:end], rest[end:]
    if special:
        if not host:
            return "empty host"
        problem = _host_error(host)
    else:
        problem = _opaque_host_error(host)
    if problem is not None:
        return problem
    if not host and (tail.startswith(":") or has_authority):
        return "empty host"
    if tail.startswith(":"):
        port = 0
        for c in tail[1:]:
            if "0" <= c <= "9":
                port = port * 10 + int(c)
                if port > 65535:
                    return "invalid port number"
            elif c in "/\\?#":
                break
            else:
                return "invalid port number"
    return None


def _opaque_host_error(host: str) -> str | None:
    if host.startswith("["):
        if not host.endswith("]"):
            return "invalid IPv6 address"
        return _ipv6_error(host[1:-1].encode("utf-8"))
    if any(c in _OPAQUE_FORBIDDEN for c in host):
        return "invalid domain character"
    return None


def _percent_decode(text: str) -> bytes:
    raw = text.encode("utf-8")
    out = bytearray()
    i, n = 0, len(raw)
    while i < n:
        b = raw[i]
        if b == 0x25 and i + 2 < n and chr(raw[i + 1]) in _HEX and chr(raw[i + 2]) in _HEX:
            out.append(int(raw[i + 1 : i + 3], 16))
            i += 3
        else:
            out.append(b)
            i += 1
    return bytes(out)


def _host_error(host: str) -> str | None:
    """``Host::parse`` of a special URL's host (host.rs ``parse_cow``)."""
    if host.startswith("["):
        if not host.endswith("]"):
            return "invalid IPv6 address"
        return _ipv6_error(host[1:-1].encode("utf-8"))
    try:
        decoded = _percent_decode(host).decode("utf-8")
    except UnicodeDecodeError:
        return "invalid international domain name"
    domain = _domain_to_ascii(decoded)
    if domain is None:
        return "invalid international domain name"
    if not domain:
        return "empty host"
    if _ends_in_a_number(domain) and not _ipv4_ok(domain):
        return "invalid IPv4 address"
    return None


def _domain_to_ascii(domain: str) -> str | None:
    """UTS 46 ToASCII as the url crate calls it; None on failure (see the module docstring)."""
    labels = []
    for label in domain.split("."):
        if label.isascii():
            lower = label.lower()
            if lower.startswith("xn--"):
                if not _punycode_label_ok(lower[4:]):
                    return None
            elif any(c in _DENIED for c in lower):
                return None
            labels.append(lower)
            continue
        mapped = _map_non_ascii(label)
        if mapped is None:
            return None
        labels.append(mapped)
    return ".".join(labels)


def _punycode_label_ok(body: str) -> bool:
    if not body or body.endswith("-") or len(body) > 2000:
        return False
    try:
        decoded = body.encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return False
    if decoded.isascii():
        return False  # an xn-- label must encode non-ASCII
    return _map_non_ascii(decoded) == decoded


def _map_non_ascii(label: str) -> str | None:
    import unicodedata

    out = []
    for c in unicodedata.normalize("NFC", label):
        category = unicodedata.category(c)
        if category in ("Cn", "Cc", "Co", "Cs", "Zs", "Zl", "Zp"):
            return None
        mapped = unicodedata.normalize("NFKC", c.lower())
        if any(m in _DENIED for m in mapped):
            return None
        out.append(mapped)
    text = unicodedata.normalize("NFC", "".join(out))
    if text and unicodedata.category(text[0]).startswith("M"):
        return None
    return text


def _ipv4_number(part: str) -> int | None:
    """The WHATWG IPv4 number parser: decimal, 0x hex or 0 octal; -1 when it overflows u32;
    None when it is not a number."""
    if not part:
        return None
    radix = 10
    if part[:2] in ("0x", "0X"):
        part, radix = part[2:], 16
    elif len(part) >= 2 and part[0] == "0":
        part, radix = part[1:], 8
    if not part:
        return 0
    digits = {8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}[radix]
    if any(c not in digits for c in part):
        return None
    value = int(part, radix)
    return value if value <= 0xFFFFFFFF else -1


def _ends_in_a_number(domain: str) -> bool:
    parts = domain.split(".")
    last = parts[-1]
    if not last:
        if len(parts) == 1:
            return False
        last = parts[-2]
    if last and all("0" <= c <= "9" for c in last):
        return True
    return _ipv4_number(last) is not None


def _ipv4_ok(domain: str) -> bool:
    parts = domain.split(".")
    if parts[-1] == "":
        parts.pop()
    if len(parts) > 4:
        return False
    numbers = []
    for part in parts:
        n = _ipv4_number(part)
        if n is None or n < 0:
            return False
        numbers.append(n)
    last = numbers.pop()
    if last > 0xFFFFFFFF >> (8 * len(numbers)):
        return False
    return all(n <= 255 for n in numbers)


def _ipv6_error(data: bytes) -> str | None:
    """``parse_ipv6addr`` (host.rs); None when ``data`` is an IPv6 address."""
    bad = "invalid IPv6 address"
    n = len(data)
    pieces = [0] * 8
    pointer = 0
    compress: int | None = None
    i = 0
    if n < 2:
        return bad
    if data[0] == 0x3A:
        if data[1] != 0x3A:
            return bad
        i, pointer, compress = 2, 1, 1
    is_v4 = False
    while i < n:
        if pointer == 8:
            return bad
        if data[i] == 0x3A:
            if compress is not None:
                return bad
            i += 1
            pointer += 1
            compress = pointer
            continue
        start = i
        end = min(n, start + 4)
        value = 0
        while i < end and chr(data[i]) in _HEX:
            value = value * 16 + int(chr(data[i]), 16)
            i += 1
        if i < n:
            if data[i] == 0x2E:
                if i == start:
                    return bad
                i = start
                if pointer > 6:
                    return bad
                is_v4 = True
            elif data[i] == 0x3A:
                i += 1
                if i == n:
                    return bad
            else:
                return bad
        if is_v4:
            break
        pieces[pointer] = value
        pointer += 1
    if is_v4:
        if pointer > 6:
            return bad
        seen = 0
        while i < n:
            if seen > 0:
                if seen < 4 and data[i] == 0x2E:
                    i += 1
                else:
                    return bad
            piece: int | None = None
            while i < n and 0x30 <= data[i] <= 0x39:
                digit = data[i] - 0x30
                if piece is None:
                    piece = digit
                elif piece == 0:
                    return bad
                else:
                    piece = piece * 10 + digit
                    if piece > 255:
                        return bad
                i += 1
            if piece is None:
                return bad
            pieces[pointer] = pieces[pointer] * 0x100 + piece
            seen += 1
            if seen in (2, 4):
                pointer += 1
        if seen != 4:
            return bad
    if i < n:
        return bad
    if compress is None and pointer != 8:
        return bad
    return None
