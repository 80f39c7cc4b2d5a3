"""The user-server extension's settings: an ExtensionApp whose traits read the hub's variables."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from agents_extension.server import AgentsExtension, _jupyter_server_extension_points


@pytest.fixture(autouse=True)
def no_hub_variables(monkeypatch):
    for name in ("OMA_AGENTS_SERVICE_URL", "JUPYTERHUB_API_TOKEN", "JUPYTERHUB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_the_extension_point_is_the_extension_app():
    assert _jupyter_server_extension_points() == [{"module": "agents_extension.server", "app": AgentsExtension}]


def test_outside_the_hub_agents_are_not_available():
    extension = AgentsExtension()
    assert (extension.service_url, extension.hub_api_token, extension.hub_prefix) == ("", "", "/")
    assert not extension.under_the_hub


def test_the_hubs_variables_are_its_defaults_and_config_wins(monkeypatch):
    monkeypatch.setenv("OMA_AGENTS_SERVICE_URL", "http://127.0.0.1:10101/services/agents/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "server-token")
    monkeypatch.setenv("JUPYTERHUB_BASE_URL", "/prefix/")
    extension = AgentsExtension()
    assert extension.under_the_hub
    assert (extension.service_url, extension.hub_prefix) == ("http://127.0.0.1:10101/services/agents/", "/prefix/")
    c = Config()
    c.AgentsExtension.service_url = "http://agents.team.svc:10101/services/agents/"
    assert AgentsExtension(config=c).service_url == "http://agents.team.svc:10101/services/agents/"
