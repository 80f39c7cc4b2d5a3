"""The hub's settings: traits read from OMA_* variables, turned into JupyterHub's configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from hub_config.platform import configure
from hub_config.settings import PROJECT_DIR, Settings
from oma_contract.environment import SettingInvalid


@pytest.fixture(autouse=True)
def no_platform_variables(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("OMA_"):
            monkeypatch.delenv(name)


def test_with_no_variable_set_the_platform_runs_on_this_machine():
    s = Settings()
    assert (s.hub_ip, s.hub_port, s.hub_internal_port, s.proxy_api_port, s.service_port) == (
        "127.0.0.1", 8000, 8081, 8001, 10101)
    assert s.data_dir == PROJECT_DIR / ".run" / "hub"
    assert s.hub_url == "http://127.0.0.1:8000"
    assert s.store == f"sqlite:///{PROJECT_DIR / '.run' / 'hub' / 'oh-my-agent.sqlite'}"
    assert (s.spawner, s.beta_group, s.admin_emails) == ("local", "beta", [])


def test_two_platforms_on_one_machine_differ_only_by_their_settings(tmp_path, monkeypatch):
    """Every port the hub and its proxy listen on comes from the settings: no command-line flags."""
    configs = []
    for n, ports in enumerate([(9000, 9081, 9001, 9101), (9200, 9281, 9201, 9301)]):
        public, internal, proxy_api, service = ports
        monkeypatch.setenv("OMA_HUB_PORT", str(public))
        monkeypatch.setenv("OMA_HUB_INTERNAL_PORT", str(internal))
        monkeypatch.setenv("OMA_PROXY_API_PORT", str(proxy_api))
        monkeypatch.setenv("OMA_SERVICE_PORT", str(service))
        monkeypatch.setenv("OMA_DATA_DIR", str(tmp_path / f"hub{n}"))
        monkeypatch.setenv("OMA_USERS_DIR", str(tmp_path / f"users{n}"))
        c = Config()
        configure(c)
        configs.append(c)
        assert c.JupyterHub.port == public
        assert c.JupyterHub.hub_port == internal
        assert c.ConfigurableHTTPProxy.api_url == f"http://127.0.0.1:{proxy_api}"
        assert c.JupyterHub.services[0]["url"] == f"http://127.0.0.1:{service}"
        assert c.ConfigurableHTTPProxy.pid_file == str(tmp_path / f"hub{n}" / "proxy.pid")
    first, second = configs
    assert first.JupyterHub.db_url != second.JupyterHub.db_url


def test_variables_are_read_as_their_traits_type(monkeypatch, tmp_path):
    monkeypatch.setenv("OMA_ADMIN_EMAILS", " Admin@Example.org, ,boss@example.org ")
    monkeypatch.setenv("OMA_GOOGLE_HOSTED_DOMAINS", "Example.ORG")
    monkeypatch.setenv("OMA_DATA_DIR", str(tmp_path / "a" / ".." / "hub"))
    monkeypatch.setenv("OMA_SPAWNER", "Kubernetes")
    s = Settings()
    assert s.admin_emails == ["admin@example.org", "boss@example.org"]
    assert s.google_hosted_domains == ["example.org"]
    assert s.data_dir == tmp_path / "hub"
    assert s.spawner == "kubernetes"


@pytest.mark.parametrize(("variable", "value"), [
    ("OMA_HUB_PORT", "eighty"),
    ("OMA_HUB_INTERNAL_PORT", "80 81"),
    ("OMA_SPAWNER", "docker"),
])
def test_a_value_its_setting_cannot_take_names_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingInvalid, match=f"^{variable} cannot be '{value}'"):
        configure(Config(), Settings())


def test_traitlets_config_wins_over_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("OMA_HUB_INTERNAL_PORT", "9999")
    c = Config()
    c.Settings.hub_internal_port = 7081
    c.Settings.data_dir, c.Settings.users_dir = str(tmp_path / "hub"), str(tmp_path / "users")
    assert Settings(config=c).hub_internal_port == 7081
    assert Settings(data_dir=Path("/tmp/x")).data_dir == Path("/tmp/x")
    configure(c)
    assert c.JupyterHub.hub_port == 7081
