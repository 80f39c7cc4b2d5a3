"""A real hub (with its model gateway) in front of the fake model, people with servers, and Claude cells
run in their servers' kernels over JupyterLab's own websocket."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import psutil
import pytest
from jupyter_client.session import Session
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from tests.hub.conftest import ADMIN, Hub, start_hub  # noqa: F401 (fixtures)

CELL_SECONDS = 90


@dataclass
class Cell:
    status: str = ""
    texts: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return "".join(self.texts)

    @property
    def shown(self) -> str:
        """Everything the person sees in the cell, the error included."""
        error = f"{self.error.get('ename')}: {self.error.get('evalue')}" if self.error else ""
        return self.text + error


class NotebookKernel:
    """A kernel of a person's server, driven as JupyterLab does (one websocket per cell)."""

    def __init__(self, hub: Hub, token: str, name: str, kernel_name: str = "claude") -> None:
        self.hub, self.token, self.name = hub, token, name
        started = hub.api(token, "POST", f"/user/{name}/api/kernels", json={"name": kernel_name})
        assert started.status_code == 201, started.text
        self.id = started.json()["id"]
        self.session = Session(username=name)

    def run(self, code: str, timeout: float = CELL_SECONDS) -> Cell:
        return asyncio.run(asyncio.wait_for(self._run(code), timeout))

    async def _run(self, code: str) -> Cell:
        url = f"{self.hub.url.replace('http', 'ws')}/user/{self.name}/api/kernels/{self.id}/channels"
        socket = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {self.token}"}))
        message = self.session.msg("execute_request", {"code": code, "silent": False, "store_history": True,
                                                       "user_expressions": {}, "allow_stdin": False,
                                                       "stop_on_error": True})
        message["channel"] = "shell"
        msg_id = message["header"]["msg_id"]
        await socket.write_message(json.dumps(message, default=str))
        cell = Cell()
        idle = False
        try:
            while not (idle and cell.status):
                raw = await socket.read_message()
                if raw is None:
                    raise RuntimeError("the kernel's websocket closed")
                if isinstance(raw, bytes):
                    continue
                reply = json.loads(raw)
                if reply.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = reply["header"]["msg_type"], reply["content"]
                if kind == "stream":
                    cell.texts.append(content["text"])
                elif kind in ("display_data", "execute_result", "update_display_data"):
                    cell.texts.append(content.get("data", {}).get("text/plain", ""))
                elif kind == "error":
                    cell.error = content
                elif kind == "execute_reply":
                    cell.status = content["status"]
                elif kind == "status" and content["execution_state"] == "idle":
                    idle = True
        finally:
            socket.close()
        return cell

    def stop(self) -> None:
        self.hub.api(self.token, "DELETE", f"/user/{self.name}/api/kernels/{self.id}")


@pytest.fixture(scope="module")
def admin_token(hub: Hub) -> str:
    return hub.token_for(hub.sign_in(ADMIN))


def processes_named(hub: Hub, fragment: str) -> list[psutil.Process]:
    """This hub's processes (its services, user servers, kernels, Claude Codes) whose command line has ``fragment``."""
    found = []
    for process in psutil.Process(hub.process.pid).children(recursive=True):
        try:
            if fragment in " ".join(process.cmdline()):
                found.append(process)
        except psutil.NoSuchProcess:
            pass
    return found


def gateway_process(hub: Hub) -> psutil.Process:
    """The hub's model gateway (a child of the hub's process)."""
    found = []
    for process in psutil.Process(hub.process.pid).children():
        try:
            if process.status() != psutil.STATUS_ZOMBIE and "model_gateway" in " ".join(process.cmdline()):
                found.append(process)
        except psutil.Error:  # ended (or a zombie the hub has not reaped yet)
            pass
    assert len(found) == 1, found
    return found[0]


GATEWAY_SCOPE = "access:services!service=model-gateway"
# The hub's allow-list (OMA_MODELS) in these tests: what the tests name, and the model the bundled Claude Code
# asks for when a kernel names none (a newer CLI with another default is refused by name, and this is where
# to add it).
CLI_DEFAULT_MODEL = "claude-opus-5-5"
ALLOWED_MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5", CLI_DEFAULT_MODEL)
# How long the gateway of these tests keeps the month's budget figures (OMA_GATEWAY_BUDGET_CACHE_SECONDS):
# short, so a limit the tests set in the store counts by the time a new kernel has started.
BUDGET_CACHE_SECONDS = 1.0


@pytest.fixture(scope="package")
def gateway_hub(tmp_path_factory, fake_model):
    """One hub for this folder's modules (people of their own each), whose gateway trusts a token's
    answer for no time at all (so a revoked token is refused at once) and allows the models the CLI of
    these tests asks for."""
    hub = Hub(tmp_path_factory.mktemp("hub"), {**fake_model.client_environment(),
                                                "OMA_GATEWAY_TOKEN_CACHE_SECONDS": "0",
                                                "OMA_GATEWAY_AGENT_CACHE_SECONDS": "0",
                                                "OMA_GATEWAY_BUDGET_CACHE_SECONDS": str(BUDGET_CACHE_SECONDS),
                                                "OMA_MODELS": ",".join(ALLOWED_MODELS)})
    yield hub
    hub.stop()


@pytest.fixture(scope="package")
def hub(gateway_hub):
    """This folder's modules all use the gateway's hub."""
    return gateway_hub


def gateway_url(hub: Hub) -> str:
    return f"http://127.0.0.1:{hub.env['OMA_GATEWAY_PORT']}"


def gateway_token(hub: Hub, person_token: str, email: str, note: str = "test") -> str:
    """A token for the gateway only, as the hub gives a server (made here through the REST API)."""
    made = hub.api(person_token, "POST", f"/hub/api/users/{email}/tokens", json={"scopes": [GATEWAY_SCOPE], "note": note})
    assert made.status_code == 201, made.text
    return made.json()["token"]


def store_of(hub: Hub):
    from agents_extension.store import open_store

    return open_store(f"sqlite:///{hub.env['OMA_DATA_DIR']}/oh-my-agent.sqlite")


def month_spend(hub: Hub, email: str):
    """The person's month in the hub's store, read as the Usage page would."""
    from datetime import datetime, timezone

    async def read():
        store = store_of(hub)
        try:
            return await store.month_spend(email, datetime.now(timezone.utc).strftime("%Y-%m"))
        finally:
            await store.close()

    return asyncio.run(read())


def in_store(hub: Hub, work):
    """Run ``await work(store)`` on the hub's store."""
    async def run():
        store = store_of(hub)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())
