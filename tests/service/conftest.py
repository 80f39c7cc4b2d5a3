"""The agents service's web application, served in the test's event loop, with a real store and a
real JupyterHub checking its tokens (see real_hub.py).

Nothing of the hub side is stood in for: the service's HubOAuth, unchanged, asks the hub about every
token it has not seen (``GET /hub/api/user``), and the hub answers with the scopes the platform's
roles give (hub_config/platform.py); the service's own token changes the beta group in that hub.
So the tests here also prove who gets in and who is an admin. Only the browser's sign-in cookie
and its XSRF token need the hub's OAuth flow through the proxy: tests/hub/test_service_security.py.

``start_service`` is the one place the application is put together: tests get a running service
from it (or from ``service``) and never build one themselves.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jupyterhub.services.auth import HubOAuth
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from agents_extension.service.agent_fields import models_setting
from agents_extension.service.app import make_app
from agents_extension.service.beta import BetaDesk
from agents_extension.service.hub_api import HubAPI
from agents_extension.store import Store, open_store
from email_hook.templates import compose
from tests.service.client import Client
from tests.service.real_hub import ADMIN, BETA_GROUP, Person, RealHub

SERVICE = "/services/agents/"
SERVICE_NAME = "agents"


_session_hub: list[RealHub] = []  # the one hub of a test run, and how many fixture instances use it
_session_hub_users = [0]


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> RealHub:
    """The hub, and the service's HubAuth configured for it as the hub configures a service it starts
    (JUPYTERHUB_API_URL, JUPYTERHUB_API_TOKEN, JUPYTERHUB_SERVICE_NAME, ...).

    One per test run: tests/server/conftest.py imports this fixture, and pytest then keeps an instance
    per folder; both get this one hub (and the HubAuth singleton stays configured for it)."""
    if not _session_hub:
        _session_hub.append(RealHub(tmp_path_factory.mktemp("hub")))
        HubOAuth.clear_instance()
        HubOAuth.instance(api_url=_session_hub[0].api_url, api_token=_session_hub[0].service_token,
                          hub_prefix="/hub/", base_url=SERVICE, oauth_client_id=f"service-{SERVICE_NAME}",
                          access_scopes={f"access:services!service={SERVICE_NAME}"})
    _session_hub_users[0] += 1
    yield _session_hub[0]
    _session_hub_users[0] -= 1
    if not _session_hub_users[0]:
        HubOAuth.clear_instance()
        _session_hub.pop().stop()


class RunningService(Client):
    """A running agents service: call it, and read its store."""

    def __init__(self, base_url: str, store: Store, desk: BetaDesk) -> None:
        super().__init__(base_url)
        self.store = store
        self.desk = desk


@pytest.fixture
async def start_service(hub: RealHub, tmp_path: Path):
    """Start an agents service on a free port: ``await start_service(store_url=..., models="a, b")``
    (a SQLite store in tmp_path and the default models unless told; other make_app settings by name)."""
    running: list[tuple[HTTPServer, Store]] = []

    async def start(store_url: str | None = None, models: str | None = None, **settings) -> RunningService:
        store = open_store(store_url or f"sqlite:///{tmp_path / f'store-{len(running)}.sqlite'}")
        desk = BetaDesk(store=store, hub=HubAPI(hub.api_url, hub.service_token), group=BETA_GROUP,
                        hub_url="http://127.0.0.1:8000", admin_emails=[ADMIN], compose_email=compose)
        app = make_app(store, desk, SERVICE, smtp_configured=False, models=models_setting(models), **settings)
        sockets = bind_sockets(0, "127.0.0.1")
        server = HTTPServer(app)
        server.add_sockets(sockets)
        running.append((server, store))
        return RunningService(f"http://127.0.0.1:{sockets[0].getsockname()[1]}{SERVICE}", store, desk)

    yield start
    for server, store in running:
        server.stop()
        await server.close_all_connections()
        await store.close()


@pytest.fixture
async def service(start_service) -> RunningService:
    return await start_service()


@pytest.fixture
def admin(hub: RealHub) -> Person:
    return hub.admin()


@pytest.fixture
def person(hub: RealHub):
    """``person("alice")``: someone who signed in to the hub, with a personal token (see RealHub.person)."""
    return hub.person


@pytest.fixture
def approve(service: RunningService, admin: Person, person):
    """``await approve("alice")``: a fresh person who applied for the beta and whom the admin approved."""

    async def approved(name: str = "alice") -> Person:
        someone = person(name)
        applied = await service.call("POST", "api/beta/applications", token=someone.token,
                                     json={"name": name, "purpose": "Agents for my work"})
        assert applied.status_code == 201, applied.text
        decided = await service.call("POST", "api/beta/decisions", token=admin.token,
                                     json={"emails": [someone.email], "decision": "approve"})
        assert decided.status_code == 200, decided.text
        return someone

    return approved
