"""A real HTTP server on loopback that tests and examples call from `http` nodes.

Routes:
- `GET /json?key=value...` answers the query as a JSON object.
- `POST /echo` answers `{"method", "headers", "query", "body"}` of the request.
- `GET /status/{code}` answers that status with a JSON body `{"status": code}`.
- `GET /slow?seconds=N` answers after N seconds (for cancellation tests).
- `GET /text` answers plain text.
- `GET /count/{key}` counts calls per key, `GET /count/{key}?read=1` reads the count;
  `?seconds=N` answers N seconds after counting (a call that is cut short still counts).
- `GET /flaky/{key}?fail=N&status=S` fails with status S (default 503) the first N calls
  for that key, then answers `{"calls": n}`.
"""

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class HttpPeer:
    server: ThreadingHTTPServer
    thread: threading.Thread
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_http_peer() -> HttpPeer:
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._route()

        def do_POST(self) -> None:
            self._route()

        def do_PUT(self) -> None:
            self._route()

        def do_DELETE(self) -> None:
            self._route()

        def _route(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            segments = [s for s in parts.path.split("/") if s]
            head = segments[0] if segments else ""

            if head == "json":
                self._send_json(200, query)
            elif head == "echo":
                self._send_json(200, self._echo(query))
            elif head == "status" and len(segments) == 2:
                code = int(segments[1])
                self._send_json(code, {"status": code})
            elif head == "slow":
                time.sleep(float(query.get("seconds", "5")))
                self._send_json(200, {"slept": float(query.get("seconds", "5"))})
            elif head == "text":
                self._send(200, b"plain text", "text/plain")
            elif head == "count" and len(segments) == 2:
                seconds = float(query.get("seconds", "0"))
                self._count(segments[1], bool(query.get("read")), seconds)
            elif head == "flaky" and len(segments) == 2:
                self._flaky(segments[1], query)
            else:
                self._send_json(404, {"error": "no such route"})

        def _echo(self, query: dict[str, str]) -> dict[str, object]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: object = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            return {
                "method": self.command,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "query": query,
                "body": body,
            }

        def _count(self, key: str, read: bool, seconds: float) -> None:
            with lock:
                if not read:
                    counts[key] += 1
                value = counts[key]
            time.sleep(seconds)
            self._send_json(200, {"key": key, "count": value})

        def _flaky(self, key: str, query: dict[str, str]) -> None:
            with lock:
                counts[f"flaky:{key}"] += 1
                calls = counts[f"flaky:{key}"]
            if calls <= int(query.get("fail", "1")):
                status = int(query.get("status", "503"))
                self._send_json(status, {"calls": calls, "failing": True})
            else:
                self._send_json(200, {"calls": calls})

        def _send_json(self, status: int, payload: object) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return HttpPeer(server=server, thread=thread, counts=counts)
