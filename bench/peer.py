"""A fast HTTP peer for the benchmarks: `python -m bench.peer` prints its port, serves.

Every request gets `200 {"ok": true}` on a kept-alive connection. It is a bare asyncio
protocol so that the peer, not the service under test, is never the bottleneck.
"""

import asyncio
import socket
import sys

BODY = b'{"ok": true}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
)


class _Http(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport: asyncio.Transport = transport  # type: ignore[assignment]
        self._buffer = b""

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            head_end = self._buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            length = _content_length(self._buffer[:head_end])
            request_end = head_end + 4 + length
            if len(self._buffer) < request_end:
                return
            self._buffer = self._buffer[request_end:]
            self._transport.write(RESPONSE)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


async def serve() -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = await asyncio.get_running_loop().create_server(
        _Http, sock=sock, backlog=1024
    )
    print(sock.getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(serve())
    except KeyboardInterrupt:
        sys.exit(0)
