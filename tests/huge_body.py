"""A client that POSTs a 90 MB body the way an attacker would, and sees when the server gives up.

The body is streamed in 64 kB pieces; before each piece the client looks whether the
server already answered (or closed), so the figure returned is how much the server
let in before refusing, not how much the client managed to push into socket buffers.
"""
from __future__ import annotations

import select
import socket
from typing import Mapping, Optional, Tuple

HUGE = 90 * 1024 * 1024
_PIECE = b" " * (64 * 1024)


def post_huge_body(port: int, path: str, *, chunked: bool, total: int = HUGE,
                   headers: Optional[Mapping[str, str]] = None) -> Tuple[int, int]:
    """``(HTTP status, body bytes sent before the server answered or closed)``; status 0: no answer."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            while sent < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break  # the server answered (or hung up) before the body was all sent
                piece = _PIECE[: min(len(_PIECE), total - sent)]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if sent >= total and chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while b"\r\n" not in answer:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
        except (ConnectionResetError, socket.timeout):
            pass
    status_line = answer.split(b"\r\n", 1)[0].split()
    return (int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0), sent
