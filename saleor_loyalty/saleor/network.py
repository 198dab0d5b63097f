"""Outbound HTTP to Saleor stores, kept off the app's own network (server-side request forgery).

``/api/register`` makes the app call whatever URL the caller names. Unguarded, that reaches services beside the
app (cloud metadata at 169.254.169.254, databases, admin ports) and scans ports by the difference between
errors. So every request to a store goes through ``session()``, whose connections check every address the
store's name resolves to before connecting (so an open and a closed port on a refused address look alike), and
again the address actually connected to (so a rebinding resolver cannot slip a second answer through), and
refuse, before a byte is sent:

- loopback, except under DEBUG (Saleor on the developer's machine);
- private, link-local, shared (CGNAT), reserved, unspecified and multicast addresses;

unless the address is inside ``SALEOR_ALLOWED_NETWORKS`` (CIDRs: a self-hosted Saleor on an internal network, or
the egress proxy). Redirects are never followed, and answers are read up to a size cap.
"""

import ipaddress
import socket
import threading
from functools import lru_cache
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class ForbiddenDestination(Exception):
    """The store's address is one the app must not call. Not an ``OSError``, so nothing retries it."""


class ResponseTooLarge(Exception):
    """The answer was longer than the app ever needs from Saleor."""


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def allowed_networks() -> tuple[IPNetwork, ...]:
    return _networks(tuple(settings.SALEOR_ALLOWED_NETWORKS))


def is_allowed_address(address: str) -> bool:
    """Whether the app may open a connection to ``address`` (an IP literal, as a socket reports it)."""
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in allowed_networks()):
        return True
    if ip.is_loopback:
        return bool(settings.DEBUG)
    return ip.is_global and not ip.is_multicast


def _check_resolved(host: str, port: int | None) -> None:
    """Refuse before connecting when any address the name resolves to is not allowed: whether a port on a
    refused address is open must not show in the answer (no port scanner)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return  # the connection attempt fails the same way, as "unreachable"
    for *_, sockaddr in infos:
        if not is_allowed_address(str(sockaddr[0])):
            raise ForbiddenDestination(f"refusing to connect to {host}: it resolves to a non-public address")


def _checked(sock: socket.socket) -> socket.socket:
    """The address actually connected to (a second resolution may differ from the first: DNS rebinding)."""
    peer = sock.getpeername()[0]
    if not is_allowed_address(peer):
        sock.close()
        raise ForbiddenDestination(f"refusing to connect to {peer}: not a public address")
    return sock


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        _check_resolved(self._dns_host, self.port)
        return _checked(super()._new_conn())


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        _check_resolved(self._dns_host, self.port)
        return _checked(super()._new_conn())


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_GUARDED_POOLS = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _GUARDED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _GUARDED_POOLS
        return manager


_local = threading.local()


def session() -> requests.Session:
    """This thread's ``requests`` session (kept for connection reuse) whose every connection is checked: use it
    for anything sent to a store, with ``allow_redirects=False``."""
    guarded: requests.Session | None = getattr(_local, "session", None)
    if guarded is None:
        guarded = requests.Session()
        adapter = _GuardedAdapter(max_retries=0)
        guarded.mount("http://", adapter)
        guarded.mount("https://", adapter)
        _local.session = guarded
    return guarded


def read_capped(response: requests.Response, limit: int) -> bytes:
    """The body of a ``stream=True`` response, refused past ``limit`` bytes (a hostile store can't exhaust
    memory)."""
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=65536):
        size += len(chunk)
        if size > limit:
            response.close()
            raise ResponseTooLarge(f"answer longer than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
