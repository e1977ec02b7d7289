"""The safe page fetcher: what Peershelf uses to read a shared page, and nothing more.

Links come from anyone in the workspace, so the fetcher must not become a way into the network
it runs in. It fetches only http(s); resolves every host itself and refuses loopback, private,
link-local, multicast, unspecified, reserved and cloud-metadata addresses however the address is
written (decimal, hex, octal, IPv6, IPv4-mapped IPv6) or whatever a name resolves to; then
connects to the very address it checked (no second lookup an attacker could steer), and does all
of this again at every redirect. It reads at most `max_bytes` (after decompression, so a small
compressed bomb cannot blow up), follows at most five redirects and gives up after `timeout`
seconds in all.

`Fetcher` does this for one page at a time; `AsyncFetcher` does the very same for many pages at
once in one thread (the page reader), on httpx's async client.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from bot import __version__
from bot.reading.charset import decode_html

MAX_REDIRECTS = 5
USER_AGENT = f"Mozilla/5.0 (compatible; Peershelf/{__version__}; link titles for a Slack workspace)"
HTML_TYPES = ("text/html", "application/xhtml+xml")
JSON_TYPES = ("application/json", "text/json", "application/json+oembed")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/xml", "text/xml", "application/rdf+xml")
READ_TYPES = HTML_TYPES + JSON_TYPES + FEED_TYPES
REDIRECTS = (301, 302, 303, 307, 308)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[IPAddress]]

# Cloud metadata services; most are link-local or private anyway, listed so the rule never
# depends on that.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)


class FetchRefused(Exception):
    """The URL is not one Peershelf will fetch (scheme, address). Never retried."""


class FetchFailed(Exception):
    """The fetch went wrong; `retryable` says whether trying later may help."""

    def __init__(
        self, reason: str, *, retryable: bool, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after  # seconds the site asked us to wait (Retry-After), if it did


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    status: int
    content_type: str  # lower-cased media type without parameters, e.g. "text/html"
    charset: str | None  # from the Content-Type header, when given
    body: bytes  # empty for content that is neither HTML, JSON nor a feed
    truncated: bool
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        """The server's 304 to a conditional GET: nothing new since the ETag / date we sent."""
        return self.status == 304

    @property
    def is_html(self) -> bool:
        return self.content_type in HTML_TYPES

    def text(self) -> str:
        """The body decoded: header charset first, then the page's own <meta charset>, UTF-8, a guess."""
        return decode_html(self.body, self.charset)


# IPv6 prefixes that carry an IPv4 address in their last 32 bits, which a translator on the way
# (NAT64, SIIT) or an old dual stack (IPv4-compatible) turns back into that IPv4 address: judged
# by the IPv4 address they carry.
TRANSLATED = (
    ipaddress.ip_network("::/96"),  # IPv4-compatible, deprecated (RFC 4291); :: and ::1 land on 0.0.0.x
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64, well-known prefix (RFC 6052)
    ipaddress.ip_network("64:ff9b:1::/48"),  # NAT64, local use (RFC 8215)
    ipaddress.ip_network("::ffff:0:0:0/96"),  # SIIT, IPv4-translated (RFC 6145)
)


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses that are not a metadata service."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is None and any(address in network for network in TRANSLATED):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
    return address.is_global and not address.is_multicast and address not in METADATA_ADDRESSES


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (getaddrinfo also reads 2130706433, 0x7f.1, 0177.0.0.1 …)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchFailed(f"cannot resolve {host}: {error}", retryable=True) from None
    # Drop IPv6 zone ids ("fe80::1%eth0"); ip_address refuses them.
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))


