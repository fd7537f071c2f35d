"""A real OpenAI-compatible HTTP server for tests: stdlib, one thread, scripted replies.

``POST /v1/chat/completions`` answers with the next scripted ``Reply`` (JSON, or SSE when
the request asks to stream), an HTTP error, a delay (to trigger client timeouts), a
malformed SSE event or a connection cut in the middle of a chunked stream.  Every request
body is recorded so tests can check what the client sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted response.  ``fault``: "" (normal), "malformed" (bad SSE JSON), "cut" (drop mid-stream)."""

    text: str = ""
    status: int = 200
    delay: float = 0.0
    fault: str = ""
    chunk_chars: int = 3


class _Handler(BaseHTTPRequestHandler):
    server: StubServer  # type: ignore[assignment]
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server naming)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.requests.append(body)
        reply = self.server.next_reply()
        if reply.delay:
            time.sleep(reply.delay)
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._json(404, {"error": {"message": f"no route {self.path}"}})
        if reply.status != 200:
            return self._json(reply.status, {"error": {"message": reply.text or "scripted error", "code": reply.status}})
        if body.get("stream"):
            return self._sse(reply, body.get("model", "stub"))
        return self._json(200, _completion(reply.text, body.get("model", "stub")))

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, reply: Reply, model: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        pieces = [reply.text[i : i + reply.chunk_chars] for i in range(0, len(reply.text), reply.chunk_chars)]
        events = [_chunk({"role": "assistant", "content": ""}, model)]
        events += [_chunk({"content": p}, model) for p in pieces]
        if reply.fault == "malformed":
            events.insert(len(events) // 2 + 1, "data: {this is not json\n\n")
        elif reply.fault == "cut":
            for event in events[: len(events) // 2 + 1]:
                self._write_chunk(event)
            self.wfile.write(b"400\r\npartial")  # a chunk announced longer than what follows
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        events += [_chunk({}, model, finish="stop"), "data: [DONE]\n\n"]
        for event in events:
            self._write_chunk(event)
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, event: str) -> None:
        data = event.encode()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _chunk(delta: dict[str, Any], model: str, finish: str | None = None) -> str:
    payload = {
        "id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0, "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _completion(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class StubServer(ThreadingHTTPServer):
    """``with StubServer() as s: s.script(Reply("…")); ChatOpenAI(base_url=s.base_url, …)``."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (timeouts) and scripted cuts are expected here, not errors."""

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._replies.popleft() if self._replies else Reply("（没有预设的回复）")

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
