"""A person's Jupyter server with the agents extension, as pytest-jupyter serves it (``jp_serverapp``,
``jp_fetch``), forwarding to a real agents service in the same event loop (tests/service/conftest.py).

``jp_server_config`` here is the one place the server is configured the way the hub's spawner
configures it (hub_config/platform.py): the extension, the agents' contents manager, the service's
URL and the server's own JupyterHub token in its environment.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import signal
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

# pytest-jupyter's fixtures, for this folder only: its plugin, enabled for the whole suite, would run
# every coroutine test on a loop of its own. Its two hooks are left out so that pytest-asyncio runs
# these tests too, and ``jp_asyncio_loop`` below makes the server share the test's loop.
from pytest_jupyter.jupyter_server import *  # noqa: F403
from tests.service.client import Answer
from tests.service.conftest import SERVICE_NAME
from tests.service.conftest import admin, approve, hub, person, service, start_service  # noqa: F401 (fixtures)
from tests.service.real_hub import Person, RealHub

del pytest_pycollect_makeitem, pytest_pyfunc_call  # noqa: F821 (imported above)

# What the hub's "server" role lets a user server's token do, less the server it is bound to (a token
# made here belongs to no server): the platform's service, for its owner (hub_config/platform.py).
SERVER_TOKEN_SCOPES = ["users:activity!user", f"access:services!service={SERVICE_NAME}"]


@pytest.fixture
async def jp_asyncio_loop():
    """Overrides pytest-jupyter's: the loop pytest-asyncio runs the test on, where the service runs too."""
    return asyncio.get_running_loop()


@pytest.fixture
async def owner(approve) -> Person:
    """The person whose server it is: approved for the beta."""
    return await approve("ada")


@pytest.fixture
def jp_server_config(service, owner: Person, hub: RealHub, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("OMA_AGENTS_SERVICE_URL", service.base_url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", hub.token_for(owner.email, scopes=SERVER_TOKEN_SCOPES))
    sigint = signal.getsignal(signal.SIGINT)  # the extension makes SIGINT stop the server, as under the hub
    yield Config({"ServerApp": {
        "jpserver_extensions": {"agents_extension.server": True},
        "contents_manager_class": "agents_extension.server.contents.AgentFilesManager",
    }})
    signal.signal(signal.SIGINT, sigint)


class UserServer:
    """Calls to the server as its owner's browser makes them (jp_fetch, with the server's token)."""

    def __init__(self, fetch, root: Path, data_dir: Path, base_url: str, owner: Person) -> None:
        self._fetch = fetch
        self.agents = root / "agents"  # where the agents' folders are
        self.data_dir = data_dir  # the owner's Jupyter data folder: kernelspecs and agent settings
        self.base_url = base_url
        self.owner = owner

    async def call(self, method: str, path: str, *, json: Any = None, body: bytes | None = None,
                   headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> Answer:
        """``json`` is sent as JSON; ``body`` as it is (for bodies no JSON encoder writes)."""
        if body is None:
            body = jsonlib.dumps(json).encode() if json is not None else (b"" if method in ("POST", "PUT", "PATCH") else None)
        response = await self._fetch(*path.split("/"), method=method, body=body, headers=headers, params=params,
                                     raise_error=False, allow_nonstandard_methods=True)
        return Answer(response.code, response.headers, response.body or b"")


@pytest.fixture
def user_server(jp_fetch, jp_root_dir: Path, jp_data_dir: Path, jp_base_url: str, owner: Person) -> UserServer:
    return UserServer(jp_fetch, jp_root_dir, jp_data_dir, jp_base_url, owner)
