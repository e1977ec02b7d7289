"""A local web server for fetcher and metadata tests: the saved fixture pages plus awkward routes."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# Saved real pages with their expected metadata (tests/fixtures/README.md says where they come from).
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "pages"


class PageServer:
    def __init__(self, fixtures: Path = FIXTURES) -> None:
        self.fixtures = fixtures
        self.hits: dict[str, int] = {}
        self.feeds: dict[str, tuple[str, str]] = {}  # name -> (content type, document), served at /feed/<name>
        self.conditional: list[dict[str, str]] = []  # the conditional headers each /feed request carried
        self.last_agent: str | None = None  # the User-Agent of the last request
        self.log: list[str] = []  # every request's path and query, in the order they came
        # Requests being answered now, and the most there ever were, per Host header.
        self.busy: dict[str, int] = {}
        self.busiest: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                host = self.headers.get("Host", "")
                with server._lock:
                    server.log.append(self.path)
                    server.busy[host] = server.busy.get(host, 0) + 1
                    server.busiest[host] = max(server.busiest.get(host, 0), server.busy[host])
                try:
                    server._route(self)
                finally:
                    with server._lock:
                        server.busy[host] -= 1

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def _route(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        self.hits[path] = self.hits.get(path, 0) + 1
        self.last_agent = request.headers.get("User-Agent")
        try:
            if path.startswith("/pages/"):
                time.sleep(float(query.get("delay", 0)))  # a page that takes as long as real sites do
                source = self.fixtures / path.removeprefix("/pages/").strip("/") / "source.html"
                if not source.is_file():
                    return self._send(request, 404, b"not found")
                return self._send(request, 200, source.read_bytes(), "text/html")
            if path == "/":
                return self._send(request, 200, b"<html><title>Home</title></html>", "text/html")
            if path == "/redirect":
                return self._send(request, int(query.get("status", 302)), b"", headers={"Location": query["to"]})
            if path == "/to-long":  # to an address longer than Peershelf keeps
                return self._send(request, 302, b"", headers={"Location": "/latin1?pad=" + "x" * 2100})
            if path.startswith("/hops/"):
                left = int(path.rsplit("/", 1)[1])
                target = f"/hops/{left - 1}" if left > 0 else "/pages/001"
                return self._send(request, 301, b"", headers={"Location": target})
            if path == "/big":
                return self._send(request, 200, b"<html><body>" + b"x" * 5_000_000 + b"</body></html>", "text/html")
            if path == "/bomb":
                body = gzip.compress(b"<html>" + b"\0" * 50_000_000, compresslevel=9)
                return self._send(request, 200, body, "text/html", headers={"Content-Encoding": "gzip"})
            if path == "/gzipped":
                body = gzip.compress(b"<html><title>Squeezed</title></html>")
                return self._send(request, 200, body, "text/html", headers={"Content-Encoding": "gzip"})
            if path == "/drip":
                request.send_response(200)
                request.send_header("Content-Type", "text/html")
                request.end_headers()
                for _ in range(100):
                    request.wfile.write(b"<p>slow</p>")
                    request.wfile.flush()
                    time.sleep(0.1)
                return None
            if path == "/hang":
                time.sleep(float(query.get("seconds", 5)))
                return self._send(request, 200, b"<html>late</html>", "text/html")
            if path == "/paper.pdf":
                return self._send(request, 200, b"%PDF-1.7\n" + b"0" * 10_000, "application/pdf")
            if path == "/status":
                wait = {"Retry-After": query["retry"]} if "retry" in query else None
                return self._send(request, int(query["code"]), b"nope", "text/html", headers=wait)
            if path == "/flaky":
                # Fails the first `fail` requests for each `id`, then serves a page.
                key = f"flaky:{query.get('id', '')}"
                self.hits[key] = self.hits.get(key, 0) + 1
                if self.hits[key] <= int(query.get("fail", 1)):
                    return self._send(request, 500, b"try later", "text/html")
                page = f"<html><head><title>Back again {query.get('id', '')}</title></head></html>"
                return self._send(request, 200, page.encode(), "text/html")
            if path.startswith("/canon/"):
                # Every /canon/<anything> page names /canon/main as its canonical address.
                page = '<html><head><link rel="canonical" href="/canon/main"><title>The main page</title></head></html>'
                return self._send(request, 200, page.encode(), "text/html")
            if path == "/slow-page":
                time.sleep(float(query.get("seconds", 3)))
                return self._send(request, 200, b"<html><title>Slow but sure</title></html>", "text/html")
            if path == "/video-page":
                return self._send(request, 200, b"<html><title>Watch - VidSite</title></html>", "text/html")
            if path == "/oembed.json":
                oembed = (
                    '{"type": "video", "version": "1.0", "title": "Real Video Title", "author_name": "Some Channel",'
                    ' "provider_name": "VidSite", "thumbnail_url": "https://i.example/t.jpg", "duration": 125}'
                )
                return self._send(request, 200, oembed.encode(), "application/json")
            if path.startswith("/feed/"):
                content_type, document = self.feeds[path.removeprefix("/feed/")]
                etag = '"' + hashlib.sha256(document.encode()).hexdigest()[:16] + '"'
                self.conditional.append({k: v for k, v in request.headers.items() if k.lower().startswith("if-")})
                if request.headers.get("If-None-Match") == etag:
                    return self._send(request, 304, b"", content_type, headers={"ETag": etag})
                return self._send(request, 200, document.encode(), content_type, headers={"ETag": etag})
            if path == "/latin1":
                body = "<html><title>Café Société</title></html>".encode("latin-1")
                return self._send(request, 200, body, "text/html; charset=ISO-8859-1")
            if path == "/meta-charset":
                page = '<html><head><meta charset="windows-1252"><title>“Quoted”</title></head></html>'
                return self._send(request, 200, page.encode("windows-1252"), "text/html")
            return self._send(request, 404, b"not found")
        except (BrokenPipeError, ConnectionResetError):
            return None

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str = "text/plain",
        headers: dict[str, str] | None = None,
    ) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(body)


@contextmanager
def page_server() -> Iterator[PageServer]:
    server = PageServer()
    thread = threading.Thread(target=server.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
