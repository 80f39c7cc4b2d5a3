"""Runs of a gallery recipe, counted in the gallery: whoever starts one, the counter goes up by one.

A notebook copied from the gallery says which recipe and version it came from
(``metadata.oh_my_agent.gallery``, written by the import: agents_extension/server/gallery.py);
a run of it, from the Run form, the gallery's Run button, ``oh-my-agent run`` or papermill's
``--engine oh-my-agent`` (papermill's default engine cannot be told),
asks the agents service to count it, as the person (the server's own JupyterHub
token). Counting is bookkeeping: it never holds up or fails the run. A service
that cannot be reached, or refuses (the recipe was removed), is logged and the
run goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from typing import Any, Awaitable, Callable, Mapping

from oma_contract.recipe import RECIPE_KEY

log = logging.getLogger("oh-my-agent.recipes")
RECIPE_ID = re.compile(r"[0-9a-f]{32}")
# (method, path) -> (status, headers, body): agents_extension.server.app.AgentsService.call
ServiceCall = Callable[..., Awaitable[tuple[int, Any, bytes]]]


def gallery_origin(metadata: Mapping[str, Any]) -> tuple[str, int | None] | None:
    """(recipe id, version) of the gallery recipe a notebook was copied from, or None."""
    recipe = metadata.get(RECIPE_KEY)
    gallery = recipe.get("gallery") if isinstance(recipe, Mapping) else None
    if not isinstance(gallery, Mapping) or not isinstance(gallery.get("recipe"), str):
        return None
    if not RECIPE_ID.fullmatch(gallery["recipe"]):
        return None
    version = gallery.get("version")
    return gallery["recipe"], version if isinstance(version, int) and not isinstance(version, bool) else None


async def count_run(call: ServiceCall, metadata: Mapping[str, Any]) -> dict[str, Any] | None:
    """Count a run of the notebook whose ``metadata`` this is, if it came from the gallery.
    Returns the recipe as the service now has it, or None (not from the gallery, or not counted)."""
    origin = gallery_origin(metadata)
    if origin is None:
        return None
    recipe_id, version = origin
    try:
        status, _, body = await call("POST", f"api/recipes/{recipe_id}/runs")
    except Exception as err:  # unreachable, timed out, refused: the run goes on regardless
        log.warning("The run of recipe %s (version %s) was not counted: %s", recipe_id, version, err)
        return None
    if status >= 300:
        log.warning("The run of recipe %s (version %s) was not counted: the agents service answered %s %s",
                    recipe_id, version, status, body[:200].decode("utf-8", "replace"))
        return None
    log.info("Run of recipe %s (version %s) counted", recipe_id, version)
    try:
        return json.loads(body)
    except ValueError:
        return None


def service_from_environment() -> ServiceCall | None:
    """The agents service as a person's server reaches it (its URL and the server's JupyterHub token,
    in the environment the hub gave the server and so its terminals), for ``oh-my-agent run``."""
    url, token = os.environ.get("OMA_AGENTS_SERVICE_URL", ""), os.environ.get("JUPYTERHUB_API_TOKEN", "")
    if not url or not token:
        return None
    base = url.rstrip("/") + "/"

    async def call(method: str, path: str) -> tuple[int, Any, bytes]:
        # The one request a run makes of the service (the user-server extension has its own client:
        # recipes may not import it, see the layers in pyproject.toml).
        from tornado.httpclient import AsyncHTTPClient, HTTPRequest

        response = await AsyncHTTPClient().fetch(HTTPRequest(
            base + path, method=method, body=b"" if method in ("POST", "PUT", "PATCH") else None,
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
            request_timeout=30, follow_redirects=False), raise_error=False)
        if response.code == 599:  # no answer: count_run logs it and the run goes on
            raise OSError(f"the agents service did not answer: {response.error}")
        return response.code, response.headers, response.body or b""

    return call


def count_finished_run(metadata: Mapping[str, Any]) -> None:
    """Count a run from code that has no event loop of its own (papermill's engine), as the person."""

    async def count() -> None:
        service = service_from_environment()
        if service is not None:
            await count_run(service, metadata)

    if gallery_origin(metadata) is not None:
        asyncio.run(count())
