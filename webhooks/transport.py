"""The one way a webhook leaves the shop: a POST to a checked address, with a short timeout.

Server-side request forgery is what a staff-entered URL invites (`http://169.254.169.254/`, the
database's port, an admin page on the private network), so:

1. `url_check(url)` refuses what is not https (unless DEBUG or WEBHOOKS_ALLOW_HTTP), a URL with
   credentials, and a host whose addresses are not all public: loopback, private, link-local,
   multicast, reserved, unspecified, or such an address mapped into IPv6, unless
   WEBHOOKS_ALLOW_PRIVATE_ADDRESSES. It resolves the host (an endpoint is checked when saved,
   where a name that does not resolve yet is let through, and again before every attempt).
2. `post()` connects to the address that was checked, not to the name again: a DNS answer that
   changes between the check and the connection (rebinding) cannot move the request inside.
   TLS still verifies the certificate against the host name (SNI and Host stay the name).
3. Redirects are not followed (a 3xx is a failed attempt): a public URL cannot bounce the
   request to a private one.
4. Each socket operation waits at most WEBHOOKS_TIMEOUT_SECONDS; the answer is read for at most
   twice that and 64 KiB, of which the log keeps an excerpt.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

MAX_READ = 64 * 1024


class Refused(Exception):
    """The URL may not be called (scheme, credentials, address): not retried."""


class TransportError(Exception):
    """The call did not get an answer (DNS, connection, TLS, timeout): retried."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]  # the resolved addresses, all checked


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    latency_ms: int


def _http_allowed() -> bool:
    return bool(settings.DEBUG or settings.WEBHOOKS_ALLOW_HTTP)


def address_refusal(address: str) -> str | None:
    """Why this address may not be called, or None when it is public (or private is allowed)."""
    if settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES:
        return None
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified"):
        if getattr(ip, f"is_{kind}"):
            return f"{address} is a {kind.replace('_', '-')} address"
    if not ip.is_global:  # shared address space (100.64/10) and the like
        return f"{address} is not a public address"
    return None


def url_parts(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an acceptable URL; Refused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("only https URLs receive webhooks")
    if scheme == "http" and not _http_allowed():
        raise Refused("only https URLs receive webhooks (http is for development)")
    if parts.username or parts.password:
        raise Refused("a URL with credentials in it is refused; sign with the secret instead")
    if not parts.hostname:
        raise Refused("the URL has no host")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), path


def resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TransportError(f"cannot resolve {host}: {exc}") from None
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


def url_check(url: str) -> Target:
    """The URL's target with its addresses, each allowed; Refused or TransportError (DNS)."""
    scheme, host, port, path = url_parts(url)
    addresses = resolve(host, port)
    for address in addresses:
        reason = address_refusal(address)
        if reason:
            raise Refused(reason if address == host.strip("[]") else f"{host}: {reason}")
    return Target(scheme, host, port, path, addresses)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url` (checked first); the answer, whatever its status. Refused when the
    URL may not be called, TransportError when no answer came."""
    target = url_check(url)
    timeout = settings.WEBHOOKS_TIMEOUT_SECONDS
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    started = time.monotonic()
    last_error: Exception | None = None
    for address in target.addresses:
        connection = connection_class(target.host, target.port, address=address, timeout=timeout)
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            text = _read_some(response, deadline=started + 2 * timeout)
            latency = int((time.monotonic() - started) * 1000)
            return Answer(response.status, text, latency)
        except ConnectionRefusedError as exc:  # the next address may answer
            last_error = exc
        except (OSError, http.client.HTTPException) as exc:  # timeouts are OSErrors
            raise TransportError(_describe(exc)) from None
        finally:
            connection.close()
    raise TransportError(_describe(last_error))


def _read_some(response: http.client.HTTPResponse, *, deadline: float) -> str:
    """At most MAX_READ bytes of the answer, stopping at the deadline: a receiver that trickles
    its answer does not hold a worker."""
    chunks, size = [], 0
    while size < MAX_READ and time.monotonic() < deadline:
        chunk = response.read1(min(8192, MAX_READ - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "no address answered"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    return f"{type(exc).__name__}: {exc}"[:500]
