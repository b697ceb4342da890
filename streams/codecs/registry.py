"""A minimal HTTP client for a Confluent-compatible schema registry (a ``SchemaResolver``).

Only the two calls the codecs need, on the standard library (``urllib``):

* ``POST /subjects/{subject}/versions`` (or, with ``auto_register=False``,
  ``POST /subjects/{subject}``) with ``{"schema": "..."}`` → ``{"id": N}``;
* ``GET /schemas/ids/{id}`` → ``{"schema": "..."}``; 404 → ``UnknownSchemaId``.

Any other failure raises ``SchemaRegistryError`` (not a record's fault: it must not be
dead-lettered). The URL and credentials are arguments; nothing reads the environment.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from streams.codecs.errors import UnknownSchemaId

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryError(RuntimeError):
    """The schema registry could not be reached or answered something unusable."""


class HttpSchemaRegistry:
    """``SchemaResolver`` over a Confluent-compatible registry's REST API."""

    def __init__(
        self,
        url: str,
        *,
        auto_register: bool = True,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("schema registry URL must be http(s)://host[:port][/path]")
        self.base = url.rstrip("/")
        self.auto_register = auto_register
        self.timeout_s = timeout_s
        self._auth: str | None = None
        if username is not None:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode()
            self._auth = f"Basic {token}"

    def register(self, subject: str, schema_text: str) -> int:
        path = f"/subjects/{urllib.parse.quote(subject, safe='')}"
        if self.auto_register:
            path += "/versions"
        answer = self._call("POST", path, {"schema": schema_text})
        return self._int(answer, "id", path)

    def schema_text(self, schema_id: int) -> str:
        try:
            answer = self._call("GET", f"/schemas/ids/{int(schema_id)}", None)
        except _NotFound:
            raise UnknownSchemaId(schema_id) from None
        text = answer.get("schema") if isinstance(answer, dict) else None
        if not isinstance(text, str):
            raise SchemaRegistryError(f"registry answer for schema id {schema_id} has no schema")
        return text

    # -- plumbing ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Accept", CONTENT_TYPE)
        if data is not None:
            request.add_header("Content-Type", CONTENT_TYPE)
        if self._auth is not None:
            request.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise _NotFound(path) from None
            raise SchemaRegistryError(f"schema registry {method} {path}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise SchemaRegistryError(
                f"schema registry {method} {path}: {type(exc).__name__}"
            ) from exc

    @staticmethod
    def _int(answer: Any, key: str, path: str) -> int:
        value = answer.get(key) if isinstance(answer, dict) else None
        if not isinstance(value, int):
            raise SchemaRegistryError(f"schema registry answer to {path} has no {key}")
        return value


class _NotFound(Exception):
    pass
