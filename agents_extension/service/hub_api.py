"""The service's calls to JupyterHub's REST API, in one small wrapper."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from oma_contract import scopes

log = logging.getLogger("oh-my-agent.service")

ADMIN_SCOPE = scopes.ADMIN_SCOPE  # what makes a credential an admin's here (see oma_contract/scopes.py)


class HubError(RuntimeError):
    """The hub refused or failed a call; the message names what was attempted."""


class HubAPI:
    def __init__(self, api_url: str, token: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.http = AsyncHTTPClient()

    async def _call(self, label: str, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        request = HTTPRequest(
            f"{self.api_url}{path}", method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
            body=json.dumps(body) if body is not None else (b"" if method in ("POST", "PUT", "PATCH") else None),
            allow_nonstandard_methods=True, request_timeout=20,
        )
        try:
            response = await self.http.fetch(request)
        except HTTPClientError as err:
            if err.code in ok:
                return None
            detail = err.response.body.decode(errors="replace")[:300] if err.response is not None else str(err)
            log.error("Hub API %s failed: HTTP %s %s", label, err.code, detail)
            raise HubError(f"JupyterHub refused to {label} (HTTP {err.code}).") from err
        except OSError as err:
            log.error("Hub API %s failed: %s", label, err)
            raise HubError(f"JupyterHub could not be reached to {label}.") from err
        return json.loads(response.body) if response.body else None

    async def group_members(self, group: str) -> set[str]:
        model = await self._call(f"read group {group}", "GET", f"/groups/{quote(group)}")
        return set(model.get("users", []))

    async def add_to_group(self, group: str, names: list[str]) -> None:
        await self._call(f"add {len(names)} people to {group}", "POST", f"/groups/{quote(group)}/users", {"users": names})

    async def remove_from_group(self, group: str, names: list[str]) -> None:
        await self._call(f"remove {len(names)} people from {group}", "DELETE", f"/groups/{quote(group)}/users", {"users": names})

    async def stop_server(self, name: str) -> None:
        """Stop the person's server, if one is running or starting (named servers are not enabled
        on this platform); nothing happens when there is none."""
        await self._call(f"stop the server of {name}", "DELETE", f"/users/{quote(name)}/server", ok=(404,))
