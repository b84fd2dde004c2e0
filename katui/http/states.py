"""The states of the HTTP/1.x parser (:attr:`katui.http.parser.HttpHalf.state`).

A module of their own so that the compiled parser and conversation import them into C
integers (their ``.pxd``), and Python code still reads them by name.
"""

HEAD, BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_END, TRAILER, UNTIL_CLOSE, RESYNC, DEAD = range(9)
"""Reading a head; a body of known length; a chunk-size line; chunk data; the CRLF after a
chunk; the trailer; a body that runs until the close; looking for the next message start
(after a gap, or mid-stream); stopped (after 101/CONNECT, or an error)."""
