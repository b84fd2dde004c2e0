"""The filter language of the connection list: ``status:502 reason:reset idle>4s !tls``.

Pure Python (no Textual): :func:`parse` turns the text into a :class:`Query` or raises
:class:`QueryError` with one line saying what is wrong (the TUI shows it while you type);
:func:`matches` tests a connection. Words are ANDed; ``!`` before a word negates it.

- ``field:value`` or ``field<op>value`` with ``op`` one of ``> >= < <= =``: see :data:`FIELDS`.
- a keyword (:data:`KEYWORDS`): ``tls``, ``reused``, ``problem``...
- any other word: a number is a stream, a port or a status (exactly, never a substring of a
  longer number); text is looked for in the addresses, URIs, Host headers and the close reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from katui.analysis.h2close import never_processed
from katui.analysis.payload import protocol, short_protocol
from katui.model import CLOSE_REASONS, Connection

OPS = (">=", "<=", ">", "<", "=", ":")
_TERM = re.compile(r"^(?P<neg>!?)(?P<name>[a-z]+)(?P<op>>=|<=|>|<|=|:)(?P<value>.*)$", re.I)
_DURATION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(s|ms|us|µs|m|min)?$")
_UNITS = {None: 1e9, "s": 1e9, "ms": 1e6, "us": 1e3, "µs": 1e3, "m": 60e9, "min": 60e9}
_STATUS = re.compile(r"^[1-5](xx|\dx)$", re.I)
CLOSED = ("client", "server", "open", "fin", "rst")

PayloadKind = Callable[[Connection], "str | None"]
"""What a connection's payload is when it is not HTTP (``TLS``...), or None."""


class QueryError(ValueError):
    """The filter text is not valid; the message is one line for humans."""


@dataclass(frozen=True, slots=True)
class Term:
    """One word of a query."""

    field: str
    """A :data:`FIELDS` name, a :data:`KEYWORDS` name, or ``word`` for free text."""
    op: str
    """One of :data:`OPS` ('' for keywords and free words)."""
    value: object
    """The parsed value: a number, nanoseconds, a lower-case string or a status pattern."""
    negate: bool = False
    """True when the word was written with ``!``."""


@dataclass(frozen=True, slots=True)
class Query:
    """Every word of a filter; a connection must match them all."""

    text: str = ""
    """The filter as typed (normalised spaces)."""
    terms: tuple[Term, ...] = ()
    """The parsed words."""

    @property
    def active(self) -> bool:
        """True when the query narrows anything."""
        return bool(self.terms)


def _number(name: str, value: str) -> int:
    if not value.isdigit():
        # Two examples at most: the prompt shows the error on its border, 80 columns wide.
        example = " or ".join(FIELDS[name][0].split(": ", 1)[1].split(", ")[:2])
        raise QueryError(f"{name} wants a whole number like {example} (got {value!r})")
    return int(value)


def parse_duration(name: str, value: str) -> int:
    """Nanoseconds of ``4s``, ``500ms``, ``2m`` (a bare number is seconds); raises
    :class:`QueryError` naming ``name`` (the field, or what the prompt asks for)."""
    m = _DURATION.match(value.lower())
    if not m:
        raise QueryError(f"{name} wants a duration like 4s, 500ms or 2m (got {value!r})")
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def _status(name: str, op: str, value: str):
    if op in (":", "=") and _STATUS.match(value):
        return value.lower()
    return _number(name, value)


REASON_ALIASES = {"closed": ("client-done", "unannounced-close", "aborted-response")}
"""Close reasons by an older name: JSON schema 3 split ``closed`` by who closed and how."""


def _reason(name: str, value: str) -> str:
    v = value.lower()
    if any(old.startswith(v) for old in REASON_ALIASES) and v:
        return v
    if not any(r.startswith(v) for r in CLOSE_REASONS) or not v:
        raise QueryError(f"no close reason starts with {value!r}; reasons: {', '.join(CLOSE_REASONS)}")
    return v


def _closed(name: str, value: str) -> str:
    if value.lower() not in CLOSED:
        raise QueryError(f"closed wants {', '.join(CLOSED)} (got {value!r})")
    return value.lower()


def _text(name: str, value: str) -> str:
    if not value:
        raise QueryError(f"{name}: wants something after the colon, e.g. {name}:/api")
    return value.lower()


