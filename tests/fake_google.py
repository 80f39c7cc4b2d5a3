"""A local stand-in for Google's OAuth 2.0 / OpenID endpoints.

The real GoogleOAuthenticator talks to it through its configurable URLs
(``authorize_url`` and ``google_api_url``). A test says who signs in next;
the authorize endpoint then sends the browser straight back with a code, as
Google does for a person who already consented. Every step is checked the way
Google would: the client id and secret, the redirect URI, the code (used
once), the bearer token.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.network import ThreadedApp


class FakeGoogle:
    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.next_person: dict[str, Any] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        self.port = 0
        self._server: ThreadedApp | None = None

    def sign_in_as(self, email: str, *, name: str = "", hd: str = "", verified: bool = True) -> None:
        self.next_person = {
            "id": str(abs(hash(email)) % 10**20), "email": email, "verified_email": verified,
            "name": name or email.split("@")[0], "picture": "https://example.invalid/p.png",
        }
        if hd:
            self.next_person["hd"] = hd

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _authorize(self, request: web.Request) -> web.Response:
        self.calls.append("authorize")
        q = request.query
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return web.Response(status=400, text="invalid_request")
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"person": dict(self.next_person), "redirect_uri": q["redirect_uri"]}
        raise web.HTTPFound(q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")}))

    async def _token(self, request: web.Request) -> web.Response:
        self.calls.append("token")
        form = await request.post()
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.headers.get("Authorization", "").startswith("Basic "):
            import base64

            decoded = base64.b64decode(request.headers["Authorization"][6:]).decode()
            client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = self.codes.pop(str(form.get("code")), None)
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return web.json_response({"error": "invalid_grant"}, status=400)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = grant["person"]
        return web.json_response({"access_token": token, "token_type": "Bearer", "expires_in": 3599,
                                  "scope": "openid https://www.googleapis.com/auth/userinfo.email"})

    async def _userinfo(self, request: web.Request) -> web.Response:
        self.calls.append("userinfo")
        auth = request.headers.get("Authorization", "")
        person = self.tokens.get(auth.removeprefix("Bearer ").strip())
        if person is None:
            return web.json_response({"error": "invalid_token"}, status=401)
        return web.json_response(person)

    def start(self) -> "FakeGoogle":
        app = web.Application()
        app.router.add_get("/o/oauth2/v2/auth", self._authorize)
        app.router.add_post("/oauth2/v4/token", self._token)
        app.router.add_get("/oauth2/v1/userinfo", self._userinfo)
        self._server = ThreadedApp(app, "fake-google")
        self.port = self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()
