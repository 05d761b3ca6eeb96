"""Cargo's sparse protocol above a plain transport: headers, conditional requests, status codes,
retries, redirects and authentication (spec §2, §4).

The transport (``registry.transport``) only performs GETs. Everything cargo-specific is here, in
plain code, and each index path ends in one narrow result, like cargo's ``http_remote.rs``::

    CacheValid               304: the cached copy stands (max_age refreshed)
    Fetched(body, version)   200: new data and the index version string for the cache header
    NotFound                 404 / 410 / 451: the crate does not exist; drop the cache entry
    RegistryError            anything else, after retries: one line naming the URL

Retries (cargo's ``net.retry`` = 3, so at most 4 attempts) cover transport failures that cargo
calls spurious and HTTP 5xx / 429. The sleep before retry n is 0.5 s + up to 1 s of jitter for
n = 1, then ``min(0.5 + 3 (n - 1), 10)`` s; a ``Retry-After`` on 429/503 replaces it, capped at
10 s. ``REGISTRY_RETRY_SLEEP_MS`` fixes the sleep (tests use 0; ASCII digits, at most 10 s,
anything else is ignored), like cargo's ``__CARGO_TEST_FIXED_RETRY_SLEEP_MS``.

Redirects are followed here (at most 5 hops) so that ``Authorization`` is dropped as soon as a hop
leaves the registry's own scheme, host and port.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence

from query.record import Record
from registry.config.index_url import url_origin
from registry.errors import (
    AuthError,
    HttpStatusError,
    NetworkError,
    RegistryConfigError,
    RegistryError,
)
from registry.options import TOTAL_TIMEOUT_FACTOR
from registry.transport.base import HttpRequest, HttpResponse, Transport, TransportError

MAX_RETRIES = 3
NETWORK_HINT = "; check the network or the registry, then run again"
#: A TLS failure is most often a certificate from a CA the trust store lacks (a corporate
#: mirror's, or a TLS-inspecting proxy's): cargo's own remedy (registry/config/settings.py).
TLS_HINT = (
    "; if the server's certificate comes from your own CA, set http.cainfo (cargo's "
    "configuration) or CARGO_HTTP_CAINFO to your CA bundle"
)
MAX_REDIRECTS = 5
RETRY_AFTER_CAP = 10.0
NOT_FOUND_STATUSES = frozenset({404, 410, 451})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# config.json's key among a batch's index paths (which always contain a "/").
_CONFIG = "config.json"
BODY_EXCERPT = 200


class CacheValid(Record):
    max_age: int | None = None


class Fetched(Record):
    body: bytes
    index_version: str
    max_age: int | None = None


class NotFound(Record):
    status: int


FetchResult = CacheValid | Fetched | NotFound


def index_version(headers: Mapping[str, str]) -> str:
    """The index version string cargo stores in the cache header (§4.3)."""
    etag = headers.get("etag")
    if etag is not None:
        return "etag: " + etag.strip()
    modified = headers.get("last-modified")
    if modified is not None:
        return "last-modified: " + modified.strip()
    return "Unknown"


def conditional_headers(version: str | None) -> tuple[tuple[str, str], ...]:
    """Request headers that revalidate a cached copy with the given index version (§4.3)."""
    if not version or ":" not in version:
        return ()
    key, _, value = version.partition(":")
    value = value.strip()
    if key == "etag":
        return (("if-none-match", value),)
    if key == "last-modified":
        return (("if-modified-since", value),)
    return ()


def max_age(headers: Mapping[str, str]) -> int | None:
    """``Cache-Control: max-age`` in seconds, or None when absent or caching is forbidden."""
    value = headers.get("cache-control")
    if not value:
        return None
    age: int | None = None
    for directive in value.lower().split(","):
        name, _, arg = directive.strip().partition("=")
        if name in ("no-cache", "no-store"):
            return None
        if name == "max-age":
            age = _delta_seconds(arg.strip().strip('"'))
            if age is None:
                return None
    return age if age and age > 0 else None


def _delta_seconds(text: str) -> int | None:
    """HTTP's ``delta-seconds`` (RFC 9111 §1.2.2): ASCII digits only. ``str.isdigit`` and
    ``int`` also take "²", "٣", "1_0" or "+1"; a server sending them gets None, not a crash.
    More than 18 digits (beyond any delay) count as 10**18."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    return int(text) if len(text) <= 18 else 10**18


