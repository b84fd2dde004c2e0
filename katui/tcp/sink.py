"""What ``tcp/`` hands a connection's bytes to: a protocol *sink*, chosen per connection.

The tracker reassembles each direction and calls the connection's sink with the bytes in order,
the holes it gave up on, and the end of each direction (FIN in order, or the capture ended).
HTTP/1.x is one sink (:class:`katui.http.conversation.HttpConversation`); TLS and other
protocols become others. ``tcp/`` imports no protocol module: the pipeline passes the factory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # (katui.tcp.state imports this module)
    from katui.tcp.state import ByteConsumer


class StreamSink(Protocol):
    """Consumer of one TCP connection's two reassembled byte streams.

    ``d`` is a direction as tcp/ numbers them while reading: 0 for the side that sent the
    connection's first frame, 1 for its peer. Once the connection is done, :meth:`oriented`
    says which of them is the client; from then on the sink speaks in client/server terms.
    """

    def data(self, d: int, buf, start: int, end: int, frame: int, ts: int) -> ByteConsumer | None:
        """``buf[start:end]`` continues direction ``d`` in order; it completed in ``frame`` at
        ``ts`` ns. ``buf`` is the mapped capture: keep offsets, not slices.

        The sink may return a :class:`katui.tcp.state.ByteConsumer` (a subclass) that does with
        direction ``d``'s bytes what it would do itself: the tracker then feeds it directly,
        saving a call per segment on the hot path. Gaps and closes still come here."""

    def gap(self, d: int, nbytes: int, frame: int, ts: int) -> None:
        """``nbytes`` of direction ``d`` were never captured (a hole given up on, or bytes cut
        by the snap length)."""

    def close(self, d: int, frame: int, ts: int) -> None:
        """Direction ``d`` ended: its FIN arrived in order, or the capture ended."""

    def client_direction(self) -> int | None:
        """The direction the protocol says is the client's (a request's sender), if it knows."""

    def oriented(self, client: int) -> None:
        """tcp/ decided direction ``client`` is the client's; no more bytes will come."""


SinkFactory = Callable[[bool], StreamSink]
"""``new_sink(midstream)``: the sink for a new connection (``midstream``: no SYN was seen, so
the capture may have started inside a message)."""


class NoSink:
    """A sink that ignores everything (a tracker used for TCP facts only)."""

    __slots__ = ()

    def data(self, d: int, buf, start: int, end: int, frame: int, ts: int) -> None:
        """Ignored (and no consumer to feed directly)."""

    def gap(self, d: int, nbytes: int, frame: int, ts: int) -> None:
        """Ignored."""

    def close(self, d: int, frame: int, ts: int) -> None:
        """Ignored."""

    def client_direction(self) -> int | None:
        """Unknown."""
        return None

    def oriented(self, client: int) -> None:
        """Ignored."""


NO_SINK = NoSink()


def no_sink(midstream: bool) -> StreamSink:
    """The default :data:`SinkFactory`: one shared :class:`NoSink`."""
    return NO_SINK
