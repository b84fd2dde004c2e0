"""HTTP/2 (RFC 9113) at the frame level: the connection preface, frames cut from each
direction's bytes (:mod:`katui.http2.frames`), and the sink that turns streams into exchanges
(:mod:`katui.http2.conversation`). Used for decrypted ``h2`` and for cleartext ``h2c`` with
prior knowledge."""

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
"""What an HTTP/2 client sends first (RFC 9113, 3.4)."""


def _server_settings(head: bytes) -> bool:
    """``head`` starts with a SETTINGS frame on stream 0 (an h2c server may speak first)."""
    return len(head) >= 9 and head[3] == 4 and head[4] == 0 and head[5:9] == bytes(4) and \
        head[0] == 0 and head[1] == 0 and head[2] % 6 == 0  # fmt: skip


def sniff(store, head: bytes, midstream: bool):
    """An :class:`katui.http2.conversation.H2Conversation` for a cleartext connection whose
    first bytes ``head`` begin the HTTP/2 connection preface, or the server's SETTINGS (h2c with
    prior knowledge), else None (an ``HttpConversation.try_other`` once bound to the capture's
    message store). A SETTINGS-shaped start of another protocol costs nothing: without the
    client's preface the connection is not taken for HTTP/2."""
    if midstream:
        return None
    preface = len(head) >= 4 and head[: len(PREFACE)] == PREFACE[: len(head)]
    if not preface and not _server_settings(head):
        return None
    from katui.http2.conversation import H2Conversation

    return H2Conversation(store, cleartext=True)
