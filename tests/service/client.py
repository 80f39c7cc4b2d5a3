"""Calls to a server running in the test's event loop, with tornado's AsyncHTTPClient.

The answers read like ``requests``' (``status_code``, ``headers``, ``text``, ``json()``), so
tests moved here from tests/hub kept their assertions as they were.
"""

from __future__ import annotations

import json as jsonlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httputil import HTTPHeaders


@dataclass
class Answer:
    status_code: int
    headers: HTTPHeaders
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return jsonlib.loads(self.body)

    @property
    def ok(self) -> bool:
        return self.status_code < 400


class Client:
    """HTTP calls under one base URL, as a person with a JupyterHub token (or with none)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url  # ends with "/"; paths not starting with "/" are relative to it
        self.origin = "/".join(base_url.split("/")[:3])

    async def call(self, method: str, path: str, *, token: str | None = None, json: Any = None,
                   data: dict[str, Any] | None = None, body: bytes | None = None,
                   headers: dict[str, str] | None = None) -> Answer:
        """``json``: a JSON body; ``data``: a form (a list value is sent as that field repeated); ``body``: as is."""
        headers = dict(headers or {})
        if token is not None:
            headers.setdefault("Authorization", f"token {token}")
        if json is not None:
            body = jsonlib.dumps(json).encode()
            headers.setdefault("Content-Type", "application/json")
        elif data is not None:
            body = urlencode(data, doseq=True).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        url = self.origin + path if path.startswith("/") else self.base_url + path
        request = HTTPRequest(url, method=method, headers=headers, body=body, allow_nonstandard_methods=True,
                              follow_redirects=False, request_timeout=30)
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code == 599:
            raise response.error
        return Answer(response.code, response.headers, response.body or b"")
