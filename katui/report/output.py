"""Write reports safely: never over an existing file unless asked, never half-written."""

from __future__ import annotations

import os
import tempfile


class OutputError(Exception):
    """The report could not be written; the message is one line for the user."""


def write_atomic(path: str, text, force: bool = False) -> str:
    """Write ``text`` to ``path`` via a temp file + rename; return the absolute path.

    ``text`` is a string or an iterable of strings (written piece by piece) or of their UTF-8
    bytes.
    Without ``force`` an existing ``path`` is left alone (OutputError). Character devices such
    as /dev/null or /dev/stdout are written directly (they cannot be renamed over).
    """
    target = os.path.abspath(path)
    if os.path.exists(target) and not os.path.isfile(target):
        try:
            with open(target, "w", encoding="utf-8") as fh:
                _write(fh, text)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
        return target
    if os.path.exists(target) and not force:
        raise OutputError(f"{path} exists; not overwriting it")
    folder = os.path.dirname(target) or "."
    try:
        fd, tmp = tempfile.mkstemp(prefix=".katui-", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write in {folder}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            _write(fh, text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report is an ordinary file
        if force:
            os.replace(tmp, target)
        else:
            # link() fails if the target appeared meanwhile: no silent overwrite in a race.
            os.link(tmp, target)
            os.unlink(tmp)
    except FileExistsError:
        os.unlink(tmp)
        raise OutputError(f"{path} exists; not overwriting it") from None
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:  # pieces that raise (an export cancelled, Ctrl+C): nothing is left
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write(fh, text) -> None:
    if isinstance(text, str):
        fh.write(text)
        return
    encoded = False  # the last piece was UTF-8 bytes, written to the file's buffer directly
    for piece in text:
        if isinstance(piece, bytes):
            if not encoded:
                fh.flush()  # text written before goes first
                encoded = True
            fh.buffer.write(piece)
        else:
            encoded = False
            fh.write(piece)
