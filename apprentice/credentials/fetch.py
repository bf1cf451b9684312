"""Fetching another installation's public documents (its keys, Profile and status
lists) for the online verifier, without becoming a way into this server's network.

A URL from a credential is chosen by whoever made the credential, so every fetch is
guarded: http on port 80 or https on 443 only (other ports only for hosts in
APPRENTICE_CREDENTIAL_FETCH_ALLOW); the host is resolved here and *every* address it
resolves to must be global (not loopback, private, link-local, reserved or multicast,
nor an IPv6 address that leads to such an IPv4 one: NAT64, 6to4, Teredo, or the
deprecated site-local and IPv4-compatible forms) unless it lies in
APPRENTICE_CREDENTIAL_FETCH_ALLOW; the connection then goes to the address that was
checked (a second DNS answer cannot swap in 127.0.0.1). A redirect is followed at most
:data:`MAX_REDIRECTS` times, each target checked the same way; the whole fetch (name
lookup, connection and reading) has :data:`TIMEOUT` seconds, the body at most
:data:`MAX_BODY` bytes (refused beyond), and only JSON or JWT content is accepted. At
most :data:`MAX_CONCURRENT` fetches run at once in a process. A visitor is told a site
could not be reached, never the system's reason (that would make the verifier a port
scanner); the log has it. Standard library only.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import ipaddress
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urljoin, urlsplit

TIMEOUT = 5.0  # seconds, for the whole fetch, name lookup and redirects included
MAX_BODY = 256 * 1024
MAX_REDIRECTS = 2
MAX_CONCURRENT = 4  # online fetches at once in one process
BUSY_WAIT = 1.0  # seconds a fetch waits for one of those places before it is refused
PORTS = {"http": 80, "https": 443}
ACCEPT = ("application/jwk-set+json, application/jwk+json, application/vc+jwt, "
          "application/json;q=0.9, application/jwt;q=0.9")
USER_AGENT = "apprentice-credential-verifier"
BUSY = "the verifier is busy: try again in a minute"
UNREACHABLE = "the issuer's site could not be reached"

# IPv6 prefixes ipaddress counts as global that lead elsewhere: NAT64 (RFC 6052, RFC
# 8215) carries an IPv4 address in its low 32 bits; site-local (RFC 3879) and
# IPv4-compatible (RFC 4291) addresses are deprecated and may reach a private network.
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

_log = logging.getLogger(__name__)


def _start() -> None:
    global _slots, _resolver
    _slots = threading.BoundedSemaphore(MAX_CONCURRENT)
    # Name lookups run here so that a slow resolver cannot hold a fetch past its
    # deadline; a lookup that never ends keeps one worker, never more than these.
    _resolver = concurrent.futures.ThreadPoolExecutor(max_workers=MAX_CONCURRENT,
                                                      thread_name_prefix="credential-dns")


_start()
# A forked server worker has none of its parent's threads: it starts afresh.
os.register_at_fork(after_in_child=_start)


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
    """The document at ``url``, or :class:`FetchRefused` with the reason; refused as
    busy when :data:`MAX_CONCURRENT` fetches are already running."""
    allow = tuple(allow)
    deadline = time.monotonic() + timeout
    if not _slots.acquire(timeout=max(0.0, min(BUSY_WAIT, timeout))):
        raise FetchRefused(BUSY)
    try:
        return _follow(url, allow, deadline, limit)
    finally:
        _slots.release()


def _follow(url: str, allow: tuple, deadline: float, limit: int) -> Fetched:
    for _ in range(MAX_REDIRECTS + 1):
        status, headers, body = _get(url, allow, deadline, limit)
        if status in (301, 302, 303, 307, 308):
            location = headers.get("location")
            if not location:
                raise FetchRefused(f"{_show(url)} redirected without saying where")
            try:
                url = urljoin(url, location.strip())
            except ValueError:  # e.g. "http://[::1": urljoin checks brackets
                raise FetchRefused(f"{_show(url)} redirected to {_show(location)!r}, "
                                   "not a URL") from None
            continue
        if status != 200:
            raise FetchRefused(f"{_show(url)} answered HTTP {status}")
        content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
        if not _json_or_jwt(content_type):
            raise FetchRefused(f"{_show(url)} sent {content_type or 'no content type'}, "
                               "not JSON or a JWT")
        return Fetched(url, body, content_type, datetime.now(UTC))
    raise FetchRefused(f"more than {MAX_REDIRECTS} redirects: not followed")


def check_url(url: str, allow: Iterable = (), *,
              deadline: float | None = None) -> tuple[str, str, int, str]:
    """The scheme, host, port and checked address to connect to for ``url``; refused
    before any connection for a URL, a port or an address this verifier does not fetch,
    or a host not resolved by ``deadline`` (a :func:`time.monotonic` time)."""
    allow = tuple(allow)
    if deadline is None:
        deadline = time.monotonic() + TIMEOUT
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchRefused(f"{_show(url)} is not a URL") from None
    scheme = parts.scheme.lower()
    if scheme not in PORTS:
        raise FetchRefused(f"{_show(url)} is not an http or https URL")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise FetchRefused(f"{_show(url)} has no host, or has a user name in it")
    port = port or PORTS[scheme]
    addresses = []
    for *_, sockaddr in _resolve(parts.hostname, port, deadline):
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if getattr(address, "ipv4_mapped", None):
            address = address.ipv4_mapped
        why = _refusal(address, allow)
        if why is not None:
            raise FetchRefused(f"{parts.hostname} is at {address}{why}, not a public "
                               "address: not fetched (APPRENTICE_CREDENTIAL_FETCH_ALLOW "
                               "lists private networks that may be)")
        addresses.append(address)
    if not addresses:
        raise FetchRefused(f"{parts.hostname} has no address")
    if port != PORTS[scheme] and not all(_allowed(address, allow) for address in addresses):
        # Any other port could be a mail, database or admin service at a public address.
        raise FetchRefused(f"{_show(url)} is on port {port}: only port {PORTS[scheme]} is "
                           f"fetched for {scheme} (other ports only for hosts in "
                           "APPRENTICE_CREDENTIAL_FETCH_ALLOW)")
    return scheme, parts.hostname, port, str(addresses[0])


def _resolve(host: str, port: int, deadline: float) -> list:
    """getaddrinfo, given no longer than the time left before ``deadline``."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchRefused(f"{host} was not looked up: the time for fetching was used up")
    lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        return lookup.result(timeout=left)
    except concurrent.futures.TimeoutError:
        lookup.cancel()  # if it is still waiting for a worker, it never runs
        raise FetchRefused(f"{host} could not be resolved in time: timed out") from None
    except (OSError, UnicodeError) as problem:
        _log.info("credential fetch: %r could not be resolved: %s", host, problem)
        raise FetchRefused(f"{host} could not be resolved") from None


