"""A stand-in for Anthropic's models on Vertex AI, and for Google's token endpoint.

The gateway signs in with Application Default Credentials (here a service
account's key file, made for the test, whose ``token_uri`` is this server's
``/token``: the token endpoint checks the signed assertion with the key's
public half),
then calls ``…/publishers/anthropic/models/MODEL:streamRawPredict`` or
``:rawPredict`` as Vertex AI serves them. Each request is checked the way
Vertex would: the project and region in the path, the access token, the body's
``anthropic_version`` and no ``model`` in it. The answer is the fake model's
(tests/fake_model.py), scripted the same way.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.fake_model import FakeModel

ACCOUNT = "gateway@oma-test.iam.gserviceaccount.com"


class FakeVertex(FakeModel):
    def __init__(self, project: str = "oma-test", region: str = "us-east5") -> None:
        super().__init__()
        self.project, self.region = project, region
        self.issued: list[str] = []  # access tokens handed out
        self.vertex_calls: list[dict[str, Any]] = []  # path, model, method, anthropic_version, headers
        self._tokens = itertools.count(1)

    def credentials_file(self, folder: Path) -> Path:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._public_key = key.public_key()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        path = folder / "adc.json"
        path.write_text(json.dumps({"type": "service_account", "project_id": self.project, "private_key_id": "k1",
                                    "private_key": pem, "client_email": ACCOUNT, "client_id": "1",
                                    "token_uri": f"{self.base_url}/token"}))
        return path

    def gateway_environment(self, folder: Path) -> dict[str, str]:
        """What the hub (so its gateway) needs to use this fake as its Vertex AI."""
        return {"CLAUDE_CODE_USE_VERTEX": "1", "ANTHROPIC_VERTEX_PROJECT_ID": self.project,
                "CLOUD_ML_REGION": self.region, "OMA_VERTEX_BASE_URL": self.base_url,
                "GOOGLE_APPLICATION_CREDENTIALS": str(self.credentials_file(folder)),
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}

    async def _token(self, request: web.Request) -> web.Response:
        import base64

        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        form = await request.post()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        header, claims, signature = (str(form.get("assertion", "")).split(".") + ["", "", ""])[:3]

        def decoded(part: str) -> bytes:
            return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

        try:
            self._public_key.verify(decoded(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
            payload = json.loads(decoded(claims))
        except (InvalidSignature, ValueError):
            return web.json_response({"error": "invalid_grant"}, status=400)
        if payload.get("iss") != ACCOUNT or "cloud-platform" not in payload.get("scope", ""):
            return web.json_response({"error": "invalid_scope"}, status=400)
        token = f"ya29.fake-{next(self._tokens)}"
        self.issued.append(token)
        return web.json_response({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    async def _predict(self, request: web.Request) -> web.StreamResponse:
        info = request.match_info
        if (info["project"], info["region"]) != (self.project, self.region):
            return web.json_response({"error": {"code": 404, "message": "no such project or region"}}, status=404)
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.issued:
            return web.json_response({"error": {"code": 401, "message": "bad access token"}}, status=401)
        body = await request.json()
        model, _, method = info["target"].partition(":")
        self.vertex_calls.append({"path": request.path, "model": model, "method": method,
                                  "anthropic_version": body.get("anthropic_version"), "has_model": "model" in body,
                                  "headers": {k.lower(): v for k, v in request.headers.items()}})
        if body.get("anthropic_version") != "vertex-2023-10-16" or "model" in body:
            return web.json_response({"error": {"code": 400, "message": "anthropic_version must be vertex-2023-10-16 "
                                                "and the model goes in the URL"}}, status=400)
        if method not in ("streamRawPredict", "rawPredict") or (method == "streamRawPredict") != bool(body.get("stream")):
            return web.json_response({"error": {"code": 400, "message": f"{method} does not fit this body"}}, status=400)
        self.requests.append(body)
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        self.paths.append(request.path_qs)
        reply = self._next_reply()
        if reply.status:
            return web.json_response({"type": "error", "error": {"type": "api_error", "message": "fake"}}, status=reply.status)
        if not body.get("stream"):
            return web.json_response(self._whole_message({**body, "model": model}, reply))
        return await self._stream(request, {**body, "model": model}, reply)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_post("/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{target}",
                            self._predict)
        app.router.add_route("*", "/{tail:.*}", self._anything_else)
        return app
