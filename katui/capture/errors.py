"""Errors raised while opening or reading a capture file."""


class CaptureError(Exception):
    """The file cannot be analysed at all (not a capture, unreadable, unsupported).

    The message is one plain line meant for the user; the CLI prints it and exits with status 2.
    """
