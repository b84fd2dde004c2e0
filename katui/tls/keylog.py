"""TLS key logs (the NSS ``SSLKEYLOGFILE`` format): secrets by client random.

They come from a file (``--keylog``, ``$SSLKEYLOGFILE``) or from a pcapng Decryption Secrets
Block (``editcap --inject-secrets``). Kept apart from :mod:`katui.tls.decrypt` so that holding
a key log does not import ``cryptography``.
"""

from __future__ import annotations

MAX_KEYLOG_BYTES = 64 << 20
"""Key log text read at most, from a file or from a capture's blocks (a few hundred bytes per
connection)."""

NO_KEYS = "no keys for this connection in the key log"
LACKS = "the key log lacks this connection's "
"""The two notes (this one followed by the secret's name) of a key log without a connection's
keys, as opposed to keys that do not open its records (:func:`keys_missing`). Here, not in
:mod:`katui.tls.decrypt`: the freeze of every capture reads them (:mod:`katui.tls.exchanges`),
and importing ``cryptography`` there added ~9 MB of mapped library pages to a plain HTTP
capture's peak RSS."""


def keys_missing(note: str | None) -> bool:
    """True when ``note`` says the key log lacks the connection's keys, not that they failed."""
    return note is not None and (NO_KEYS in note or LACKS in note)


class KeyLog:
    """Secrets by client random."""

    def __init__(self, secrets: dict[bytes, dict[str, bytes]] | None = None) -> None:
        self.secrets = secrets or {}
        """client random -> {label: secret} (``CLIENT_RANDOM`` is TLS 1.2's master secret)."""
        self.read_bytes = 0
        """Key log text taken in so far (bounded by MAX_KEYLOG_BYTES)."""
        self.malformed = 0
        """Lines that were neither a secret, a comment nor blank (a file that is all such lines
        is not a key log)."""

    @classmethod
    def read(cls, path: str) -> KeyLog:
        """Parse the file ``path`` (raises OSError if it cannot be read)."""
        with open(path, "rb") as fh:
            text = fh.read(MAX_KEYLOG_BYTES)
        keys = cls()
        keys.add(text)
        return keys

    def add(self, text: bytes) -> None:
        """Take in key log lines; malformed ones are skipped."""
        text = text[: max(0, MAX_KEYLOG_BYTES - self.read_bytes)]
        self.read_bytes += len(text)
        for line in text.splitlines():
            parts = line.split()
            if not parts or parts[0].startswith(b"#"):
                continue
            self.malformed += 1  # until the line proves to be a secret
            if len(parts) != 3:
                continue
            try:
                random, secret = bytes.fromhex(parts[1].decode()), bytes.fromhex(parts[2].decode())
            except (ValueError, UnicodeDecodeError):
                continue
            if len(random) == 32 and 0 < len(secret) <= 64:
                self.secrets.setdefault(random, {})[parts[0].decode("ascii", "replace")] = secret
                self.malformed -= 1

    def __len__(self) -> int:
        return len(self.secrets)