def fixed_sleep_ms(text: str | None) -> float | None:
    """``REGISTRY_RETRY_SLEEP_MS`` (a test knob, like cargo's
    ``__CARGO_TEST_FIXED_RETRY_SLEEP_MS``): the fixed sleep before a retry in seconds, capped at
    `RETRY_AFTER_CAP`; None (cargo's backoff) when unset or not ASCII digits."""
    millis = _delta_seconds(text.strip()) if text else None
    return None if millis is None else min(millis / 1000, RETRY_AFTER_CAP)


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), capped at 10 s."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    seconds = _delta_seconds(value)
    if seconds is not None:
        return min(float(seconds), RETRY_AFTER_CAP)
    try:
        import email.utils  # only for an HTTP-date Retry-After (docs/performance.md)

        delay = email.utils.parsedate_to_datetime(value).timestamp() - now
    except (TypeError, ValueError, OverflowError):  # OverflowError: a year of 20 digits
        return None
    return max(0.0, min(delay, RETRY_AFTER_CAP))


def backoff(attempt: int, rng: random.Random) -> float:
    """Cargo's sleep before retry number ``attempt`` (1-based), in seconds (§4.7)."""
    if attempt <= 1:
        return 0.5 + rng.random()
    return min(0.5 + 3.0 * (attempt - 1), 10.0)


