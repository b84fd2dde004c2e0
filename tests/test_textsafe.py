"""Visible escapes for capture text: unambiguous, and nothing left that a terminal acts on."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from katui.textsafe import safe_bytes, safe_text


def test_control_bidi_and_literal_backslashes_are_distinguishable():
    assert safe_text("\x1b[2J") == "\\x1b[2J"
    assert safe_text("\\x1b[2J") == "\\\\x1b[2J"
    assert safe_text("a\u202eb") == "a\\u202eb"
    assert safe_text("bell\x07 c1\x9b") == "bell\\x07 c1\\x9b"


def test_newlines_kept_only_when_asked():
    assert safe_text("a\r\nb") == "a\\x0d\\x0ab"
    assert safe_bytes(b"GET / HTTP/1.1\r\nHost: x\r\n") == "GET / HTTP/1.1\nHost: x\n"


@given(st.text())
def test_output_has_no_control_or_bidi_characters(text):
    out = safe_text(text)
    assert not re.search("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]", out)


def test_bytes_decode_as_utf8_with_invalid_bytes_escaped():
    data = "é \u202e".encode() + b"\xff\x1b"
    assert safe_bytes(data, keep_newlines=False) == "é \\u202e\\xff\\x1b"
