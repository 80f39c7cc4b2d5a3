"""Where a request goes and how it is dressed for it: Anthropic's Messages API or Vertex AI.

Claude Code always speaks Anthropic's Messages API to the gateway. For
Anthropic the request goes on as it came, with the platform's key instead of
the person's token. For Vertex AI it is translated the way Anthropic's own
Vertex client does: the model moves from the body into the URL
(``:streamRawPredict`` for a streamed answer, ``:rawPredict`` otherwise), the
body names ``anthropic_version: vertex-2023-10-16``, and the request carries
a Google access token. The answer has the same shape on both.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

VERTEX_VERSION = "vertex-2023-10-16"
GOOGLE_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
# Headers of the client's request the model sees unchanged (anthropic-version and anthropic-beta above all).
FORWARDED_REQUEST_HEADERS = ("anthropic-version", "anthropic-beta", "content-type", "accept", "user-agent")
FORWARDED_REQUEST_PREFIXES = ("x-stainless-",)
# Headers of the model's answer the client sees: retry-after and x-should-retry steer Claude Code's retries.
FORWARDED_RESPONSE_HEADERS = ("content-type", "request-id", "retry-after", "x-should-retry", "cache-control")
FORWARDED_RESPONSE_PREFIXES = ("anthropic-ratelimit-",)
_DATED = re.compile(r"^(?P<name>.+)-(?P<date>\d{8})$")


def forwarded(headers, names: tuple[str, ...], prefixes: tuple[str, ...]) -> dict[str, str]:
    return {name: value for name, value in headers.items()
            if name.lower() in names or name.lower().startswith(prefixes)}


@dataclass(frozen=True)
class Call:
    """One request to the model: where, with which headers and body."""

    url: str
    headers: dict[str, str]
    body: bytes


class Upstream(Protocol):
    label: str

    async def messages(self, body: dict[str, Any], raw: bytes, headers: dict[str, str], query: str) -> Call: ...

    async def count_tokens(self, body: dict[str, Any], raw: bytes, headers: dict[str, str], query: str) -> Call: ...


class AnthropicUpstream:
    """Anthropic's Messages API with the platform's key."""

    label = "anthropic"

    def __init__(self, base_url: str, api_key: str, auth_token: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self._credentials = {"x-api-key": api_key} if api_key else {"authorization": f"Bearer {auth_token}"}
        self.configured = bool(api_key or auth_token)

    def _call(self, path: str, raw: bytes, headers: dict[str, str], query: str) -> Call:
        return Call(f"{self.base_url}{path}{'?' + query if query else ''}", {**headers, **self._credentials}, raw)

    async def messages(self, body, raw, headers, query) -> Call:
        return self._call("/v1/messages", raw, headers, query)

    async def count_tokens(self, body, raw, headers, query) -> Call:
        return self._call("/v1/messages/count_tokens", raw, headers, query)


def vertex_model(model: str) -> str:
    """Vertex names a dated model with '@': claude-sonnet-4-5-20250929 is claude-sonnet-4-5@20250929 there."""
    found = _DATED.match(model)
    return f"{found['name']}@{found['date']}" if found and "@" not in model else model


class GoogleToken:
    """An access token from Google's Application Default Credentials (a service account's key file, a
    workstation's gcloud sign-in, or Workload Identity in the cluster), refreshed before it expires.

    google-auth refreshes with blocking HTTP, so it runs on a thread, one refresh at a time."""

    def __init__(self, credentials: Any = None) -> None:
        self._credentials = credentials
        self._lock = asyncio.Lock()

    def _load(self) -> Any:
        import google.auth

        credentials, _project = google.auth.default(scopes=list(GOOGLE_SCOPES))
        return credentials

    def _refresh(self) -> None:
        from google.auth.transport.requests import Request

        if self._credentials is None:
            self._credentials = self._load()
        self._credentials.refresh(Request())

    def _fresh(self) -> bool:
        credentials = self._credentials
        if credentials is None or not credentials.token:
            return False
        expiry = getattr(credentials, "expiry", None)  # naive UTC in google-auth
        if expiry is None:
            return True
        # google-auth keeps expiry as a naive datetime in UTC
        return (expiry - datetime.now(timezone.utc).replace(tzinfo=None)).total_seconds() > 300

    async def token(self) -> str:
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    await asyncio.to_thread(self._refresh)
        return self._credentials.token


class VertexUpstream:
    """Anthropic's models on Vertex AI, for one project and region."""

    label = "vertex"

    def __init__(self, project: str, region: str, base_url: str = "", token: GoogleToken | None = None) -> None:
        self.project = project
        self.region = region
        host = "https://aiplatform.googleapis.com" if region == "global" else f"https://{region}-aiplatform.googleapis.com"
        self.base_url = (base_url or host).rstrip("/")
        self.google = token or GoogleToken()
        self.configured = bool(project)

    def _url(self, model: str, method: str) -> str:
        return (f"{self.base_url}/v1/projects/{self.project}/locations/{self.region}"
                f"/publishers/anthropic/models/{model}:{method}")

    async def _headers(self, headers: dict[str, str]) -> dict[str, str]:
        return {**headers, "authorization": f"Bearer {await self.google.token()}"}

    async def messages(self, body, raw, headers, query) -> Call:
        translated = {key: value for key, value in body.items() if key != "model"}
        translated["anthropic_version"] = VERTEX_VERSION
        method = "streamRawPredict" if body.get("stream") else "rawPredict"
        return Call(self._url(vertex_model(str(body.get("model", ""))), method), await self._headers(headers),
                    json.dumps(translated).encode())

    async def count_tokens(self, body, raw, headers, query) -> Call:
        # Vertex counts tokens at a model of its own and keeps the model in the body.
        translated = {**body, "model": vertex_model(str(body.get("model", ""))), "anthropic_version": VERTEX_VERSION}
        return Call(self._url("count-tokens", "rawPredict"), await self._headers(headers), json.dumps(translated).encode())