def body_excerpt(body: bytes, secret: str | None = None) -> str:
    """One line of an error body; ``secret`` (the token) is cut out should a server echo it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"[{len(body)} non-utf8 bytes]"
    text = " ".join(text.split())
    if secret and secret.strip():
        text = text.replace(secret.strip(), "<redacted>")
    return text[:BODY_EXCERPT] + ("…" if len(text) > BODY_EXCERPT else "")


class _Pending(Record, frozen=False):
    key: str
    url: str
    conditional: tuple[tuple[str, str], ...]
    attempt: int = 0
    redirects: int = 0


class SparseClient:
    """Speaks the sparse protocol to one registry through a :class:`Transport`."""

    def __init__(
        self,
        base_url: str,
        transport: Transport,
        *,
        user_agent: str,
        token: str | None = None,
        auth_required: bool = False,
        retries: int = MAX_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        fixed_sleep: float | None = None,
        now: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url
        self._transport = transport
        self._user_agent = user_agent
        self._token = token
        self.auth_required = auth_required
        self.retries = retries  # cargo's net.retry
        self._sleep = sleep
        self._fixed_sleep = fixed_sleep
        self._now = now
        self._rng = rng or random.Random()
        self._origin = url_origin(base_url)
        self.requests_made = 0

    # -- requests ---------------------------------------------------------------------------

    def _headers(
        self, url: str, conditional: tuple[tuple[str, str], ...], with_auth: bool
    ) -> tuple[tuple[str, str], ...]:
        headers = [
            ("User-Agent", self._user_agent),
            ("cargo-protocol", "version=1"),
            ("accept", "text/plain"),
            *conditional,
        ]
        if with_auth and self._token is not None and url_origin(url) == self._origin:
            headers.append(("Authorization", self._token))
        return tuple(headers)

    def _perform(
        self,
        pending: Sequence[_Pending],
        with_auth: bool,
        on_done: Callable[[int], None] | None = None,
        while_waiting: Callable[[], bool] | None = None,
    ) -> list[HttpResponse | TransportError]:
        requests = [
            HttpRequest(p.url, self._headers(p.url, p.conditional, with_auth)) for p in pending
        ]
        self.requests_made += len(requests)
        if while_waiting is not None:
            return self._transport.perform(requests, on_done, while_waiting)
        if on_done is None:
            return self._transport.perform(requests)
        return self._transport.perform(requests, on_done)

    def _run(
        self,
        pending: list[_Pending],
        with_auth: bool,
        on_done: Callable[[int], None] | None = None,
        while_waiting: Callable[[], bool] | None = None,
    ) -> dict[str, HttpResponse | RegistryError]:
        """Perform requests with redirects and retries; the final response or error per key.
        ``while_waiting`` goes with the first attempt (`Transport.perform`)."""
        done: dict[str, HttpResponse | RegistryError] = {}
        while pending:
            outcomes = self._perform(pending, with_auth, on_done, while_waiting)
            while_waiting = None
            again: list[_Pending] = []
            delay = 0.0
            for item, outcome in zip(pending, outcomes, strict=True):
                if isinstance(outcome, TransportError):
                    if outcome.retryable and item.attempt < self.retries:
                        item.attempt += 1
                        delay = max(delay, backoff(item.attempt, self._rng))
                        again.append(item)
                    else:
                        if outcome.kind == "deadline":
                            hint = (
                                "; the registry is too slow: try again later, or raise --timeout "
                                f"(a request's deadline is {TOTAL_TIMEOUT_FACTOR} x --timeout)"
                            )
                        else:
                            hint = TLS_HINT if outcome.kind == "tls" else NETWORK_HINT
                        done[item.key] = NetworkError(
                            f"{item.url}: {outcome.message}"
                            + (f" (after {item.attempt + 1} attempts)" if item.attempt else "")
                            + hint
                        )
                    continue
                status = outcome.status
                if status in REDIRECT_STATUSES and "location" in outcome.headers:
                    if item.redirects >= MAX_REDIRECTS:
                        done[item.key] = HttpStatusError(
                            f"{item.url}: too many redirects (over {MAX_REDIRECTS})",
                            url=item.url,
                            status=status,
                        )
                        continue
                    item.redirects += 1
                    from urllib.parse import urljoin

                    item.url = urljoin(item.url, outcome.headers["location"])
                    again.append(item)
                    continue
                if (status == 429 or status >= 500) and item.attempt < self.retries:
                    item.attempt += 1
                    wait = backoff(item.attempt, self._rng)
                    if status in (429, 503):
                        hinted = retry_after(outcome.headers, self._now())
                        if hinted is not None:
                            wait = hinted
                    delay = max(delay, wait)
                    again.append(item)
                    continue
                done[item.key] = outcome
            if again and delay > 0:
                self._sleep(self._fixed_sleep if self._fixed_sleep is not None else delay)
            pending = again
        return done

    # -- config.json ------------------------------------------------------------------------

    def fetch_config(self) -> bytes:
        """GET config.json, with cargo's 401 dance (§4.5). Returns the raw body."""
        return self.fetch_config_with(())[0]

    def fetch_config_with(
        self,
        items: Sequence[tuple[str, str | None]],
        on_done: Callable[[int], None] | None = None,
        while_waiting: Callable[[], bool] | None = None,
    ) -> tuple[bytes, dict[str, FetchResult | RegistryError] | None]:
        """GET config.json with cargo's 401 dance (§4.5), and ``items`` (as :meth:`fetch`) in
        the same batch: no round trip of its own before the index files. Returns config.json's
        raw body and the items' results, or None for them when the dance switched
        authentication on (they went without the token: ask again with :meth:`fetch`). The
        caller still reads the body: an ``auth-required`` it sets also means asking again."""
        url = self.base_url + "config.json"
        auth_before = self.auth_required
        pending = [_Pending(_CONFIG, url, ()), *self._pending(items)]
        raw = self._run(pending, self.auth_required, _skip_config(pending, on_done), while_waiting)
        result = raw.pop(_CONFIG)
        if (
            isinstance(result, HttpResponse)
            and result.status in (400, 401, 403)
            and not self.auth_required
        ):
            if self._token is None:
                if result.status == 401:
                    raise AuthError(
                        f"{url}: the registry requires authentication (HTTP 401): "
                        "pass a token with --token or REGISTRY_TOKEN"
                    )
            else:
                self.auth_required = True
                result = self._run([_Pending(_CONFIG, url, ())], True)[_CONFIG]
        if isinstance(result, RegistryError):
            raise self._redacted(result)
        if result.status in (401, 403) and self.auth_required:
            raise AuthError(
                f"{url}: token rejected (HTTP {result.status}): check --token / REGISTRY_TOKEN"
            )
        if result.status in NOT_FOUND_STATUSES:
            raise RegistryConfigError(
                f"{url}: config.json not found in registry (HTTP {result.status}): "
                "is the index URL right?"
            )
        if result.status != 200:
            raise self._redacted(_status_error(result, self._token))
        if self.auth_required != auth_before:
            return result.body, None
        return result.body, self._results(raw, dict(items))

    # -- index files ------------------------------------------------------------------------

    def fetch(
        self,
        items: Sequence[tuple[str, str | None]],
        on_done: Callable[[int], None] | None = None,
        while_waiting: Callable[[], bool] | None = None,
    ) -> dict[str, FetchResult | RegistryError]:
        """Fetch index paths; ``items`` pairs each path with its cached index version or None.

        A None version means "no usable cache": the request is unconditional, and a 304 answer
        is an error. ``while_waiting`` is `Transport.perform`'s (the first attempt's).
        """
        raw = self._run(self._pending(items), self.auth_required, on_done, while_waiting)
        return self._results(raw, dict(items))

    def _pending(self, items: Sequence[tuple[str, str | None]]) -> list[_Pending]:
        return [
            _Pending(rel, self.base_url + rel, conditional_headers(version))
            for rel, version in items
        ]

    def _results(
        self,
        raw: dict[str, HttpResponse | RegistryError],
        versions: dict[str, str | None],
    ) -> dict[str, FetchResult | RegistryError]:
        results: dict[str, FetchResult | RegistryError] = {}
        for rel, outcome in raw.items():
            result = self._interpret(outcome, versions[rel])
            results[rel] = self._redacted(result) if isinstance(result, RegistryError) else result
        return results

    def _redacted(self, error: RegistryError) -> RegistryError:
        """``error`` without the token: a server may echo it into a redirect ``Location`` that
        the message then names (bodies are already cut by `body_excerpt`)."""
        secret = (self._token or "").strip()
        url = getattr(error, "url", "")
        if len(secret) < 4 or (secret not in str(error) and secret not in url):
            return error
        text = str(error).replace(secret, "<redacted>")
        if isinstance(error, HttpStatusError):
            return HttpStatusError(text, url=url.replace(secret, "<redacted>"), status=error.status)
        return type(error)(text)

    def _interpret(
        self, outcome: HttpResponse | RegistryError, version: str | None
    ) -> FetchResult | RegistryError:
        if isinstance(outcome, RegistryError):
            return outcome
        status = outcome.status
        if status == 200:
            return Fetched(outcome.body, index_version(outcome.headers), max_age(outcome.headers))
        if status == 304:
            if version is None:
                return HttpStatusError(
                    f"{outcome.url}: server said not modified (HTTP 304) when no local cache "
                    "exists; run again with --refresh, or check the registry's caching",
                    url=outcome.url,
                    status=304,
                )
            return CacheValid(max_age(outcome.headers))
        if status in NOT_FOUND_STATUSES:
            return NotFound(status)
        if status == 401:
            if self.auth_required:
                return AuthError(
                    f"{outcome.url}: token rejected (HTTP 401): check --token / REGISTRY_TOKEN"
                )
            if self._token is not None:
                # Like cargo, the token goes only to registries whose config.json asks for it.
                return AuthError(
                    f"{outcome.url}: HTTP 401, but the registry's config.json does not set "
                    '"auth-required": true, so the token was not sent: the registry must set it'
                )
            return AuthError(
                f"{outcome.url}: the registry requires authentication (HTTP 401): "
                "pass a token with --token or REGISTRY_TOKEN"
            )
        return _status_error(outcome, self._token)


def _skip_config(
    pending: list[_Pending], on_done: Callable[[int], None] | None
) -> Callable[[int], None] | None:
    """``on_done`` counting one completion fewer (config.json's): progress counts index
    files."""
    if on_done is None:
        return None
    skipped = [False]

    def advance(n: int) -> None:
        if not skipped[0] and n > 0:
            skipped[0] = True
            n -= 1
        if n:
            on_done(n)

    return advance


def _status_error(response: HttpResponse, secret: str | None = None) -> HttpStatusError:
    hint = (
        "the registry is failing; try again later"
        if response.status >= 500
        else ("check the index URL and your access")
    )
    excerpt = body_excerpt(response.body, secret)
    return HttpStatusError(
        f"{response.url}: HTTP {response.status}"
        + (f" ({excerpt})" if excerpt else "")
        + f": {hint}",
        url=response.url,
        status=response.status,
    )
