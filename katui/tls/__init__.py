"""TLS without keys: the record layer as a protocol sink, the handshake's facts, exchanges
inferred from records, and the close verdict over TLS."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from katui.model import MessageStore
from katui.tcp.sink import StreamSink
from katui.tls.records import TlsConversation, looks_like_record

if TYPE_CHECKING:
    from katui.tls.keylog import KeyLog


def sniff(
    store: MessageStore,
    keys: KeyLog | None,
    plaintext: Callable[[bool], StreamSink] | None,
    head: bytes,
    midstream: bool,
) -> TlsConversation | None:
    """The TLS sink for a connection whose first bytes ``head`` start a TLS record, else None
    (an ``HttpConversation.try_other`` once bound to the capture's message store, the key log
    if any, and the factory of the sink decrypted application data goes to)."""
    if not looks_like_record(head):
        return None
    return TlsConversation(store, midstream, keys, plaintext)
