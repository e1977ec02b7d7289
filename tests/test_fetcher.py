"""The page fetcher never reaches internal addresses, and stays within its time and byte budget."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.reading.fetcher import (
    AsyncFetcher,
    Fetcher,
    FetchFailed,
    FetchRefused,
    IPAddress,
    Page,
    is_public_address,
    retry_after,
    system_resolver,
)
from tests.pageserver import PageServer, page_server

LOOPBACK = ipaddress.ip_address("127.0.0.1")


class BlockingAsyncFetcher:
    """`AsyncFetcher` behind `Fetcher`'s interface, in an event loop of its own per fetch."""

    def __init__(self, **limits: Any) -> None:
        self.limits = limits

    def fetch(self, url: str, **conditions: Any) -> Page:
        async def fetch() -> Page:
            fetcher = AsyncFetcher(**self.limits)
            try:
                return await fetcher.fetch(url, **conditions)
            finally:
                await fetcher.aclose()

        return asyncio.run(fetch())

    def close(self) -> None:
        pass


@pytest.fixture(autouse=True, params=["one at a time", "many at once"])
def _both_fetchers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here runs against `Fetcher` and against the page reader's `AsyncFetcher`: the
    same promises, whichever reads the page."""
    if request.param == "many at once":
        monkeypatch.setitem(globals(), "Fetcher", BlockingAsyncFetcher)


@pytest.fixture(scope="module")
def pages() -> Iterator[PageServer]:
    with page_server() as server:
        yield server


def only_the_test_server(address: IPAddress) -> bool:
    """The address rule for tests: the real rule, plus exactly 127.0.0.1 where the test server runs."""
    return address == LOOPBACK or is_public_address(address)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    fetcher = Fetcher(timeout=2, max_bytes=100_000, address_allowed=only_the_test_server)
    yield fetcher
    fetcher.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost/",
        "http://2130706433/",  # 127.0.0.1 as one decimal number
        "http://0x7f000001/",  # … in hex
        "http://0x7f.0.0.1/",
        "http://0177.0.0.1/",  # … in octal
        "http://127.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
        "http://[::ffff:7f00:1]/",
        "http://[2002:7f00:1::]/",  # 6to4 around 127.0.0.1
        "http://[64:ff9b::7f00:1]/",  # NAT64 around 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/",  # … around the metadata service
        "http://[64:ff9b:1::a00:1]/",  # local-use NAT64 around 10.0.0.1
        "http://[::ffff:0:7f00:1]/",  # SIIT around 127.0.0.1
        "http://[::127.0.0.1]/",  # IPv4-compatible around 127.0.0.1
        "http://[::a9fe:a9fe]/",  # … around the metadata service
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://224.0.0.1/",  # multicast
        "http://[ff02::1]/",
        "http://240.0.0.1/",  # reserved
        "http://255.255.255.255/",
    ],
)
def test_internal_addresses_are_refused_however_written(url: str) -> None:
    fetcher = Fetcher()  # the real rule, as in production
    with pytest.raises(FetchRefused):
        fetcher.fetch(url)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/file", "file:///etc/passwd", "gopher://example.com/", "javascript:alert(1)", "//x"]
)
def test_only_http_and_https_are_fetched(url: str) -> None:
    with pytest.raises(FetchRefused):
        Fetcher().fetch(url)


def test_a_name_that_resolves_to_a_private_address_is_refused() -> None:
    def resolver(host: str, port: int) -> list[IPAddress]:
        return {"intranet.example.com": [ipaddress.ip_address("10.1.2.3")]}.get(host) or system_resolver(host, port)

    with pytest.raises(FetchRefused, match="internal address"):
        Fetcher(resolver=resolver).fetch("http://intranet.example.com/wiki")


def test_a_name_with_any_private_address_among_public_ones_is_refused() -> None:
    def resolver(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("192.168.0.10")]

    with pytest.raises(FetchRefused):
        Fetcher(resolver=resolver).fetch("https://mixed.example.com/")


@pytest.mark.parametrize(
    "target", ["http://127.0.0.2/admin", "http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/"]
)
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_an_internal_address_is_refused(
    fetcher: Fetcher, pages: PageServer, target: str, status: int
) -> None:
    before = pages.hits.get("/redirect", 0)
    with pytest.raises(FetchRefused):
        fetcher.fetch(f"{pages.url}/redirect?status={status}&to={target}")
    assert pages.hits["/redirect"] == before + 1  # the first hop was fetched; the internal one never


def test_the_connection_goes_to_the_address_that_was_checked(pages: PageServer) -> None:
    # "shelf.test" exists only in this resolver: the page can only arrive if the fetcher connects
    # to the address it vetted, rather than looking the name up again.
    def resolver(host: str, port: int) -> list[IPAddress]:
        assert host == "shelf.test"
        return [LOOPBACK]

    fetcher = Fetcher(resolver=resolver, address_allowed=only_the_test_server)
    page = fetcher.fetch(f"http://shelf.test:{pages.port}/pages/002")
    assert "This API is so Fetching!" in page.text()


def test_private_addresses_are_fetched_only_when_allowed(pages: PageServer) -> None:
    with pytest.raises(FetchRefused):
        Fetcher().fetch(f"{pages.url}/pages/001")
    page = Fetcher(allow_private=True).fetch(f"{pages.url}/pages/001")
    assert page.status == 200 and page.is_html
    assert "Get your Frontend JavaScript Code Covered" in page.text()


def test_up_to_five_redirects_are_followed(fetcher: Fetcher, pages: PageServer) -> None:
    page = fetcher.fetch(f"{pages.url}/hops/4")  # five redirects in all
    assert page.url == f"{pages.url}/pages/001"
    with pytest.raises(FetchFailed, match="more than 5 redirects"):
        fetcher.fetch(f"{pages.url}/hops/5")


def test_oversize_page_is_cut_at_the_byte_cap(fetcher: Fetcher, pages: PageServer) -> None:
    page = fetcher.fetch(f"{pages.url}/big")
    assert page.truncated
    assert len(page.body) == 100_000


def test_compressed_bomb_is_cut_at_the_byte_cap_after_decompression(fetcher: Fetcher, pages: PageServer) -> None:
    page = fetcher.fetch(f"{pages.url}/bomb")
    assert page.truncated
    assert len(page.body) == 100_000


def test_gzipped_page_is_decoded(fetcher: Fetcher, pages: PageServer) -> None:
    assert "<title>Squeezed</title>" in fetcher.fetch(f"{pages.url}/gzipped").text()


@pytest.mark.parametrize("path", ["/drip", "/hang?seconds=5"])
def test_slow_page_gives_up_after_the_timeout_in_all(fetcher: Fetcher, pages: PageServer, path: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchFailed) as failed:
        fetcher.fetch(f"{pages.url}{path}")
    assert failed.value.retryable
    assert time.monotonic() - started < 3.5


def test_pdf_is_recorded_by_type_without_reading_it(fetcher: Fetcher, pages: PageServer) -> None:
    page = fetcher.fetch(f"{pages.url}/paper.pdf")
    assert page.content_type == "application/pdf"
    assert not page.is_html
    assert page.body == b""


@pytest.mark.parametrize(("code", "retryable"), [(500, True), (503, True), (429, True), (404, False), (410, False)])
def test_http_errors_say_whether_to_retry(fetcher: Fetcher, pages: PageServer, code: int, retryable: bool) -> None:
    with pytest.raises(FetchFailed) as failed:
        fetcher.fetch(f"{pages.url}/status?code={code}")
    assert failed.value.status == code
    assert failed.value.retryable is retryable


@pytest.mark.parametrize(("path", "title"), [("/latin1", "Café Société"), ("/meta-charset", "“Quoted”")])
def test_charset_comes_from_the_header_or_the_page(fetcher: Fetcher, pages: PageServer, path: str, title: str) -> None:
    assert f"<title>{title}</title>" in fetcher.fetch(f"{pages.url}{path}").text()


def test_requests_identify_peershelf(fetcher: Fetcher, pages: PageServer) -> None:
    fetcher.fetch(f"{pages.url}/gzipped")
    assert "Peershelf" in (pages.last_agent or "")


@pytest.mark.parametrize("header", ["120", "Wed, 01 Jan 2200 00:00:00 GMT"])
def test_a_site_that_asks_for_rest_says_how_long(fetcher: Fetcher, pages: PageServer, header: str) -> None:
    with pytest.raises(FetchFailed) as failed:
        fetcher.fetch(f"{pages.url}/status?code=429&retry={header}")
    assert failed.value.retryable
    assert failed.value.retry_after is not None and failed.value.retry_after >= 120


@pytest.mark.parametrize("header", [None, "", "soon", "Wed, 01 Jan 2000 00:00:00 GMT"])
def test_a_retry_after_that_asks_for_nothing_is_nothing(header: str | None) -> None:
    assert retry_after(header) in (None, 0.0)


def test_a_translated_public_address_is_still_public() -> None:
    assert is_public_address(ipaddress.ip_address("64:ff9b::808:808"))  # NAT64 around 8.8.8.8
    assert not is_public_address(ipaddress.ip_address("64:ff9b::c0a8:101"))  # … around 192.168.1.1
    assert is_public_address(ipaddress.ip_address("2002:808:808::1"))  # 6to4 around 8.8.8.8
    assert is_public_address(ipaddress.ip_address("2606:4700:4700::1111"))  # ordinary public IPv6 stays public
