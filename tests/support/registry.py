"""A Confluent-compatible schema registry in a thread, for tests: the two calls leadflow's
codecs make (`POST /subjects/{subject}/versions`, `GET /schemas/ids/{id}`), ids from 1.

Why not a real registry: Apicurio Registry 3.x (`io.apicurio:apicurio-registry-app`) is a
Quarkus application module, not a runnable jar (it needs a Quarkus build over ~90
dependencies), and its 3.3.3 release depends on `apicurio-registry-schema-util-provider`
3.3.3, which the package registry here does not serve (3.0.9's parent POM neither).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class RegistryState:
    schemas: dict[int, str] = field(default_factory=dict)
    subjects: dict[str, set[int]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class FakeRegistry:
    url: str
    state: RegistryState


def _handler(state: RegistryState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, code: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            parts = self.path.strip("/").split("/")
            with state.lock:
                state.requests.append(("POST", self.path))
                if len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
                    text = body["schema"]
                    sid = next((i for i, t in state.schemas.items() if t == text), None)
                    if sid is None:
                        sid = len(state.schemas) + 1
                        state.schemas[sid] = text
                    state.subjects.setdefault(parts[1], set()).add(sid)
                    self._answer(200, {"id": sid})
                    return
            self._answer(404, {"error_code": 404, "message": "not found"})

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            with state.lock:
                state.requests.append(("GET", self.path))
                if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and parts[2].isdigit():
                    text = state.schemas.get(int(parts[2]))
                    if text is not None:
                        self._answer(200, {"schema": text})
                        return
            self._answer(404, {"error_code": 40403, "message": "Schema not found"})

    return Handler


@contextmanager
def fake_registry() -> Iterator[FakeRegistry]:
    state = RegistryState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FakeRegistry(f"http://127.0.0.1:{server.server_address[1]}", state)
    finally:
        server.shutdown()
        server.server_close()
