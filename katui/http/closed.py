"""What a closed direction's HTTP parser is reduced to while the rest of a capture is read.

When a direction's FIN is delivered its parser usually holds nothing more: no message under way,
no carried bytes, no error, waiting for a next message (RESYNC) or ignoring everything (DEAD).
Its other fields are not read again before a new message sets them (see
:meth:`katui.http.parser.HttpHalf.close`), so a shared stand-in in the same state says all
there is to say, and a fresh parser behaves the same if bytes come after the FIN after all.
A load test's ended connections then keep no parsers (~300 bytes each) until the freeze.
"""

from __future__ import annotations

from katui.http.owner import Collector, MessageOwner
from katui.http.parser import HttpHalf
from katui.http.states import DEAD, RESYNC


def _never(message: object) -> None:
    raise RuntimeError("a closed direction's shared stand-in parser was given a message")


def _stand_in(is_request: bool, state: int) -> HttpHalf:
    p = HttpHalf(is_request, Collector(_never), resync=True)
    p.state = state
    return p


_STAND_INS = {(is_req, st): _stand_in(is_req, st) for is_req in (False, True) for st in (RESYNC, DEAD)}


def stand_in(p: HttpHalf) -> HttpHalf | None:
    """The shared stand-in for closed parser ``p``, or None when ``p`` still holds something.
    Shared, so never fed (its owner is not the conversation's: see :func:`reopened`)."""
    if p.cur < 0 and not p.head and p.error is None and (p.state == DEAD or p.state == RESYNC):
        return _STAND_INS[p.is_request, p.state]
    return None


def reopened(p: HttpHalf, owner: MessageOwner) -> HttpHalf:
    """A parser for bytes or a hole after stand-in ``p``'s FIN: an equal one of ``owner``'s
    own (a DEAD stand-in stays: it ignores everything, and never calls its owner)."""
    return p if p.state == DEAD else HttpHalf(p.is_request, owner, resync=True)
