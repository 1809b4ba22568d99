"""web.fetch: real pages from a 127.0.0.1 server when allowed, refusal of internal addresses (SSRF) otherwise."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from sophia.tools import (
    FetchError,
    FetchRefused,
    WebFetcher,
    WebFetchSettings,
    forbidden_reason,
    literal_address,
)

ARTICLE = (
    "<html><head><title>Otters  and tools</title></head><body><nav>Home | About</nav>"
    "<article><h1>Otters</h1>"
    + "".join(f"<p>Sea otters use stones as tools to open shellfish, paragraph {i}.</p>" for i in range(8))
    + "</article><footer>Copyright</footer></body></html>"
)


class _Handler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]]
    redirect_to: ClassVar[str] = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        if self.path == "/article":
            self._send(200, "text/html; charset=utf-8", ARTICLE.encode())
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.end_headers()
        elif self.path == "/huge":
            self._send(200, "text/plain", b"x" * 300_000)
        elif self.path == "/host":
            self._send(200, "text/plain", (self.headers.get("Host") or "").encode())
        else:
            self._send(404, "text/plain", b"missing")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class Server:
    def __init__(self) -> None:
        handler: type[_Handler] = type("Handler", (_Handler,), {"hits": []})
        self.handler = handler
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def hits(self) -> list[str]:
        return self.handler.hits

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def server() -> Iterator[Server]:
    server = Server()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


def _fetcher(*allowed: str, **options: Any) -> WebFetcher:
    return WebFetcher(WebFetchSettings(allowed_hosts=list(allowed), **options))


async def test_fetch_extracts_the_main_text_from_an_allowed_local_server(server: Server) -> None:
    page = await _fetcher("127.0.0.1").fetch(server.url("/article"))
    assert page["status"] == 200 and page["title"] == "Otters and tools"
    assert "Sea otters use stones as tools" in page["text"]
    assert "Home | About" not in page["text"]  # boilerplate dropped by trafilatura
    assert page["truncated"] is False


async def test_loopback_is_refused_without_the_allow_list_and_nothing_is_sent(server: Server) -> None:
    with pytest.raises(FetchRefused, match="loopback address"):
        await _fetcher().fetch(server.url("/article"))
    assert server.hits == []


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]/", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://2130706433/", "loopback"),  # 127.0.0.1 as one decimal number
        ("http://0x7f000001/", "loopback"),  # … in hex
        ("http://127.1/", "loopback"),  # … shortened
        ("http://[::ffff:10.0.0.1]/", "private"),  # IPv4-mapped IPv6
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://100.64.0.1/", "private"),  # carrier-grade NAT
        ("http://[fe80::1]/", "link-local"),
        ("http://[fec0::1]/", "site-local"),  # deprecated site-local IPv6, still routed in places
        ("http://192.0.0.9/", "protocol-assignment"),  # Python counts it as global
        ("http://192.0.0.170/", "protocol-assignment"),
    ],
)
async def test_internal_addresses_are_refused_in_every_spelling(url: str, reason: str) -> None:
    with pytest.raises(FetchRefused, match=f"{reason} address"):
        await _fetcher().fetch(url)


async def test_octal_addresses_are_not_fetched_either() -> None:
    with pytest.raises(FetchError, match="not a valid URL"):  # httpx rejects the form before any lookup
        await _fetcher().fetch("http://0177.0.0.1/")
    loopback = literal_address("0177.0.0.1")
    assert loopback is not None and forbidden_reason(loopback) == "loopback"


async def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.1.2.3"]  # one bad address among good ones is enough to refuse

    with pytest.raises(FetchRefused, match="private address"):
        await WebFetcher(resolver=resolver).fetch("http://rebind.example/")


async def test_a_redirect_to_an_unallowed_address_is_refused_at_that_hop(server: Server) -> None:
    server.handler.redirect_to = server.url("/article")  # 127.0.0.1, which is not on the allow-list
    with pytest.raises(FetchRefused, match="loopback"):
        await _fetcher("localhost").fetch(server.url("/redirect", host="localhost"))
    assert server.hits == ["/redirect"]  # the target was never requested


async def test_redirects_between_allowed_hosts_are_followed(server: Server) -> None:
    server.handler.redirect_to = "/article"
    page = await _fetcher(f"127.0.0.1:{server.port}").fetch(server.url("/redirect"))
    assert page["final_url"] == server.url("/article") and "Sea otters" in page["text"]


async def test_redirect_loops_stop_after_the_limit(server: Server) -> None:
    server.handler.redirect_to = "/redirect"
    with pytest.raises(FetchError, match="redirected more than 2 times"):
        await _fetcher("127.0.0.1", max_redirects=2).fetch(server.url("/redirect"))
    assert len(server.hits) == 3


async def test_large_bodies_are_cut_at_the_size_limit(server: Server) -> None:
    page = await _fetcher("127.0.0.1", max_bytes=1000).fetch(server.url("/huge"))
    assert page["truncated"] is True and len(page["text"]) == 1000


async def test_the_checked_address_is_the_one_connected_to() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok", headers={"content-type": "text/plain"})

    async def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    fetcher = WebFetcher(resolver=resolver, transport=httpx.MockTransport(handler))
    page = await fetcher.fetch("http://public.example/page")
    assert page["text"] == "ok"
    (request,) = seen
    assert request.url.host == "93.184.216.34"  # no second DNS lookup that could be rebound
    assert request.headers["host"] == "public.example"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "file:///etc/passwd", "not a url", "http://"])
async def test_non_http_urls_are_refused(url: str) -> None:
    with pytest.raises(FetchError):
        await _fetcher().fetch(url)


def test_address_helpers() -> None:
    assert str(literal_address("2130706433")) == "127.0.0.1"
    assert literal_address("example.com") is None
    public = literal_address("93.184.216.34")
    assert public is not None and forbidden_reason(public) is None
