"""Who an :class:`katui.http.parser.HttpHalf` reports its messages to."""

from __future__ import annotations

from collections.abc import Callable

from katui.model import HttpMessage
from katui.model.store import MessageStore

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython


@cython.cclass
class MessageOwner:
    """What an :class:`katui.http.parser.HttpHalf` tells about the messages it frames, by row of
    ``store``: the base class of its owners (these do nothing).

    :class:`katui.http.conversation.HttpConversation` pairs them into exchanges; a
    :class:`Collector` hands them to a callback. Compiled, a parser's calls to its owner are C
    method calls with C integers (a few per message).
    """

    __slots__ = ("store",)

    def __init__(self, store: MessageStore) -> None:
        self.store = store
        """Where the parser adds its messages."""

    def request_head(self, i: int) -> None:
        """A request head was parsed into row ``i`` (its body may still be arriving)."""

    def request_done(self, i: int) -> None:
        """Request ``i`` finished (or was abandoned)."""

    def response_method(self, status: int, start_ns: int) -> str:
        """Method of the request the response starting at ``start_ns`` answers ('' unknown)."""
        return ""

    def response_done(self, i: int) -> None:
        """Response ``i`` finished (or was abandoned)."""

    def response_lost(self) -> None:
        """Server bytes that may have held whole responses were lost or skipped."""

    def h2c_upgrade(self) -> None:
        """The response just done is a ``101 Switching Protocols`` with ``Upgrade: h2c``: the
        connection goes on in HTTP/2."""

    def switched_bytes(self, is_request: bool, buf, start: int, end: int, frame: int, ts: int) -> None:
        """``buf[start:end]`` follow a protocol switch (101, CONNECT) in the direction that sends
        requests (``is_request``) or responses: not HTTP/1.x, ignored unless the owner follows
        the protocol switched to."""


class Collector(MessageOwner):
    """The owner of a standalone parser (tests, tools): hands every finished message to
    ``on_message`` as an :class:`HttpMessage`; ``next_method(status, start_ns)`` tells a
    response parser the method of the request being answered (so HEAD responses have no body).

    Any :class:`MessageOwner` can own a parser; HTTP conversations do.
    """

    __slots__ = ("on_message", "next_method")

    def __init__(
        self,
        on_message: Callable[[HttpMessage], None],
        next_method: Callable[[int, int], str] | None = None,
        store: MessageStore | None = None,
    ) -> None:
        super().__init__(MessageStore() if store is None else store)
        self.on_message = on_message
        self.next_method = next_method

    def request_done(self, i: int) -> None:
        """Request ``i`` finished (or was abandoned)."""
        self.on_message(self.store.view(i))

    def response_method(self, status: int, start_ns: int) -> str:
        """Method of the request the response starting at ``start_ns`` answers ('' unknown)."""
        return self.next_method(status, start_ns) if self.next_method is not None else ""

    def response_done(self, i: int) -> None:
        """Response ``i`` finished (or was abandoned)."""
        self.on_message(self.store.view(i))
