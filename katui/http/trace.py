"""The request headers that tie a request a proxy forwarded to the one it received: request ids
that travel unchanged, and the front client a proxy names (``X-Forwarded-For``, ``X-Real-IP``,
``Forwarded``). Read into a small :class:`~katui.model.store.Trace` (hashes and host keys, not
the values: they are capture bytes, and a hostile head must not cost memory per message).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from katui.model.store import Trace
from katui.textsafe import capture_text

ID_HEADERS = (b"x-request-id", b"x-correlation-id", b"request-id", b"traceparent")
"""Request ids a proxy passes on unchanged (a client's, or one an earlier hop set); of W3C
``traceparent`` only the trace id counts (a tracing proxy replaces the parent id)."""
FORWARDED_HEADERS = (b"x-forwarded-for", b"x-real-ip", b"forwarded")
"""Headers in which a proxy names the client it forwards for."""
TRACE_HEADERS = ID_HEADERS + FORWARDED_HEADERS
MAX_TRACE_LINES = 16
"""Tracing header lines read per head (a proxy adds one; a hostile head may send thousands)."""
MAX_HOPS = 32
"""X-Forwarded-For hops read; a longer list keeps its last ones (the proxy appends)."""


@lru_cache(maxsize=4096)
def host_key(address: str) -> str:
    """What one machine's address is as far as a capture can tell: the address (an IPv4-mapped
    IPv6 address as its IPv4 one, a zone dropped), or ``loopback`` for any loopback address;
    a string that is no address comes back unchanged."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return "loopback" if ip.is_loopback else str(ip)


def node_key(node: str) -> str | None:
    """The host key of a forwarded-for node (``1.2.3.4``, ``1.2.3.4:5678``, ``[2001:db8::1]:80``,
    ``"[::1]"``), or None for ``unknown``, obfuscated names and anything that is no address."""
    node = node.strip().strip('"')
    if node.startswith("["):
        node = node[1:].split("]", 1)[0]
    elif node.count(":") == 1:
        node = node.split(":", 1)[0]
    try:
        ipaddress.ip_address(node.split("%", 1)[0])
    except ValueError:
        return None
    return host_key(node)


def parse_trace(lines: list[tuple[bytes, bytes]]) -> Trace | None:
    """A request's :class:`Trace` from its tracing header lines (lower-case name, raw value)
    in head order, or None when they say nothing usable."""
    id_name = id_hash = None
    hops: list[str] = []
    real_ip = forwarded = None
    for name, raw in lines:
        value = capture_text(raw.strip())
        if name in ID_HEADERS:
            if id_name is None and value:
                if name == b"traceparent":
                    parts = value.split("-")
                    value = parts[1] if len(parts) == 4 else value
                id_name, id_hash = name.decode(), hash(value)
        elif name == b"x-forwarded-for":
            hops.extend(h.strip() for h in value.split(","))  # lines join with commas (RFC 9110)
        elif name == b"x-real-ip":
            real_ip = node_key(value)
        else:
            parts = (p.strip() for p in value.replace(",", ";").split(";"))
            fors = [p[4:] for p in parts if p[:4].lower() == "for="]
            forwarded = node_key(fors[-1]) if fors else forwarded
    hops = hops[-MAX_HOPS:]
    last = node_key(hops[-1]) if hops else None
    if id_name is None and not hops and real_ip is None and forwarded is None:
        return None
    return Trace(
        id_name=id_name,
        id_hash=id_hash,
        xff_hash=hash(", ".join(hops)),
        xff_prefix_hash=hash(", ".join(hops[:-1])) if hops else None,
        xff_last=last,
        real_ip=real_ip,
        forwarded_last=forwarded,
    )
