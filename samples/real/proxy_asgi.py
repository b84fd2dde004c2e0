"""Tiny ASGI backend for make_proxy.sh: answers every request with 200 and a short text.

    python3 -m uvicorn --app-dir samples/real proxy_asgi:app --port PORT --timeout-keep-alive 1

uvicorn's own access log (one line per request, with the proxy's source port) is the log the
manifest quotes.
"""

from __future__ import annotations


async def app(scope, receive, send):
    """Read the whole request body, then answer ``uvicorn METHOD PATH body=N``."""
    if scope["type"] != "http":
        return
    size = 0
    more = True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    text = f"uvicorn {scope['method']} {scope['path']} body={size}\n".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(text)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": text})
