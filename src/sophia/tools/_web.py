"""`web.fetch`: one page as text (httpx + trafilatura), refusing private networks at every redirect (SSRF)."""

from __future__ import annotations

import asyncio
import io
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import trafilatura

from sophia.tools._errors import ToolError
from sophia.tools._policy import WebFetchSettings
from sophia.tools._redaction import redact_text

__all__ = ["FetchError", "FetchRefused", "Resolver", "WebFetcher", "forbidden_reason", "literal_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_USER_AGENT = "Sophia/0.1 (+web.fetch)"


class FetchRefused(ToolError):
    """The address is one web.fetch must not reach (private, loopback, link-local, …)."""

    code = "fetch_refused"
    http_status = 403


class FetchError(ToolError):
    code = "fetch_error"
    http_status = 502


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def literal_address(host: str) -> IPAddress | None:
    """The IP a host string denotes by itself, including legacy forms like `2130706433` or `0x7f.1`."""
    bare = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


_REFUSED_NETWORKS = (
    ("site-local", ipaddress.ip_network("fec0::/10")),  # deprecated, but still routed inside some networks
    ("protocol-assignment", ipaddress.ip_network("192.0.0.0/24")),  # includes addresses Python calls global
)


def forbidden_reason(address: IPAddress) -> str | None:
    """Why `address` must not be fetched, or None if it is an ordinary public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return forbidden_reason(embedded)
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("unspecified", address.is_unspecified),
        ("reserved", address.is_reserved),
        *(
            (name, address in network)
            for name, network in _REFUSED_NETWORKS
            if network.version == address.version
        ),
        ("private", address.is_private or not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


@dataclass(frozen=True, slots=True)
class _Target:
    url: httpx.URL
    address: str


class WebFetcher:
    """Holds settings, a resolver and a transport (tests pass doubles); `fetch` is the tool function."""

    def __init__(
        self,
        settings: WebFetchSettings | None = None,
        *,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings or WebFetchSettings()
        self.resolver = resolver or system_resolver
        self.transport = transport

    async def fetch(self, url: Annotated[str, "An http:// or https:// address."]) -> dict[str, Any]:
        """Fetch a web page and return its main text (private and internal addresses are refused)."""
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                return await self._fetch(url)
        except TimeoutError:
            raise FetchError(
                f"fetching {_shown(url)} took longer than {self.settings.timeout_seconds:g} seconds"
            ) from None

    async def _fetch(self, url: str) -> dict[str, Any]:
        current = _parse(url)
        async with httpx.AsyncClient(
            transport=self.transport or httpx.AsyncHTTPTransport(),
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would bypass the address checks
            timeout=self.settings.timeout_seconds,
            headers={"User-Agent": _USER_AGENT},
        ) as client:
            for _ in range(self.settings.max_redirects + 1):
                target = await self.check(current)
                status, headers, body, truncated = await self._get(client, target)
                location = headers.get("location")
                if status in _REDIRECTS and location:
                    current = _parse(str(current.join(location)))
                    continue
                return await self._page(url, current, status, headers, body, truncated)
        raise FetchError(f"{_shown(url)} redirected more than {self.settings.max_redirects} times; giving up")

    async def check(self, url: httpx.URL) -> _Target:
        """Resolve the host and check every address; returns the address to connect to (no re-resolving)."""
        host, port = url.host, url.port or (443 if url.scheme == "https" else 80)
        literal = literal_address(host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = await self.resolver(host, port)
            except OSError as error:
                raise FetchError(f"cannot resolve {host[:200]!r} ({error.strerror or error})") from None
        if not addresses:
            raise FetchError(f"{host[:200]!r} has no addresses")
        if not self._host_allowed(host, port):
            for address in addresses:
                reason = forbidden_reason(ipaddress.ip_address(address.split("%", 1)[0]))
                if reason is not None:
                    raise FetchRefused(
                        f"web.fetch refuses {_shown(str(url))}: {host[:200]} is a {reason} address ({address}); "
                        "add the host to tools.web.allowed_hosts if it is meant to be reachable"
                    )
        return _Target(url, addresses[0])

    def _host_allowed(self, host: str, port: int) -> bool:
        allowed = {h.lower() for h in self.settings.allowed_hosts}
        host = host.lower().rstrip(".")
        return self.settings.allow_private_networks or host in allowed or f"{host}:{port}" in allowed

    async def _get(
        self, client: httpx.AsyncClient, target: _Target
    ) -> tuple[int, httpx.Headers, bytes, bool]:
        """GET the checked address itself (Host header and TLS name stay the original host)."""
        pinned = target.url.copy_with(host=target.address)
        request = client.build_request(
            "GET",
            pinned,
            headers={"Host": target.url.netloc.decode("ascii")},
            extensions={"sni_hostname": target.url.host},
        )
        try:
            response = await client.send(request, stream=True)
            try:
                body, truncated = await _read_capped(response, self.settings.max_bytes)
            finally:
                await response.aclose()
        except httpx.HTTPError as error:
            raise FetchError(f"cannot fetch {_shown(str(target.url))}: {type(error).__name__}") from None
        return response.status_code, response.headers, body, truncated

    async def _page(
        self, url: str, final: httpx.URL, status: int, headers: httpx.Headers, body: bytes, truncated: bool
    ) -> dict[str, Any]:
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        charset = _charset(headers.get("content-type", ""))
        text = body.decode(charset, errors="replace")
        title = None
        if "html" in content_type or (not content_type and text.lstrip()[:1] == "<"):
            title, text = await asyncio.to_thread(_extract, text, str(final))
        elif content_type == "application/pdf" or (not content_type and body[:5] == b"%PDF-"):
            title, text = await asyncio.to_thread(_pdf_text, body, truncated)
        elif not (content_type.startswith("text/") or "json" in content_type or "xml" in content_type):
            text = f"[{content_type or 'binary'} content, {len(body)} bytes, not shown as text]"
        limit = self.settings.max_text_chars
        return {
            "url": url,
            "final_url": str(final),
            "status": status,
            "content_type": content_type or None,
            "title": title,
            "text": text[:limit],
            "truncated": truncated or len(text) > limit,
        }


async def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            return bytes(body[:limit]), True
    return bytes(body), False


def _extract(html: str, url: str) -> tuple[str | None, str]:
    match = _TITLE.search(html)
    title = re.sub(r"\s+", " ", match.group(1)).strip() if match else None
    text = trafilatura.extract(html, url=url, include_comments=False) or trafilatura.html2txt(html) or ""
    return title, text


def _pdf_text(body: bytes, truncated: bool) -> tuple[str | None, str]:
    """A PDF's text layer, page by page (a PDF cut at max_bytes cannot be parsed: say so instead)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if truncated:
        return None, f"[application/pdf content over {len(body)} bytes, cut off before its end; not parsed]"
    try:
        reader = PdfReader(io.BytesIO(body))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except (PyPdfError, ValueError, KeyError, TypeError):
        return None, f"[application/pdf content, {len(body)} bytes, unreadable]"
    return (str(title) if title else None), "\n\n".join(p.strip() for p in pages if p.strip())


def _charset(content_type: str) -> str:
    match = re.search(r"charset=([\w.-]+)", content_type, re.IGNORECASE)
    name = match.group(1) if match else "utf-8"
    try:
        "".encode(name)
    except LookupError:
        return "utf-8"
    return name


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise FetchError(f"{_shown(url)} is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise FetchError(f"{_shown(url)} is not an http(s) URL; web.fetch only fetches web pages")
    return parsed


def _shown(url: str) -> str:
    return redact_text(url)[:300]