FIELDS: dict[str, tuple[str, Callable]] = {
    "status": ("any response status: status:502, status:5xx, status>=500", None),
    "reason": ("close reason (a prefix is enough): reason:reset, reason:stale", _reason),
    "closed": ("who or how it closed: closed:client, closed:server, closed:open, closed:rst", _closed),
    "idle": ("idle before the close: idle>4s, idle<500ms", parse_duration),
    "dur": ("connection duration: dur>30s", parse_duration),
    "req": ("number of requests: req>=2, req:1", _number),
    "stream": ("tcp.stream: stream:12, stream>100", _number),
    "server": ("server port (a number) or address text: server:9401, server:10.0.0.5", _text),
    "client": ("client port (a number) or address text: client:43070", _text),
    "port": ("either port, exactly: port:8081", _number),
    "uri": ("text in any request URI: uri:/api", _text),
    "host": ("text in any Host header: host:example", _text),
    "method": ("any request method: method:post", _text),
    "proto": (
        "protocol, as the list's proto column says it: proto:h2, proto:http/1.0, "
        "proto:tls1.3, proto:dec (decrypted)",
        _text,
    ),
}
"""Field name -> (help, value parser)."""
_ORDERED = {"idle", "dur", "req", "stream", "status"}
"""Fields that take > >= < <= (the others only ``:``)."""

KEYWORDS: dict[str, str] = {
    "tls": "the payload is TLS",
    "http": "HTTP/1.x was recognised (or HTTP/2 frames read)",
    "h2": "HTTP/2 frames were read (decrypted h2, or cleartext h2c)",
    "reused": "carried more than one request",
    "pipelined": "a request was sent before the previous response",
    "problem": "reset, stale reuse, 502/503/504, HTTP/2 request never processed, lost data, broken HTTP",
    "open": "still open at the end of the capture",
}
"""Words that test a property of the connection."""


def parse(text: str) -> Query:
    """Parse a filter; raises :class:`QueryError` with one line on the first bad word."""
    terms = []
    words = text.split()
    for word in words:
        terms.append(_parse_word(word))
    return Query(" ".join(words), tuple(terms))


def _parse_word(word: str) -> Term:
    negate = word.startswith("!")
    body = word[1:] if negate else word
    if not body:
        raise QueryError("! must be followed by a word, e.g. !tls or !status:200")
    m = _TERM.match(word)
    if m:
        name, op, value = m.group("name").lower(), m.group("op"), m.group("value")
        if name not in FIELDS and op == ":" and value.isdigit():  # localhost:8081
            return Term("word", "", body.lower(), negate)
        if name not in FIELDS:
            raise QueryError(f"unknown field {name!r}; fields: {', '.join(FIELDS)}")
        if op not in (":", "=") and name not in _ORDERED:
            raise QueryError(f"{name} takes ':' (e.g. {FIELDS[name][0].split(': ', 1)[1].split(',')[0]})")
        if op == "=":
            op = ":"
        if name in ("idle", "dur") and op == ":":
            raise QueryError(f"{name} wants a comparison: {name}>4s or {name}<4s")
        parse_value = FIELDS[name][1]
        if name == "status":
            value = _status(name, op, value)
        else:
            value = parse_value(name, value)
        return Term(name, op, value, negate)
    low = body.lower()
    if low in KEYWORDS:
        return Term(low, "", True, negate)
    if re.match(r"^[a-z]+[<>]", low):
        raise QueryError(f"unknown field {re.match(r'^[a-z]+', low).group()!r}; fields: {', '.join(FIELDS)}")
    return Term("word", "", low, negate)


def compare(have: int | None, op: str, want: int) -> bool:
    """``have <op> want`` for one of :data:`OPS` (``:`` is equality); False when unknown."""
    if have is None:
        return False
    return {":": have == want, ">": have > want, ">=": have >= want, "<": have < want,
            "<=": have <= want}[op]  # fmt: skip


def port_of(endpoint: str) -> int:
    """The port of ``10.0.0.5:8081`` or ``[::1]:8081``; -1 when there is none."""
    tail = endpoint.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def endpoint_matches(endpoint: str, value: str) -> bool:
    """A number is the endpoint's port exactly; text is part of the address."""
    if value.isdigit():
        return port_of(endpoint) == int(value)
    return value in endpoint.lower()


def _statuses(conn: Connection) -> list[int]:
    return [ex.response.status for ex in conn.exchanges if ex.response is not None]