class _Rules:
    """What both fetchers share: which addresses may be reached, and how an answer is read."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        max_bytes: int = 2_000_000,
        allow_private: bool = False,
        resolver: Resolver = system_resolver,
        address_allowed: Callable[[IPAddress], bool] = is_public_address,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.resolver = resolver
        self.address_allowed = address_allowed

    def _vet(self, url: str) -> tuple[str, int]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchRefused(f"only http and https links are fetched, not {parts.scheme or 'this'}")
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            raise FetchRefused("the link has an invalid port") from None
        if not host:
            raise FetchRefused("the link has no host")
        return host, port or (443 if parts.scheme == "https" else 80)

    def _judge(self, host: str, addresses: list[IPAddress]) -> tuple[str, IPAddress]:
        if not addresses:
            raise FetchFailed(f"{host} has no address", retryable=True)
        if not self.allow_private:
            refused = [a for a in addresses if not self.address_allowed(a)]
            if refused:
                raise FetchRefused(f"{host} is an internal address ({refused[0]}); it is never fetched")
        return host, addresses[0]

    def check(self, url: str) -> tuple[str, IPAddress]:
        """The host and the vetted address to connect to, or `FetchRefused`."""
        host, port = self._vet(url)
        return self._judge(host, self.resolver(host, port))

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchFailed(f"no answer within {self.timeout:g} s", retryable=True)
        return remaining

    @staticmethod
    def _request(url: str, address: IPAddress, conditions: dict[str, str]) -> tuple[httpx.URL, dict[str, str]]:
        """Where to connect (the vetted address, never the name again) and the headers to send."""
        given = httpx.URL(url)
        headers = {
            "Host": given.netloc.decode("ascii"),
            "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
            "Accept-Encoding": "gzip, deflate",
            **conditions,
        }
        return given.copy_with(host=str(address)), headers

    @staticmethod
    def _answer(url: str, response: httpx.Response) -> Page | str | None:
        """A redirect's next address (None without one), or the page without its body yet."""
        if response.status_code in REDIRECTS:
            location = response.headers.get("Location")
            return urljoin(url, location) if location else None
        if response.status_code >= 400:
            code = response.status_code
            raise FetchFailed(
                f"HTTP {code}",
                retryable=code >= 500 or code in (408, 429),
                status=code,
                retry_after=retry_after(response.headers.get("Retry-After")),
            )
        media_type, charset = _content_type(response.headers.get("Content-Type", ""))
        return Page(
            url,
            response.status_code,
            media_type or "text/html",
            charset,
            b"",
            False,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
        )

    @staticmethod
    def _wants_body(page: Page, response: httpx.Response) -> bool:
        media_type, _ = _content_type(response.headers.get("Content-Type", ""))
        return page.status != 304 and (media_type in READ_TYPES or not media_type)

    def _take(self, body: bytearray, decoder: Callable[[bytes, int], bytes], raw: bytes, deadline: float) -> bool:
        """Add one raw chunk to `body`; True once the page is longer than we read."""
        body += decoder(raw, self.max_bytes + 1 - len(body))
        if len(body) > self.max_bytes:
            return True
        if time.monotonic() > deadline:
            raise FetchFailed(f"page still arriving after {self.timeout:g} s", retryable=True)
        return False

    def _body(self, page: Page, body: bytearray, truncated: bool) -> Page:
        return replace(page, body=bytes(body[: self.max_bytes]), truncated=truncated)

    def _conditions(self, etag: str | None, last_modified: str | None) -> dict[str, str]:
        conditions = {"If-None-Match": etag, "If-Modified-Since": last_modified}
        return {name: value for name, value in conditions.items() if value}


