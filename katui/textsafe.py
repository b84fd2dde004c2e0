"""Make bytes and strings from a capture safe to show: no control sequences, no markup.

Capture contents are hostile. Anything that could act on a terminal (C0/C1 controls, ESC, DEL),
reorder text (bidi overrides and isolates) or break a Markdown table is replaced by a visible
escape such as ``\\x1b`` or ``\\u202e``. Rich markup is never interpreted by katui (the UI builds
``rich.text.Text`` objects, never markup strings), so brackets are left alone here.
"""

from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Lone surrogates U+DC80-U+DCFF stand for undecodable bytes (``surrogateescape``).
UNSAFE_CHARS = f"\\\\\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ufeff\udc80-\udcff"
"""The characters :func:`safe_text` escapes, as the inside of a regular expression's ``[]``."""
_UNSAFE = re.compile(f"[{UNSAFE_CHARS}]")


def _escape_char(m: re.Match) -> str:
    ch = m.group(0)
    if ch == "\\":
        return "\\\\"  # a literal backslash must not read like the start of an escape
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not valid UTF-8
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def safe_text(value: str, keep_newlines: bool = False) -> str:
    """``value`` with every control / bidi character replaced by a visible escape (``\\x1b``),
    and literal backslashes doubled so that text can never imitate an escape."""
    if keep_newlines:
        return "\n".join(_UNSAFE.sub(_escape_char, line) for line in value.split("\n"))
    return _UNSAFE.sub(_escape_char, value)


def capture_text(data: bytes) -> str:
    """Capture bytes as text, the one way katui reads them wherever it shows them as text (a
    request target in the reports, the ladder and the request list; a head in the detail pane;
    follow stream): UTF-8 where they are valid UTF-8, as Wireshark and a server's log read
    them, and every other byte kept as itself, the lone surrogate U+DC80+byte (Python's
    ``surrogateescape``), which :func:`safe_text` shows as ``\\xNN``, as nginx and Apache log
    such bytes. Never Latin-1 for the whole text: one stray byte would turn every valid
    character around it into mojibake. Lossless: ``text.encode("utf-8", "surrogateescape")``
    gives the bytes back."""
    return data.decode("utf-8", "surrogateescape")


def safe_bytes(data: bytes, keep_newlines: bool = True) -> str:
    """Decode capture bytes with :func:`capture_text` (so text and a bidi override read as
    such, and every byte that is not UTF-8 shows as ``\\xNN``), and escape the rest as
    :func:`safe_text` does."""
    text = capture_text(data)
    if keep_newlines:
        text = text.replace("\r\n", "\n")
    return safe_text(text, keep_newlines=keep_newlines)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(value: str) -> str:
    """``value`` with A-Z lower-cased and nothing else changed: capture text compared with a
    protocol word or a product name (``str.lower`` makes the Kelvin sign of a hostile
    ``Server: \u212aestrel`` a k, and Kestrel a match)."""
    return value.translate(_ASCII_LOWER)
