"""HTTP/2 (RFC 9113) at the frame level: the connection preface, frames cut from each
direction's bytes (:mod:`katui.http2.frames`), and the sink that turns streams into exchanges
(:mod:`katui.http2.conversation`). Used for decrypted ``h2`` and for cleartext ``h2c`` with
prior knowledge."""

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
"""What an HTTP/2 client sends first (RFC 9113, 3.4)."""


def sniff(store, head: bytes, midstream: bool):
    """An :class:`katui.http2.conversation.H2Conversation` for a cleartext connection whose
    first bytes ``head`` begin the HTTP/2 connection preface (h2c with prior knowledge), else
    None (an ``HttpConversation.try_other`` once bound to the capture's message store)."""
    if midstream or len(head) < 4 or head[: len(PREFACE)] != PREFACE[: len(head)]:
        return None
    from katui.http2.conversation import H2Conversation

    return H2Conversation(store, cleartext=True)