class Fetcher(_Rules):
    """Fetches pages safely, one at a time; hand tests a resolver or an address rule of their own."""

    def __init__(self, **limits: Any) -> None:
        super().__init__(**limits)
        # trust_env=False: a proxy from the environment would connect on our behalf, unchecked.
        self.client = httpx.Client(trust_env=False, follow_redirects=False, headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self.client.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Page:
        """GET `url`, following up to five redirects, each one checked like the first.

        With `etag` / `last_modified` the request is conditional; an unchanged resource answers 304.
        """
        deadline = time.monotonic() + self.timeout
        conditions = self._conditions(etag, last_modified)
        for _ in range(MAX_REDIRECTS + 1):
            host, address = self.check(url)
            response = self._get(url, host, address, deadline, conditions)
            if response is None:
                raise FetchFailed("redirect without a Location header", retryable=False)
            if isinstance(response, str):
                url = response
                continue
            return response
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects", retryable=False)

    def _get(
        self, url: str, host: str, address: IPAddress, deadline: float, conditions: dict[str, str]
    ) -> Page | str | None:
        target, headers = self._request(url, address, conditions)
        timeout = httpx.Timeout(self._remaining(deadline))
        try:
            with self.client.stream(
                "GET", target, headers=headers, timeout=timeout, extensions={"sni_hostname": host}
            ) as response:
                answer = self._answer(url, response)
                if not isinstance(answer, Page) or not self._wants_body(answer, response):
                    return answer
                body, decoder = bytearray(), _decoder(response.headers.get("Content-Encoding", ""))
                for raw in response.iter_raw():
                    if self._take(body, decoder, raw, deadline):
                        return self._body(answer, body, True)
                return self._body(answer, body, False)
        except httpx.TimeoutException:
            raise FetchFailed(f"no answer within {self.timeout:g} s", retryable=True) from None
        except httpx.HTTPError as error:
            raise FetchFailed(f"{type(error).__name__}: {error}", retryable=True) from None


class AsyncFetcher(_Rules):
    """`Fetcher` for many pages at once in one event loop, with the same checks at every step.

    Names are resolved in the loop's default executor (the resolver is a blocking call), then the
    request goes to the very address that was checked, as `Fetcher` does. Create and use it inside
    one running loop; `aclose` it there."""

    def __init__(self, *, connections: int = 100, **limits: Any) -> None:
        super().__init__(**limits)
        self.client = httpx.AsyncClient(
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections // 2),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def check_async(self, url: str) -> tuple[str, IPAddress]:
        host, port = self._vet(url)
        addresses = await asyncio.get_running_loop().run_in_executor(None, self.resolver, host, port)
        return self._judge(host, addresses)

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> Page:
        """As `Fetcher.fetch`."""
        deadline = time.monotonic() + self.timeout
        conditions = self._conditions(etag, last_modified)
        for _ in range(MAX_REDIRECTS + 1):
            host, address = await self.check_async(url)
            response = await self._get(url, host, address, deadline, conditions)
            if response is None:
                raise FetchFailed("redirect without a Location header", retryable=False)
            if isinstance(response, str):
                url = response
                continue
            return response
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects", retryable=False)

    async def _get(
        self, url: str, host: str, address: IPAddress, deadline: float, conditions: dict[str, str]
    ) -> Page | str | None:
        target, headers = self._request(url, address, conditions)
        timeout = httpx.Timeout(self._remaining(deadline))
        try:
            async with asyncio.timeout(self._remaining(deadline)):
                async with self.client.stream(
                    "GET", target, headers=headers, timeout=timeout, extensions={"sni_hostname": host}
                ) as response:
                    answer = self._answer(url, response)
                    if not isinstance(answer, Page) or not self._wants_body(answer, response):
                        return answer
                    body, decoder = bytearray(), _decoder(response.headers.get("Content-Encoding", ""))
                    async for raw in response.aiter_raw():
                        if self._take(body, decoder, raw, deadline):
                            return self._body(answer, body, True)
                    return self._body(answer, body, False)
        except (httpx.TimeoutException, TimeoutError):
            raise FetchFailed(f"no answer within {self.timeout:g} s", retryable=True) from None
        except httpx.HTTPError as error:
            raise FetchFailed(f"{type(error).__name__}: {error}", retryable=True) from None


def retry_after(header: str | None) -> float | None:
    """Seconds a Retry-After header asks for (a number of seconds or an HTTP date), or None."""
    if not header:
        return None
    value = header.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _decoder(content_encoding: str) -> Callable[[bytes, int], bytes]:
    # Raw bytes are decompressed here with a bound on the output of every step: httpx would
    # inflate a whole chunk at once, and a few kilobytes of gzip can inflate to gigabytes.
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return lambda data, limit: data[:limit]
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchFailed(f"unsupported Content-Encoding {encoding}", retryable=False)
    # wbits 47 = 32 + 15: zlib or gzip header, detected. Raw deflate streams are rare enough to skip.
    inflater = zlib.decompressobj(47)

    def decode(data: bytes, limit: int) -> bytes:
        try:
            return inflater.decompress(data, max(limit, 1))
        except zlib.error as error:
            raise FetchFailed(f"broken {encoding} body: {error}", retryable=False) from None

    return decode


def _content_type(header: str) -> tuple[str, str | None]:
    media_type, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip("\"' ").lower()
    return media_type.strip().lower(), charset