def _requests(conn: Connection):
    return [ex.request for ex in conn.exchanges if ex.request is not None]


def _status_match(conn: Connection, op: str, value) -> bool:
    if isinstance(value, str):  # 5xx, 50x, 502
        return any(all(p in ("x", c) for p, c in zip(value, str(s), strict=True))
                   for s in _statuses(conn) if len(str(s)) == 3)  # fmt: skip
    return any(compare(s, op, value) for s in _statuses(conn))


def is_problem(conn: Connection) -> bool:
    """:attr:`Connection.is_problem` (resets, stale reuse, 502/503/504 responses, lost or broken
    data), and an HTTP/2 request the server never processed (refused, or above its GOAWAY's last
    stream): the request list's ``problem`` word marks that request, so its connection is one."""
    if conn.is_problem:
        return True
    return conn.http2 is not None and any(ex.req >= 0 and never_processed(conn, ex) for ex in conn.exchanges)


def _field(conn: Connection, t: Term, kind: PayloadKind | None) -> bool:
    f, v = t.field, t.value
    if f == "status":
        return _status_match(conn, t.op, v)
    if f == "reason":
        old = [new for name, news in REASON_ALIASES.items() if name.startswith(v) for new in news]
        return conn.close.reason.startswith(v) or conn.close.reason in old
    if f == "closed":
        if v == "rst":  # reset at any point, also after a FIN (a stale reuse)
            return conn.close.how == "rst" or bool(conn.close.rst_frames)
        return v == ("open" if conn.close.by is None else conn.close.by) or v == conn.close.how
    if f == "idle":
        return compare(conn.close.idle_before_ns, t.op, v)
    if f == "dur":
        return compare(conn.duration_ns, t.op, v)
    if f == "req":
        return compare(conn.requests, t.op, v)
    if f == "stream":
        return compare(conn.stream, t.op, v)
    if f in ("server", "client"):
        return endpoint_matches(getattr(conn, f), v)
    if f == "port":
        return v in (port_of(conn.client), port_of(conn.server))
    if f == "uri":
        return any(v in r.uri.lower() for r in _requests(conn))
    if f == "host":
        return any(v in r.host.lower() for r in _requests(conn))
    if f == "method":
        return any(v == r.method.lower() for r in _requests(conn))
    if f == "proto":
        name = protocol(conn, kind(conn) if kind is not None and not conn.http and conn.tls is None else None)
        return any(v in text.lower() for text in (name, short_protocol(name), name.replace(" ", "")))
    return _keyword(conn, f, kind) if f in KEYWORDS else _word(conn, v)


def _keyword(conn: Connection, name: str, kind: PayloadKind | None) -> bool:
    if name == "tls":
        return not conn.http and kind is not None and kind(conn) == "TLS"
    if name == "http":
        return conn.http
    if name == "h2":
        return conn.http2 is not None
    if name == "reused":
        return conn.reused
    if name == "pipelined":
        return any(ex.pipelined for ex in conn.exchanges)
    if name == "problem":
        return is_problem(conn)
    return conn.close.by is None  # open


def _word(conn: Connection, word: str) -> bool:
    if word.isdigit():  # exact numbers only: 500 must not find port 50014
        n = int(word)
        return (n == conn.stream or n in (port_of(conn.client), port_of(conn.server))
                or n in _statuses(conn))  # fmt: skip
    if word in conn.client.lower() or word in conn.server.lower() or word in conn.close.reason:
        return True
    if conn.close.reason in REASON_ALIASES.get(word, ()):  # an old reason name (``closed``)
        return True
    return any(word in r.uri.lower() or word in r.host.lower() for r in _requests(conn))


def term_matches(conn: Connection, t: Term, kind: PayloadKind | None = None) -> bool:
    """True when ``conn`` passes the word ``t`` (its ``!`` not applied)."""
    return _field(conn, t, kind)


def matches(conn: Connection, q: Query, kind: PayloadKind | None = None) -> bool:
    """True when ``conn`` passes every word of ``q`` (``kind`` answers ``tls``)."""
    return all(_field(conn, t, kind) != t.negate for t in q.terms)


def help_lines() -> list[str]:
    """One line per field and keyword, for the help screen and the prompt."""
    out = [f"{name}  {what}" for name, (what, _) in FIELDS.items()]
    out += [f"{name}  {what}" for name, what in KEYWORDS.items()]
    return out
