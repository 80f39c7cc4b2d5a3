"""Handlers of the user-server side: ``/api/agents`` and the ``/agents`` dashboard (the
extension that serves them, and its settings: extension.py)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import quote

from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from .dashboard_page import render_dashboard
from .dashboard_text import request_language
from .runs import run_routes
from .workspace import Workspace

log = logging.getLogger("oh-my-agent.agents")
HERE = Path(__file__).resolve().parent


class AgentsService:
    """Calls to the agents service, authenticated with this server's JupyterHub token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.token = token
        self.http = AsyncHTTPClient()

    async def call(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None):
        """Returns (status, headers, body bytes); network failures become a 502 for the person."""
        request = HTTPRequest(
            self.base_url + path, method=method, body=body if body is not None or method not in ("POST", "PUT", "PATCH") else b"",
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json", **(headers or {})},
            allow_nonstandard_methods=True, request_timeout=30, follow_redirects=False,
        )
        try:
            response = await self.http.fetch(request, raise_error=False)
        except OSError as err:
            log.error("Agents service unreachable at %s: %s", self.base_url, err)
            raise web.HTTPError(502, "The agents service cannot be reached; try again in a moment.") from err
        if response.code == 599:
            log.error("Agents service did not answer %s %s: %s", method, path, response.error)
            raise web.HTTPError(502, "The agents service did not answer; try again in a moment.")
        return response.code, response.headers, response.body or b""


class AgentsAPI(APIHandler):
    """``/api/agents[/<id>]``: the service's agents API, plus the folder and kernelspec upkeep."""

    @property
    def service(self) -> AgentsService:
        return self.settings["oma_agents_service"]

    @property
    def workspace(self) -> Workspace:
        return self.settings["oma_workspace"]

    service_path = "api/agents"

    async def _forward(self, agent_id: str | None, then: str = "") -> None:
        # The id as one path segment, whatever it holds (tornado has decoded %2F into "/").
        path = self.service_path + (f"/{quote(agent_id, safe='')}" if agent_id else "") + then
        if self.request.query:
            path += "?" + self.request.query
        headers = {"If-Match": self.request.headers["If-Match"]} if "If-Match" in self.request.headers else {}
        body = self.request.body if self.request.method in ("POST", "PUT", "PATCH") else None
        status, response_headers, payload = await self.service.call(self.request.method, path, body, headers)
        if status < 300 and self.request.method != "GET":
            self._keep_in_step(agent_id, payload)
        self.set_status(status)
        if "Location" in response_headers:
            self.set_header("Location", url_path_join(self.base_url, "api/agents", response_headers["Location"].rsplit("/", 1)[-1]))
        if payload:
            self.set_header("Content-Type", "application/json")
            self.finish(payload)
        else:
            self.finish()

    def _keep_in_step(self, agent_id: str | None, payload: bytes) -> None:
        try:
            if self.request.method == "DELETE" and agent_id:
                self.workspace.remove(agent_id)
            elif payload:
                self.workspace.sync(json.loads(payload))
        except (OSError, ValueError) as err:
            log.error("Agent %s saved, but its folder or kernel could not be updated: %s", agent_id or "(new)", err)
            raise web.HTTPError(500, f"The agent was saved, but its folder or kernel in your server could not be "
                                     f"updated ({err}). Fix what is named, then save the agent again or restart "
                                     "your server.") from err

    @web.authenticated
    async def get(self, agent_id: str | None = None) -> None:
        await self._forward(agent_id)

    @web.authenticated
    async def post(self, agent_id: str | None = None) -> None:
        if agent_id:
            raise web.HTTPError(405)
        await self._forward(None)

    @web.authenticated
    async def put(self, agent_id: str | None = None) -> None:
        await self._forward(self._require(agent_id))

    @web.authenticated
    async def patch(self, agent_id: str | None = None) -> None:
        await self._forward(self._require(agent_id))

    @web.authenticated
    async def delete(self, agent_id: str | None = None) -> None:
        await self._forward(self._require(agent_id))

    @staticmethod
    def _require(agent_id: str | None) -> str:
        if not agent_id:
            raise web.HTTPError(405, "Name an agent: /api/agents/<id>.")
        return agent_id


class AgentSessionsAPI(AgentsAPI):
    """``/api/agents/<id>/sessions``: the agent's Claude sessions, as the service lists them."""

    @web.authenticated
    async def get(self, agent_id: str) -> None:
        await self._forward(agent_id, "/sessions")

    async def post(self, agent_id: str) -> None:
        raise web.HTTPError(405)

    put = patch = delete = post


class AgentOptionsAPI(AgentsAPI):
    """``/api/agent-options``: the models and limits the service accepts, for the dashboard's form."""

    service_path = "api/agent-options"

    @web.authenticated
    async def get(self) -> None:
        await self._forward(None)


class Dashboard(JupyterHandler):
    """The agents dashboard: agents, their statistics, create / edit / delete, open a notebook
    (the page itself: dashboard_page.py)."""

    @web.authenticated
    async def get(self) -> None:
        service: AgentsService = self.settings["oma_agents_service"]
        agents, models = None, []
        try:
            status, _, body = await service.call("GET", "api/agents")
            if status == 200:
                agents = json.loads(body)
            status, _, body = await service.call("GET", "api/agent-options")
            if status == 200:
                models = json.loads(body)["models"]
        except web.HTTPError:  # the service is unreachable (already logged): the page says so
            pass
        language = request_language(self)
        page = render_dashboard(
            self.settings["oma_templates"], language=language, agents=agents, models=models,
            saved=self.get_query_argument("saved", None), deleted=self.get_query_argument("deleted", None),
            base_url=self.base_url, xsrf_token=self.xsrf_token.decode(), hub_home=self.settings["oma_hub_home"],
        )
        self.set_header("Content-Language", language)
        self.finish(page)


async def reconcile_at_start(service: AgentsService, workspace: Workspace) -> None:
    """Agents made elsewhere (another server, the API) get their folders when the server starts."""
    try:
        status, _, body = await service.call("GET", "api/agents")
        if status == 200:
            workspace.reconcile(json.loads(body))
        else:
            log.warning("Could not list agents at start (HTTP %s)", status)
    except Exception:
        log.warning("Could not bring agent folders in step at start", exc_info=True)


def routes() -> list[tuple[str, type]]:
    """The extension's handlers, by URL path under the server's base URL (see extension.py)."""
    from . import gallery  # here: gallery builds on this module's AgentsService
    return [
        (r"api/agents/?", AgentsAPI),
        (r"api/agents/([^/]+)", AgentsAPI),
        (r"api/agents/([^/]+)/sessions", AgentSessionsAPI),
        (r"api/agent-options", AgentOptionsAPI),
        (r"agents/?", Dashboard),
        (r"api/usage/me", _usage_api()),
        *run_routes(),  # recipe runs: the Run form, the runs page and their API (runs.py)
        *gallery.routes(),  # the recipe gallery: share a notebook, use a recipe
    ]


def _usage_api() -> type:
    from .usage import MyUsageAPI  # usage.py builds on this module's AgentsAPI

    return MyUsageAPI
