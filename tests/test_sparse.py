"""Unit tests of `registry.index.sparse`: cargo's protocol above a scripted fake `Transport`.

Nothing here touches the network or sleeps: the fake transport answers from a script per URL and
records every request, and `SparseClient` gets a recording `sleep`.
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable, Iterable, Mapping, Sequence

import httpx
import pytest

from registry import USER_AGENT, __version__
from registry.errors import (
    AuthError,
    HttpStatusError,
    NetworkError,
    RegistryConfigError,
    RegistryError,
)
from registry.index.sparse import (
    RETRY_AFTER_CAP,
    CacheValid,
    Fetched,
    NotFound,
    SparseClient,
    backoff,
    conditional_headers,
    fixed_sleep_ms,
    index_version,
    max_age,
    retry_after,
)
from registry.transport.base import (
    HttpRequest,
    HttpResponse,
    TransportError,
    TransportOptions,
)
from registry.transport.httpx import HttpxTransport

BASE = "https://index.example.com/"
FILE = "3/f/foo"
URL = BASE + FILE
CONFIG = BASE + "config.json"
TOKEN = "s3cr3t-t0ken-abcdef"
NOW = 1_700_000_000.0
LM = "Mon, 11 Nov 2019 10:14:40 GMT"

Outcome = HttpResponse | TransportError
Scripted = Outcome | Callable[[HttpRequest], Outcome]


def response(
    url: str,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
) -> HttpResponse:
    """An HttpResponse as a transport returns it: header names lowercased."""
    fields = {k.lower(): v for k, v in (headers or {}).items()}
    return HttpResponse(url, status, fields, body, "1.1")


class FakeTransport:
    """Answers each URL from a queue of scripted outcomes; the last one repeats.

    Unscripted URLs get a 404. Every request is recorded, in order.
    """

    def __init__(self, script: Mapping[str, Iterable[Scripted]] | None = None) -> None:
        self.script: dict[str, list[Scripted]] = {k: list(v) for k, v in (script or {}).items()}
        self.requests: list[HttpRequest] = []
        self.batches: list[int] = []

    def perform(self, requests: Sequence[HttpRequest]) -> list[Outcome]:
        self.batches.append(len(requests))
        out: list[Outcome] = []
        for request in requests:
            self.requests.append(request)
            queue = self.script.get(request.url)
            if not queue:
                out.append(response(request.url, 404, body=b"not found"))
                continue
            item = queue.pop(0) if len(queue) > 1 else queue[0]
            out.append(item(request) if callable(item) else item)
        return out

    def close(self) -> None:
        pass

    def urls(self) -> list[str]:
        return [r.url for r in self.requests]


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(
    transport: FakeTransport,
    *,
    token: str | None = None,
    auth_required: bool = False,
    base: str = BASE,
    sleep: Sleeps | None = None,
    fixed_sleep: float | None = None,
) -> SparseClient:
    return SparseClient(
        base,
        transport,
        user_agent=USER_AGENT,
        token=token,
        auth_required=auth_required,
        sleep=sleep if sleep is not None else Sleeps(),
        fixed_sleep=fixed_sleep,
        now=lambda: NOW,
        rng=random.Random(7),
    )


def headers_of(request: HttpRequest) -> dict[str, str]:
    return dict(request.headers)


def fetch_one(c: SparseClient, version: str | None = None, rel: str = FILE) -> object:
    return c.fetch([(rel, version)])[rel]


# --- pure helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"etag": '"abc"'}, 'etag: "abc"'),
        ({"etag": '  "abc"  '}, 'etag: "abc"'),
        ({"etag": 'W/"weak"'}, 'etag: W/"weak"'),
        ({"last-modified": LM}, "last-modified: " + LM),
        ({"last-modified": f" {LM} \t"}, "last-modified: " + LM),
        (
            {"last-modified": "Mon, 11 Nov 2019 10:14:40 GMT", "etag": '"e1"'},
            'etag: "e1"',
        ),
        ({}, "Unknown"),
        ({"content-type": "text/plain", "cache-control": "max-age=5"}, "Unknown"),
    ],
    ids=[
        "etag",
        "etag-trimmed",
        "weak-etag",
        "last-modified",
        "lm-trimmed",
        "etag-wins",
        "none",
        "unrelated",
    ],
)
def test_index_version(headers: dict[str, str], expected: str) -> None:
    assert index_version(headers) == expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ('etag: "abc"', (("if-none-match", '"abc"'),)),
        ('etag:   "abc"  ', (("if-none-match", '"abc"'),)),
        ('etag: W/"x:y"', (("if-none-match", 'W/"x:y"'),)),
        (
            "last-modified: Mon, 11 Nov 2019 10:14:40 GMT",
            (("if-modified-since", "Mon, 11 Nov 2019 10:14:40 GMT"),),
        ),
        ("Unknown", ()),
        (None, ()),
        ("", ()),
        ("weird: value", ()),
        ('ETag: "abc"', ()),  # cargo compares the key exactly
    ],
    ids=[
        "etag",
        "etag-trim",
        "colon-in-value",
        "last-modified",
        "unknown",
        "none",
        "empty",
        "unknown-key",
        "uppercase-key",
    ],
)
def test_conditional_headers(version: str | None, expected: tuple[tuple[str, str], ...]) -> None:
    assert conditional_headers(version) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("public, max-age=600", 600),
        ("max-age=60", 60),
        ("MAX-AGE=60", 60),
        ('max-age="30"', 30),
        ("max-age=0", None),
        ("no-cache", None),
        ("no-cache, max-age=600", None),
        ("max-age=600, no-store", None),
        ("max-age=soon", None),
        ("max-age=", None),
        ("max-age=²", None),
        ("max-age=٣", None),
        ("max-age=1_0", None),
        ("max-age=" + "9" * 5000, 10**18),
        ("public", None),
        ("garbage;;;", None),
        ("", None),
        (None, None),
    ],
)
def test_max_age(value: str | None, expected: int | None) -> None:
    headers = {} if value is None else {"cache-control": value}
    assert max_age(headers) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("10", 10.0),
        ("120", 10.0),  # capped at 10 s
        (email.utils.formatdate(NOW + 5, usegmt=True), 5.0),
        (email.utils.formatdate(NOW + 3600, usegmt=True), 10.0),
        (email.utils.formatdate(NOW - 60, usegmt=True), 0.0),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
        (None, None),
        # digits to str.isdigit or int(), not HTTP's delta-seconds: no delay, never a crash
        ("²", None),
        ("٣", None),
        ("\U0001d7d7", None),  # MATHEMATICAL BOLD DIGIT NINE
        ("1_0", None),
        ("+5", None),
        ("9" * 5000, 10.0),  # beyond int()'s digit limit, still capped
        ("Wed, 21 Oct 99999999999999 07:28:00 GMT", None),  # a year datetime cannot hold
    ],
    ids=[
        "7",
        "spaces",
        "zero",
        "ten",
        "cap",
        "date+5",
        "date-cap",
        "date-past",
        "garbage",
        "negative",
        "fraction",
        "empty",
        "absent",
        "superscript-two",
        "arabic-indic-three",
        "math-nine",
        "underscore",
        "plus",
        "5000-digits",
        "huge-year",
    ],
)
def test_retry_after(value: str | None, expected: float | None) -> None:
    headers = {} if value is None else {"retry-after": value}
    got = retry_after(headers, NOW)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("attempt", "expected"), [(2, 3.5), (3, 6.5), (4, 9.5), (5, 10.0), (6, 10.0)]
)
def test_backoff_after_the_first(attempt: int, expected: float) -> None:
    assert backoff(attempt, random.Random(0)) == expected


def test_backoff_first_retry_is_half_a_second_plus_jitter() -> None:
    rng = random.Random(1234)
    values = [backoff(1, rng) for _ in range(500)]
    assert all(0.5 <= v < 1.5 for v in values)
    assert len(set(values)) > 100  # it really is jittered
    # Seeded: reproducible, and exactly 0.5 + the rng's draw.
    assert backoff(1, random.Random(42)) == 0.5 + random.Random(42).random()


# --- requests ------------------------------------------------------------------------------------


def test_request_headers_exactly() -> None:
    t = FakeTransport({URL: [response(URL, 200, body=b"")]})
    fetch_one(client(t))
    [request] = t.requests
    assert request.url == URL
    assert request.headers == (
        ("User-Agent", f"registry/{__version__}"),
        ("cargo-protocol", "version=1"),
        ("accept", "text/plain"),
    )
    assert f"registry/{__version__}" == USER_AGENT


@pytest.mark.parametrize(
    ("version", "extra"),
    [
        ('etag: "v1"', ("if-none-match", '"v1"')),
        (
            "last-modified: Mon, 11 Nov 2019 10:14:40 GMT",
            ("if-modified-since", "Mon, 11 Nov 2019 10:14:40 GMT"),
        ),
    ],
)
def test_conditional_request_headers(version: str, extra: tuple[str, str]) -> None:
    t = FakeTransport({URL: [response(URL, 304)]})
    assert fetch_one(client(t), version) == CacheValid(None)
    [request] = t.requests
    assert extra in request.headers
    assert "Authorization" not in headers_of(request)
    names = [n.lower() for n, _ in request.headers]
    assert "cache-control" not in names and "range" not in names


def test_unknown_version_sends_no_conditional_header() -> None:
    t = FakeTransport({URL: [response(URL, 200, body=b"x")]})
    fetch_one(client(t), "Unknown")
    names = {n.lower() for n, _ in t.requests[0].headers}
    assert not names & {"if-none-match", "if-modified-since"}


def test_auth_header_only_when_required() -> None:
    t = FakeTransport({URL: [response(URL, 200)]})
    fetch_one(client(t, token=TOKEN))
    assert "Authorization" not in headers_of(t.requests[0])
    t2 = FakeTransport({URL: [response(URL, 200)]})
    fetch_one(client(t2, token=TOKEN, auth_required=True))
    assert headers_of(t2.requests[0])["Authorization"] == TOKEN  # raw, no "Bearer"


# --- status mapping -------------------------------------------------------------------------------


def test_200_is_fetched_with_version_and_max_age() -> None:
    body = b'{"name":"foo","vers":"1.0.0"}\n'
    t = FakeTransport(
        {URL: [response(URL, 200, {"ETag": '"e"', "Cache-Control": "max-age=60"}, body)]}
    )
    assert fetch_one(client(t)) == Fetched(body, 'etag: "e"', 60)


def test_200_without_validators_is_unknown() -> None:
    t = FakeTransport({URL: [response(URL, 200, {}, b"x")]})
    assert fetch_one(client(t)) == Fetched(b"x", "Unknown", None)


def test_304_with_cached_version_is_cache_valid() -> None:
    t = FakeTransport({URL: [response(URL, 304, {"Cache-Control": "max-age=30"})]})
    assert fetch_one(client(t), 'etag: "e"') == CacheValid(30)


def test_304_without_cached_version_is_an_error() -> None:
    t = FakeTransport({URL: [response(URL, 304)]})
    result = fetch_one(client(t), None)
    assert isinstance(result, HttpStatusError)
    assert result.status == 304
    assert "not modified" in str(result) and "no local cache" in str(result)
    assert URL in str(result)


@pytest.mark.parametrize("status", [404, 410, 451])
def test_not_found_statuses(status: int) -> None:
    t = FakeTransport({URL: [response(URL, status)]})
    assert fetch_one(client(t), 'etag: "e"') == NotFound(status)
    assert len(t.requests) == 1


@pytest.mark.parametrize(
    ("status", "token", "auth_required", "error", "text"),
    [
        (401, None, False, AuthError, "pass a token with --token"),
        (401, TOKEN, False, AuthError, "auth-required"),  # the token was never sent
        (401, TOKEN, True, AuthError, "token rejected"),
        (403, None, False, HttpStatusError, "HTTP 403"),
        (403, TOKEN, True, HttpStatusError, "HTTP 403"),
        (400, None, False, HttpStatusError, "HTTP 400"),
        (204, None, False, HttpStatusError, "HTTP 204"),
    ],
)
def test_error_statuses_fail_at_once(
    status: int,
    token: str | None,
    auth_required: bool,
    error: type[RegistryError],
    text: str,
) -> None:
    t = FakeTransport({URL: [response(URL, status, body=b"nope")]})
    sleeps = Sleeps()
    result = fetch_one(client(t, token=token, auth_required=auth_required, sleep=sleeps))
    assert type(result) is error
    assert text in str(result)
    assert URL in str(result)
    assert len(t.requests) == 1  # not retried
    assert sleeps == []
    assert ("Authorization" in headers_of(t.requests[0])) == auth_required


def test_500_after_retries_names_url_status_and_body() -> None:
    t = FakeTransport({URL: [response(URL, 500, body=b"internal\n  oops")]})
    result = fetch_one(client(t))
    assert isinstance(result, HttpStatusError)
    assert result.status == 500 and result.url == URL
    assert URL in str(result) and "HTTP 500" in str(result) and "internal oops" in str(result)
    assert "\n" not in str(result)


def test_non_utf8_body_is_summarised() -> None:
    t = FakeTransport({URL: [response(URL, 403, body=b"\xff\xfe\x00")]})
    result = fetch_one(client(t))
    assert "[3 non-utf8 bytes]" in str(result)


# --- retries --------------------------------------------------------------------------------------


def test_503_503_200_is_fetched_after_two_sleeps() -> None:
    t = FakeTransport(
        {URL: [response(URL, 503), response(URL, 503), response(URL, 200, {"ETag": '"x"'}, b"ok")]}
    )
    sleeps = Sleeps()
    assert fetch_one(client(t, sleep=sleeps)) == Fetched(b"ok", 'etag: "x"', None)
    assert len(t.requests) == 3
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] < 1.5
    assert sleeps[1] == 3.5


def test_four_500s_give_up_after_exactly_four_attempts() -> None:
    t = FakeTransport({URL: [response(URL, 500)]})
    sleeps = Sleeps()
    result = fetch_one(client(t, sleep=sleeps))
    assert isinstance(result, HttpStatusError)
    assert result.status == 500
    assert len(t.requests) == 4
    assert len(sleeps) == 3
    assert sleeps[1:] == [3.5, 6.5]


def test_fixed_sleep_overrides_backoff() -> None:
    t = FakeTransport({URL: [response(URL, 502), response(URL, 200)]})
    sleeps = Sleeps()
    assert isinstance(fetch_one(client(t, sleep=sleeps, fixed_sleep=0.0)), Fetched)
    assert sleeps == [0.0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0.0),
        (" 250 ", 0.25),
        ("99999999", RETRY_AFTER_CAP),
        ("9" * 5000, RETRY_AFTER_CAP),
        ("²", None),
        ("٣", None),
        ("1_0", None),
        ("-1", None),
        ("1e3", None),
        ("", None),
        (None, None),
    ],
)
def test_fixed_sleep_from_the_environment(text: str | None, expected: float | None) -> None:
    """REGISTRY_RETRY_SLEEP_MS: ASCII digits, at most the Retry-After cap; else ignored."""
    assert fixed_sleep_ms(text) == expected


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_sets_the_sleep(status: int) -> None:
    t = FakeTransport(
        {URL: [response(URL, status, {"Retry-After": "7"}), response(URL, 200, body=b"ok")]}
    )
    sleeps = Sleeps()
    assert isinstance(fetch_one(client(t, sleep=sleeps)), Fetched)
    assert sleeps == [7.0]


def test_retry_after_is_capped_at_ten_seconds() -> None:
    t = FakeTransport(
        {URL: [response(URL, 429, {"Retry-After": "3600"}), response(URL, 200, body=b"ok")]}
    )
    sleeps = Sleeps()
    fetch_one(client(t, sleep=sleeps))
    assert sleeps == [10.0]


def test_retry_after_ignored_on_500() -> None:
    t = FakeTransport(
        {URL: [response(URL, 500, {"Retry-After": "7"}), response(URL, 200, body=b"ok")]}
    )
    sleeps = Sleeps()
    fetch_one(client(t, sleep=sleeps))
    assert len(sleeps) == 1 and 0.5 <= sleeps[0] < 1.5


def test_429_retried_then_fails_after_four_attempts() -> None:
    t = FakeTransport({URL: [response(URL, 429, {"Retry-After": "1"})]})
    sleeps = Sleeps()
    result = fetch_one(client(t, sleep=sleeps))
    assert isinstance(result, HttpStatusError) and result.status == 429
    assert len(t.requests) == 4
    assert sleeps == [1.0, 1.0, 1.0]


def test_retryable_transport_error_then_200() -> None:
    t = FakeTransport(
        {URL: [TransportError(URL, "reset", "connection reset"), response(URL, 200, body=b"ok")]}
    )
    sleeps = Sleeps()
    assert fetch_one(client(t, sleep=sleeps)) == Fetched(b"ok", "Unknown", None)
    assert len(t.requests) == 2 and len(sleeps) == 1


@pytest.mark.parametrize("kind", ["tls", "other"])
def test_non_retryable_transport_error_fails_at_once(kind: str) -> None:
    t = FakeTransport({URL: [TransportError(URL, kind, "certificate verify failed")]})  # type: ignore[arg-type]
    sleeps = Sleeps()
    result = fetch_one(client(t, sleep=sleeps))
    assert isinstance(result, NetworkError)
    assert URL in str(result) and "certificate verify failed" in str(result)
    assert len(t.requests) == 1 and sleeps == []


def test_retryable_transport_error_gives_up_after_four_attempts() -> None:
    t = FakeTransport({URL: [TransportError(URL, "connect", "connection refused")]})
    result = fetch_one(client(t))
    assert isinstance(result, NetworkError)
    assert "after 4 attempts" in str(result)
    assert len(t.requests) == 4


def test_retries_go_out_together_and_sleep_once_per_round() -> None:
    other = BASE + "3/b/bar"
    t = FakeTransport(
        {
            URL: [response(URL, 503), response(URL, 200, body=b"a")],
            other: [response(other, 503), response(other, 200, body=b"b")],
        }
    )
    sleeps = Sleeps()
    c = client(t, sleep=sleeps)
    results = c.fetch([(FILE, None), ("3/b/bar", None)])
    assert results[FILE] == Fetched(b"a", "Unknown", None)
    assert results["3/b/bar"] == Fetched(b"b", "Unknown", None)
    assert t.batches == [2, 2]
    assert len(sleeps) == 1
    assert c.requests_made == 4


# --- redirects ------------------------------------------------------------------------------------


def redirect(url: str, location: str, status: int = 302) -> HttpResponse:
    return response(url, status, {"Location": location})


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_within_the_same_origin_keeps_authorization(status: int) -> None:
    target = BASE + "mirror/3/f/foo"
    t = FakeTransport(
        {
            URL: [redirect(URL, "/mirror/3/f/foo", status)],
            target: [response(target, 200, body=b"ok")],
        }
    )
    assert fetch_one(client(t, token=TOKEN, auth_required=True)) == Fetched(b"ok", "Unknown", None)
    assert t.urls() == [URL, target]
    assert [headers_of(r).get("Authorization") for r in t.requests] == [TOKEN, TOKEN]
    # The conditional header travels with the redirected request too.


@pytest.mark.parametrize(
    "target",
    [
        "https://cdn.example.net/3/f/foo",  # another host
        "https://index.example.com:8443/3/f/foo",  # another port
        "http://index.example.com/3/f/foo",  # another scheme
        "https://sub.index.example.com/3/f/foo",  # a subdomain is another host
    ],
    ids=["host", "port", "scheme", "subdomain"],
)
def test_redirect_to_another_origin_drops_authorization(target: str) -> None:
    t = FakeTransport({URL: [redirect(URL, target)], target: [response(target, 200, body=b"ok")]})
    assert fetch_one(client(t, token=TOKEN, auth_required=True)) == Fetched(b"ok", "Unknown", None)
    assert t.urls() == [URL, target]
    assert headers_of(t.requests[0])["Authorization"] == TOKEN
    assert "Authorization" not in headers_of(t.requests[1])
    assert all(TOKEN not in v for _, v in t.requests[1].headers)


def test_redirect_keeps_conditional_headers() -> None:
    target = BASE + "v2/3/f/foo"
    t = FakeTransport({URL: [redirect(URL, target)], target: [response(target, 304)]})
    assert fetch_one(client(t), 'etag: "e"') == CacheValid(None)
    assert ("if-none-match", '"e"') in t.requests[1].headers


def test_redirect_loop_is_an_error() -> None:
    a, b = BASE + "a/3/f/foo", BASE + "b/3/f/foo"
    t = FakeTransport({URL: [redirect(URL, a)], a: [redirect(a, b)], b: [redirect(b, a)]})
    result = fetch_one(client(t))
    assert isinstance(result, HttpStatusError)
    assert "redirect" in str(result)
    assert len(t.requests) == 6  # the original plus 5 hops, then it stops


def test_redirect_without_location_is_a_status_error() -> None:
    t = FakeTransport({URL: [response(URL, 302)]})
    result = fetch_one(client(t))
    assert isinstance(result, HttpStatusError) and result.status == 302


def test_redirect_to_a_404_is_not_found() -> None:
    target = BASE + "moved/3/f/foo"
    t = FakeTransport({URL: [redirect(URL, target, 301)], target: [response(target, 404)]})
    assert fetch_one(client(t), 'etag: "e"') == NotFound(404)


# --- config.json and authentication --------------------------------------------------------------

CONFIG_BODY = b'{"dl":"https://dl.example.com/api/v1/crates","auth-required":true}'


def unauthorized() -> HttpResponse:
    return response(CONFIG, 401, {"WWW-Authenticate": 'Cargo login_url="https://x/me"'}, b"no")


def needs_token(request: HttpRequest) -> HttpResponse:
    if headers_of(request).get("Authorization") == TOKEN:
        return response(request.url, 200, {}, CONFIG_BODY)
    return unauthorized()


def test_config_json_fetched_without_conditional_or_auth_headers() -> None:
    t = FakeTransport({CONFIG: [response(CONFIG, 200, {"ETag": '"c"'}, b'{"dl":"x"}')]})
    assert client(t, token=TOKEN).fetch_config() == b'{"dl":"x"}'
    [request] = t.requests
    assert request.url == CONFIG
    assert request.headers == (
        ("User-Agent", USER_AGENT),
        ("cargo-protocol", "version=1"),
        ("accept", "text/plain"),
    )


def test_config_json_401_without_token_mentions_token_option() -> None:
    t = FakeTransport({CONFIG: [needs_token]})
    with pytest.raises(AuthError) as info:
        client(t).fetch_config()
    assert "--token" in str(info.value) and "401" in str(info.value)
    assert len(t.requests) == 1


def test_config_json_401_then_retry_with_token() -> None:
    t = FakeTransport({CONFIG: [needs_token]})
    c = client(t, token=TOKEN)
    assert c.fetch_config() == CONFIG_BODY
    assert c.auth_required is True
    assert len(t.requests) == 2
    assert "Authorization" not in headers_of(t.requests[0])
    assert headers_of(t.requests[1])["Authorization"] == TOKEN
    # From now on every index request carries the token.
    t.script[URL] = [response(URL, 200, body=b"ok")]
    assert fetch_one(c) == Fetched(b"ok", "Unknown", None)
    assert headers_of(t.requests[-1])["Authorization"] == TOKEN


def test_config_json_token_rejected() -> None:
    t = FakeTransport({CONFIG: [unauthorized()]})
    with pytest.raises(AuthError) as info:
        client(t, token="wrong-token-value").fetch_config()
    assert "token rejected" in str(info.value)
    assert len(t.requests) == 2


def test_config_json_401_when_auth_already_required() -> None:
    t = FakeTransport({CONFIG: [unauthorized()]})
    with pytest.raises(AuthError, match="token rejected"):
        client(t, token=TOKEN, auth_required=True).fetch_config()
    assert len(t.requests) == 1
    assert headers_of(t.requests[0])["Authorization"] == TOKEN


@pytest.mark.parametrize("status", [404, 410, 451])
def test_config_json_missing(status: int) -> None:
    t = FakeTransport({CONFIG: [response(CONFIG, status)]})
    with pytest.raises(RegistryConfigError, match=r"config\.json"):
        client(t).fetch_config()


def test_config_json_retried_on_5xx() -> None:
    t = FakeTransport({CONFIG: [response(CONFIG, 500), response(CONFIG, 200, body=b"{}")]})
    sleeps = Sleeps()
    assert client(t, sleep=sleeps).fetch_config() == b"{}"
    assert len(sleeps) == 1


def test_config_json_network_failure_raises() -> None:
    t = FakeTransport({CONFIG: [TransportError(CONFIG, "tls", "bad certificate")]})
    with pytest.raises(NetworkError, match="bad certificate"):
        client(t).fetch_config()


def test_config_json_token_not_sent_across_origins_on_redirect() -> None:
    elsewhere = "https://other.example.org/config.json"
    t = FakeTransport(
        {CONFIG: [unauthorized(), redirect(CONFIG, elsewhere)], elsewhere: [needs_token]}
    )
    with pytest.raises(AuthError):
        client(t, token=TOKEN).fetch_config()
    assert t.urls() == [CONFIG, CONFIG, elsewhere]
    assert headers_of(t.requests[1])["Authorization"] == TOKEN
    assert "Authorization" not in headers_of(t.requests[2])


# --- the token never shows up in an error --------------------------------------------------------

ECHO = b"you sent Authorization: " + TOKEN.encode()


def _leak_scenarios() -> list[tuple[str, dict[str, list[Scripted]], bool]]:
    return [
        ("config-rejected", {CONFIG: [response(CONFIG, 401, body=ECHO)]}, False),
        ("config-403-echo", {CONFIG: [unauthorized(), response(CONFIG, 403, body=ECHO)]}, False),
        ("config-500-echo", {CONFIG: [response(CONFIG, 500, body=ECHO)]}, True),
        ("file-401-echo", {URL: [response(URL, 401, body=ECHO)]}, True),
        ("file-403-echo", {URL: [response(URL, 403, body=ECHO)]}, True),
        ("file-500-echo", {URL: [response(URL, 500, body=ECHO)]}, True),
        ("file-429-echo", {URL: [response(URL, 429, body=ECHO)]}, True),
        ("file-418-echo", {URL: [response(URL, 418, body=ECHO)]}, True),
        ("file-304-no-cache", {URL: [response(URL, 304, body=ECHO)]}, True),
        ("file-transport", {URL: [TransportError(URL, "tls", "handshake failed")]}, True),
        ("loop", {URL: [redirect(URL, URL)]}, True),
    ]


@pytest.mark.parametrize(
    ("script", "auth_required"),
    [pytest.param(s, a, id=i) for i, s, a in _leak_scenarios()],
)
def test_token_never_in_an_error(script: dict[str, list[Scripted]], auth_required: bool) -> None:
    t = FakeTransport(script)
    c = client(t, token=TOKEN, auth_required=auth_required)
    errors: list[BaseException] = []
    if CONFIG in script:
        with pytest.raises(RegistryError) as info:
            c.fetch_config()
        errors.append(info.value)
    else:
        result = fetch_one(c)
        assert isinstance(result, RegistryError)
        errors.append(result)
    assert any(headers_of(r).get("Authorization") == TOKEN for r in t.requests)
    for error in errors:
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)
        assert all(TOKEN not in str(a) for a in error.args)


# --- through the real httpx transport (httpx.MockTransport) --------------------------------------


def test_through_httpx_transport_redirect_drops_token_on_host_change() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "index.example.com":
            return httpx.Response(307, headers={"Location": "https://cdn.example.net/3/f/foo"})
        return httpx.Response(200, headers={"ETag": '"cdn"'}, content=b"line\n")

    http_client = httpx.Client(transport=httpx.MockTransport(handler))
    transport = HttpxTransport(TransportOptions(), client=http_client)
    try:
        c = SparseClient(
            BASE,
            transport,
            user_agent=USER_AGENT,
            token=TOKEN,
            auth_required=True,
            sleep=Sleeps(),
        )
        assert c.fetch([(FILE, None)])[FILE] == Fetched(b"line\n", 'etag: "cdn"', None)
    finally:
        transport.close()
        http_client.close()
    assert [str(r.url) for r in seen] == [URL, "https://cdn.example.net/3/f/foo"]
    assert seen[0].headers["authorization"] == TOKEN
    assert "authorization" not in seen[1].headers
    for request in seen:
        assert request.headers["cargo-protocol"] == "version=1"
        assert request.headers["accept"] == "text/plain"
        assert request.headers["user-agent"] == USER_AGENT


def test_through_httpx_transport_redirect_to_file_url_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "file:///etc/passwd"})

    http_client = httpx.Client(transport=httpx.MockTransport(handler))
    transport = HttpxTransport(TransportOptions(), client=http_client)
    try:
        c = SparseClient(BASE, transport, user_agent=USER_AGENT, sleep=Sleeps())
        result = c.fetch([(FILE, None)])[FILE]
    finally:
        transport.close()
        http_client.close()
    assert isinstance(result, NetworkError)
    assert "unsupported URL scheme" in str(result)


# --- config.json with the index files, in one batch ----------------------------------------------


def test_config_json_with_index_files_is_one_batch() -> None:
    t = FakeTransport(
        {
            CONFIG: [response(CONFIG, 200, {}, b'{"dl":"x"}')],
            URL: [response(URL, 304)],
            BASE + "3/b/bar": [response(BASE + "3/b/bar", 200, {"ETag": '"b"'}, b"{}\n")],
        }
    )
    body, results = client(t).fetch_config_with([(FILE, 'etag: "f"'), ("3/b/bar", None)])
    assert body == b'{"dl":"x"}'
    assert t.batches == [3]
    assert t.requests[0].url == CONFIG
    assert results == {FILE: CacheValid(None), "3/b/bar": Fetched(b"{}\n", 'etag: "b"', None)}


def test_config_json_401_dance_voids_what_went_without_the_token() -> None:
    t = FakeTransport({CONFIG: [needs_token], URL: [response(URL, 401)]})
    c = client(t, token=TOKEN)
    body, results = c.fetch_config_with([(FILE, None)])
    assert body == CONFIG_BODY
    assert results is None  # asked again by the caller, now with the token
    assert c.auth_required is True
    assert t.batches == [2, 1]
    assert "Authorization" not in headers_of(t.requests[1])


def test_config_json_failing_fails_the_batch_whatever_the_files_got() -> None:
    t = FakeTransport({CONFIG: [response(CONFIG, 404)], URL: [response(URL, 200, {}, b"{}\n")]})
    with pytest.raises(RegistryConfigError):
        client(t).fetch_config_with([(FILE, None)])
    assert t.batches == [2]
