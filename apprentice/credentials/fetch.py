"""Fetching another installation's public documents (its keys, Profile and status
lists) for the online verifier, without becoming a way into this server's network.

A URL from a credential is chosen by whoever made the credential, so every fetch is
guarded: http or https only; the host is resolved here and *every* address it resolves
to must be global (not loopback, private, link-local, reserved or multicast) unless it
lies in APPRENTICE_CREDENTIAL_FETCH_ALLOW; the connection then goes to the address that
was checked (a second DNS answer cannot swap in 127.0.0.1). A redirect is followed at
most :data:`MAX_REDIRECTS` times, each target checked the same way; the whole fetch has
:data:`TIMEOUT` seconds, the body at most :data:`MAX_BODY` bytes (refused beyond), and
only JSON or JWT content is accepted. Standard library only.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

TIMEOUT = 5.0  # seconds, for the whole fetch, redirects included
MAX_BODY = 256 * 1024
MAX_REDIRECTS = 2
ACCEPT = ("application/jwk-set+json, application/jwk+json, application/vc+jwt, "
          "application/json;q=0.9, application/jwt;q=0.9")
USER_AGENT = "apprentice-credential-verifier"


class FetchRefused(Exception):
    """The document was not fetched, or not accepted; the message says why in words a
    verifier's report can show."""


@dataclass(frozen=True)
class Fetched:
    url: str  # where the document finally came from (after any redirect)
    body: bytes
    content_type: str
    fetched_at: datetime


def allowed_networks(config_value: Iterable[str] | None) -> tuple:
    """APPRENTICE_CREDENTIAL_FETCH_ALLOW as networks (config.py has checked them)."""
    return tuple(ipaddress.ip_network(text, strict=False) for text in config_value or ())


def configured_networks() -> tuple:
    """The allowed networks of the current app, or none outside an app."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return ()
    return allowed_networks(current_app.config.get("APPRENTICE_CREDENTIAL_FETCH_ALLOW"))


def fetch(url: str, *, allow: Iterable = (), timeout: float = TIMEOUT,
          limit: int = MAX_BODY) -> Fetched:
    """The document at ``url``, or :class:`FetchRefused` with the reason."""
    allow = tuple(allow)
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        status, headers, body = _get(url, allow, deadline, limit)
        if status in (301, 302, 303, 307, 308):
            location = headers.get("location")
            if not location:
                raise FetchRefused(f"{_show(url)} redirected without saying where")
            url = urljoin(url, location.strip())
            continue
        if status != 200:
            raise FetchRefused(f"{_show(url)} answered HTTP {status}")
        content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
        if not _json_or_jwt(content_type):
            raise FetchRefused(f"{_show(url)} sent {content_type or 'no content type'}, "
                               "not JSON or a JWT")
        return Fetched(url, body, content_type, datetime.now(UTC))
    raise FetchRefused(f"more than {MAX_REDIRECTS} redirects: not followed")


def check_url(url: str, allow: Iterable = ()) -> tuple[str, str, int, str]:
    """The scheme, host, port and checked address to connect to for ``url``; refused
    before any connection for a URL or an address this verifier does not fetch."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchRefused(f"{_show(url)} is not a URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused(f"{_show(url)} is not an http or https URL")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise FetchRefused(f"{_show(url)} has no host, or has a user name in it")
    port = port or (443 if scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as problem:
        raise FetchRefused(f"{parts.hostname} could not be resolved: {problem}") from None
    addresses = []
    for *_, sockaddr in found:
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if getattr(address, "ipv4_mapped", None):
            address = address.ipv4_mapped
        if not _may_connect(address, allow):
            raise FetchRefused(f"{parts.hostname} is at {address}, not a public address: "
                               "not fetched (APPRENTICE_CREDENTIAL_FETCH_ALLOW lists "
                               "private networks that may be)")
        addresses.append(str(address))
    if not addresses:
        raise FetchRefused(f"{parts.hostname} has no address")
    return scheme, parts.hostname, port, addresses[0]


def _may_connect(address, allow: Iterable) -> bool:
    if any(address.version == network.version and address in network for network in allow):
        return True
    return address.is_global and not address.is_multicast


def _json_or_jwt(content_type: str) -> bool:
    kind = content_type.rpartition("/")[2]
    return kind in ("json", "jwt") or kind.endswith(("+json", "+jwt"))


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to now."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = self.raw = socket.create_connection((self._address, self.port),
                                                        self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """As :class:`_PinnedHTTP`, with TLS checked against the host name."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self.raw = self._context.wrap_socket(sock, server_hostname=self.host)


def _get(url: str, allow, deadline: float, limit: int):
    scheme, host, port, address = check_url(url, allow)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchRefused("timed out")
    kind = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    connection = kind(host, port, address, remaining)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    response = None
    # A socket timeout bounds each read, not the whole: a server sending a byte now and
    # then would hold the fetch for ever. At the deadline the watchdog cuts the socket.
    cut = threading.Event()
    watchdog = threading.Timer(remaining, _cut, args=(connection, cut))
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.request("GET", path, headers={"Accept": ACCEPT, "User-Agent": USER_AGENT,
                                                 "Accept-Encoding": "identity"})
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        if response.status != 200:
            return response.status, headers, b""
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchRefused(f"{_show(url)} is {int(declared) // 1024} KB: larger than "
                               f"{limit // 1024} KB, not read")
        body = bytearray()
        while len(body) <= limit:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FetchRefused(f"{_show(url)} took too long: timed out")
            connection.raw.settimeout(left)  # the response reads from it
            chunk = response.read1(min(65536, limit + 1 - len(body)))
            if not chunk:
                break
            body += chunk
        if len(body) > limit:
            raise FetchRefused(f"{_show(url)} is larger than {limit // 1024} KB: not read")
        if cut.is_set():  # the end of the body was the watchdog's cut, not the server's
            raise TimeoutError
        return response.status, headers, bytes(body)
    except TimeoutError:
        raise FetchRefused(f"{_show(url)} took too long: timed out") from None
    except (OSError, http.client.HTTPException) as problem:
        if cut.is_set():
            raise FetchRefused(f"{_show(url)} took too long: timed out") from None
        raise FetchRefused(f"{_show(url)} could not be fetched: {problem}") from None
    finally:
        watchdog.cancel()
        if response is not None:
            response.close()
        connection.close()
        raw = getattr(connection, "raw", None)
        if raw is not None:
            raw.close()


def _cut(connection, cut: threading.Event) -> None:
    cut.set()
    raw = getattr(connection, "raw", None)
    if raw is not None:
        with suppress(OSError):
            raw.shutdown(socket.SHUT_RDWR)


def _show(url: str) -> str:
    return url if len(url) <= 200 else f"{url[:200]}..."
