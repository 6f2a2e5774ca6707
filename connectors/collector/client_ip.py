"""Who sent a request: the peer, or the client a trusted proxy names in ``X-Forwarded-For``.

Anyone can send ``X-Forwarded-For``; believing it from any peer lets a client record
any address it likes as its own. Only a configured proxy's header is read, and in it
only the right-most address that is not itself a trusted proxy: entries to its left
were written by the client or by proxies we do not know.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_ip(peer: str, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: ``peer`` unless ``peer`` is trusted and ``forwarded_for`` names another."""
    if not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0] if hops else peer
