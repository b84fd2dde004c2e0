"""What an HTTP/2 header block says, as the message store's :class:`katui.model.Head`: the
pseudo-headers (``:method``, ``:path``, ``:authority``, ``:status``) and the few headers katui
reads. Values are capture bytes, decoded as HTTP/1's are (:func:`katui.textsafe.capture_text`;
the path and authority as a target, :func:`katui.http.head.target_text`) and escaped when shown."""

from __future__ import annotations

from katui.http.head import target_text
from katui.model import Head
from katui.textsafe import capture_text

VERSION = "HTTP/2"
"""``HttpMessage.version`` of an HTTP/2 message."""
MAX_VALUE = 2048
"""Characters of a header value kept (a URI is cut here, as HTTP/1's are)."""


def request_head(fields: dict[bytes, bytes]) -> Head:
    """A request's head from its decoded header fields (lower-cased names)."""
    host = target_text(fields.get(b":authority") or fields.get(b"host") or b"")
    return Head(VERSION, _text(fields, b":method"), target_text(fields.get(b":path", b"")), 0, "", None, None,
                _length(fields), False, host, _text(fields, b"user-agent"))  # fmt: skip


def response_head(fields: dict[bytes, bytes], status: int) -> Head:
    """A response's head (``status`` from :func:`status_of`)."""
    return Head(VERSION, "", "", status, "", None, None, _length(fields), False, "", _text(fields, b"server"))


def status_of(fields: dict[bytes, bytes]) -> int:
    """The ``:status`` of a response header block; 0 when absent or not three digits."""
    v = fields.get(b":status", b"")
    return int(v) if len(v) == 3 and v.isdigit() else 0


def _text(fields: dict, name: bytes) -> str:
    v = fields.get(name)
    return "" if v is None else capture_text(v[:MAX_VALUE])


def _length(fields: dict) -> int | None:
    v = fields.get(b"content-length", b"")
    return int(v) if 0 < len(v) <= 18 and v.isdigit() else None