def _allowed(address, allow: Iterable) -> bool:
    return any(address.version == network.version and address in network
               for network in allow)


def _refusal(address, allow: Iterable) -> str | None:
    """None when ``address`` may be connected to, else words to add after it (maybe
    none) in the refusal."""
    if _allowed(address, allow):
        return None
    if address.version == 6:
        if any(address in network for network in _NAT64):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
            if _refusal(embedded, allow) is not None:
                return f" (NAT64 for {embedded})"
        elif address.sixtofour is not None:
            if _refusal(address.sixtofour, allow) is not None:
                return f" (6to4 for {address.sixtofour})"
        elif address.teredo is not None:
            return " (a Teredo tunnel)"
        elif address in _SITE_LOCAL:
            return " (site-local, deprecated)"
        elif address in _IPV4_COMPATIBLE and int(address) > 1:  # not :: or ::1
            return " (IPv4-compatible, deprecated)"
    if not address.is_global or address.is_multicast:
        return ""
    return None


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
        # raw is the plain socket during the handshake, so the watchdog can cut that too
        sock = self.raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self.raw = self._context.wrap_socket(sock, server_hostname=self.host)


def _get(url: str, allow, deadline: float, limit: int):
    scheme, host, port, address = check_url(url, allow, deadline=deadline)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchRefused(f"{_show(url)} took too long: timed out")
    kind = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    connection = kind(host, port, address, remaining)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # http.client sends ASCII only: other characters go as a browser sends them.
    path = quote(path, safe="!#$%&'()*+,/:;=?@[]~")
    response = None
    # A socket timeout bounds each read, not the whole: a server sending a byte now and
    # then would hold the fetch for ever. At the deadline the watchdog cuts the socket.
    cut = threading.Event()
    watchdog = threading.Timer(remaining, _cut, args=(connection, cut))
    watchdog.daemon = True
    watchdog.start()
    try:
        try:
            connection.connect()
        except OSError as problem:
            # Refused, unreachable, timed out or a TLS failure: the visitor learns only
            # that the site was not reached (which ports answer is not theirs to learn).
            _log.info("credential fetch of %r (%s) failed to connect: %s", url, address,
                      problem)
            raise FetchRefused(f"{_show(url)} could not be fetched: {UNREACHABLE}") from None
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
    except (OSError, http.client.HTTPException, ValueError) as problem:
        if cut.is_set():
            raise FetchRefused(f"{_show(url)} took too long: timed out") from None
        # e.g. another service's greeting instead of HTTP: the log has it, not the page
        _log.info("credential fetch of %r (%s) failed: %r", url, address, problem)
        raise FetchRefused(f"{_show(url)} could not be fetched: {UNREACHABLE}") from None
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
