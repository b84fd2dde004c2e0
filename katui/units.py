"""Formatting of times and sizes for humans (shared by reports and the UI)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

try:
    import cython
except ImportError:  # the interpreted build without Cython installed
    import katui.model._cython as cython

EXACT_NS = 10**15
"""Below this many ns (11.6 days) a double holds ns / 1e9 to within 2**-33 s, closer than any
integer ns is to a point halfway between two shown digits (down to microseconds) but those
exactly halfway: the writers round such times with integers and leave only ties to the float
(:func:`fmt_s` here, the JSON seconds and the Markdown ladder's times)."""


def fmt_s(ns: int | None) -> str:
    """A duration like ``5.005 s``, ``12.3 ms`` or ``85 µs``."""
    if ns is None:
        return "-"
    if 0 <= ns < EXACT_NS:
        return _fmt_exact(ns)
    if ns < 0:  # (a hostile capture's clock running back: the size scaled as for its opposite)
        return "-" + fmt_s(-ns)
    return _fmt_float(ns)


def _fmt_exact(ns: int) -> str:
    """:func:`fmt_s` of ``0 <= ns < EXACT_NS`` with integers (C integers when compiled: the
    Markdown report writes several durations per connection). A double is exact to well
    under the shown digit here, so it rounds as the integers do; only a tie (exactly halfway
    between two shown values) takes the float, which the formatting rounds half to even."""
    if ns >= 10_000_000_000:
        unit, digits = 100_000_000, 1
    elif ns >= 1_000_000_000:
        unit, digits = 1_000_000, 3
    elif ns >= 1_000_000:
        unit, digits = 100_000, 1
    else:
        unit, digits = 1000, 0
    shown = ns // unit
    rest = ns % unit
    if rest * 2 == unit:
        return _fmt_float(ns)
    if rest * 2 > unit:
        shown += 1
    if digits == 0:
        return _MICROS[shown]  # shown <= 1000
    if cython.compiled:  # the digits written into a C buffer: no string per part, no join
        return _decimal(shown, digits, ns < 1_000_000_000)
    suffix = " ms" if ns < 1_000_000_000 else " s"
    if digits == 1:
        return f"{shown // 10}.{shown % 10}{suffix}"
    return f"{shown // 1000}.{shown % 1000:03d}{suffix}"


_DIGITS = bytearray(48)
"""Where :func:`_decimal` writes (compiled; 48 bytes hold any 64-bit number's digits)."""


def _decimal(shown: int, digits: int, ms: bool) -> str:
    """Compiled: ``shown`` (>= 0) with a point before its last ``digits`` (1 or 3) and `` ms``
    or `` s`` after, as :func:`_fmt_exact` writes it, made in a C buffer from its end (an
    f-string made a string of each part and joined them: ~850 instructions a duration, and
    the Markdown report writes ~11 a connection). No other thread writes the buffer meanwhile:
    nothing here lets go of the GIL."""
    buf = PyByteArray_AS_STRING(_DIGITS)  # noqa: F821
    end = len(_DIGITS)
    n = end
    n -= 1
    buf[n] = 115  # "s"
    if ms:
        n -= 1
        buf[n] = 109  # "m"
    n -= 1
    buf[n] = 32
    for _k in range(digits):
        n -= 1
        buf[n] = 48 + shown % 10
        shown //= 10
    n -= 1
    buf[n] = 46  # "."
    while True:
        n -= 1
        buf[n] = 48 + shown % 10
        shown //= 10
        if not shown:
            break
    return PyUnicode_DecodeASCII(buf + n, end - n, cython.NULL)  # noqa: F821


_MICROS = tuple(f"{n} µs" for n in range(1001))
""":func:`fmt_s` of the durations below a millisecond, by their microseconds (the Markdown
report shows several per connection: a load test's idle times and round trips)."""


def _fmt_float(ns: int) -> str:
    if ns >= 10_000_000_000:
        return f"{ns / 1e9:.1f} s"
    if ns >= 1_000_000_000:
        return f"{ns / 1e9:.3f} s"
    if ns >= 1_000_000:
        return f"{ns / 1e6:.1f} ms"
    return f"{ns / 1e3:.0f} µs"


def fmt_timeout(ns: int) -> str:
    """A timeout estimate like ``5 s`` or ``4.9 s`` (at most 0.1 s precision)."""
    return f"{round(ns / 1e9, 1):g} s"


def fmt_bytes(n: int) -> str:
    """A size like ``16 B``, ``4.2 KiB``, ``3.1 MiB``."""
    if n < 1024:
        return f"{n} B"
    if n < 1024**2:
        return f"{n / 1024:.1f} KiB"
    if n < 1024**3:
        return f"{n / 1024**2:.1f} MiB"
    return f"{n / 1024**3:.1f} GiB"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 request`` / ``3 requests`` (``many`` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _datetime(ns: int, utc: bool):
    secs, rest = divmod(ns, 1_000_000_000)
    return _second(secs, utc).replace(microsecond=rest // 1000)


@lru_cache(maxsize=256)  # a load test starts hundreds of connections in each second
def _second(secs: int, utc: bool) -> datetime:
    when = datetime.fromtimestamp(secs, UTC)
    return when if utc else when.astimezone()


def fmt_clock(ns: int, utc: bool = False, micro: bool = False) -> str:
    """Time of day of an epoch timestamp with milliseconds, like ``14:03:07.123`` (local or UTC),
    to match against server logs; ``micro``: with microseconds (a frame's own time)."""
    text = _datetime(ns, utc).strftime("%H:%M:%S.%f")
    return text if micro else text[:-3]


_LAST_ISO: list = [None, None, None]
"""(second, utc, its _iso_second) of the last :func:`fmt_iso`: the Markdown report asks for the
same second for the many connections a load test starts in it."""
_ISO_NS = 1 << 62
"""Timestamps (ns) from 0 to below this are split in C integers."""


def fmt_iso(ns: int, utc: bool = True) -> str:
    """An epoch timestamp as ISO 8601 with microseconds and its offset:
    ``2024-05-01T12:03:07.123456+00:00`` (UTC, or the local time zone)."""
    if 0 <= ns < _ISO_NS:
        n = ns
        secs, us = n // 1_000_000_000, n % 1_000_000_000 // 1000
    else:  # a hostile capture's timestamps: Python ints
        secs, rest = divmod(ns, 1_000_000_000)
        us = rest // 1000
    last = _LAST_ISO
    if last[0] == secs and last[1] == utc:
        day_time, offset = last[2]
    else:
        day_time, offset = last[2] = _iso_second(secs, utc)
        last[0], last[1] = secs, utc
    return f"{day_time}.{us:06d}{offset}"


@lru_cache(maxsize=256)  # the Markdown report writes a start time per connection
def _iso_second(secs: int, utc: bool) -> tuple[str, str]:
    """The ISO 8601 text of second ``secs`` before and after its microseconds:
    ``('2024-05-01T12:03:07', '+00:00')`` (the date and time are always 19 characters)."""
    text = _second(secs, utc).isoformat(timespec="microseconds")
    return text[:19], text[26:]


def fmt_start(ns: int) -> str:
    """A capture's start for a header, in local time with its offset: ``2024-05-01 14:03:07
    +02:00``."""
    when = _datetime(ns, False)
    zone = when.strftime("%z")
    return f"{when:%Y-%m-%d %H:%M:%S} {zone[:3]}:{zone[3:]}"
