"""TLS without keys: the record layer as a protocol sink, the handshake's facts, exchanges
inferred from records, and the close verdict over TLS."""

from __future__ import annotations

from katui.model import MessageStore
from katui.tls.records import TlsConversation, looks_like_record


def sniff(store: MessageStore, head: bytes, midstream: bool) -> TlsConversation | None:
    """The TLS sink for a connection whose first bytes ``head`` start a TLS record, else None
    (an ``HttpConversation.try_other`` once bound to the capture's message store)."""
    return TlsConversation(store, midstream) if looks_like_record(head) else None
