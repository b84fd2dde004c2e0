"""HTTP/1.x message framing on reassembled TCP byte streams."""
