"""The agents service's settings: a traitlets Application whose e-mail component reads its config."""

from __future__ import annotations

import subprocess
import sys

import pytest
from traitlets.config import Config

from agents_extension.service.app import AgentsServiceApp
from agents_extension.store import open_store


@pytest.fixture(autouse=True)
def no_service_variables(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith(("OMA_", "JUPYTERHUB_")):
            monkeypatch.delenv(name)


def test_help_all_lists_every_setting_with_its_variable_and_default():
    shown = subprocess.run([sys.executable, "-m", "agents_extension.service", "--help-all"],
                           capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"}).stdout
    for option, variable, default in [
        ("--AgentsServiceApp.store_url", "OMA_STORE_URL", "''"),
        ("--AgentsServiceApp.group_sync_seconds", "OMA_GROUP_SYNC_SECONDS", "5.0"),
        ("--OutboxSender.interval", "OMA_MAIL_INTERVAL_SECONDS", "10.0"),
        ("--OutboxSender.smtp_port", "OMA_SMTP_PORT", "587"),
    ]:
        entry = shown.split(option + "=", 1)[1].split("\n--", 1)[0]
        assert f"Default: {default}\n" in entry + "\n"
        assert f"Environment variable: {variable}" in entry


def test_the_email_component_reads_the_services_config_over_its_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("OMA_MAIL_INTERVAL_SECONDS", "2")
    monkeypatch.setenv("OMA_SMTP_HOST", "smtp.example.org")
    c = Config()
    c.OutboxSender.interval = 7.5
    service = AgentsServiceApp(config=c)
    mailer = service.mailer_class(parent=service, store=open_store(f"sqlite:///{tmp_path / 's.db'}"))
    assert (mailer.interval, mailer.smtp_host) == (7.5, "smtp.example.org")
    assert AgentsServiceApp().mailer_class(store=None).interval == 2.0


def test_one_default_for_the_mail_interval(monkeypatch):
    """OutboxSender.interval is OMA_MAIL_INTERVAL_SECONDS's default, not one of its own."""
    from email_hook.sender import OutboxSender

    assert OutboxSender(store=None).interval == 10.0
    monkeypatch.setenv("OMA_MAIL_INTERVAL_SECONDS", "0.5")
    assert OutboxSender(store=None).interval == 0.5


@pytest.mark.parametrize(("variable", "value"), [("OMA_GROUP_SYNC_SECONDS", "often"), ("OMA_ADMIN_MAIL_LANGUAGE", "fr")])
def test_a_bad_variable_stops_the_service_naming_it(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    done = subprocess.run([sys.executable, "-m", "agents_extension.service"], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", variable: value, "OMA_STORE_URL": "sqlite:////nonexistent/x.db",
                               "JUPYTERHUB_API_URL": "http://127.0.0.1:1/hub/api", "JUPYTERHUB_API_TOKEN": "t",
                               "OMA_PUBLIC_URL": "http://127.0.0.1:8000", "OMA_BETA_GROUP": "beta",
                               "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:1", "JUPYTERHUB_SERVICE_PREFIX": "/services/agents/"},
                          timeout=60)
    assert done.returncode != 0
    assert f"{variable} cannot be '{value}'" in done.stderr


def test_without_what_the_hub_passes_the_service_says_which_variable_to_set():
    """The store, the hub's API and address and the beta group are the hub's settings: no default here."""
    env = {"PATH": "/usr/bin:/bin", "OMA_STORE_URL": "sqlite:////nonexistent/x.db", "JUPYTERHUB_API_URL": "http://h/hub/api",
           "JUPYTERHUB_API_TOKEN": "t", "OMA_PUBLIC_URL": "http://127.0.0.1:8000", "OMA_BETA_GROUP": "beta",
           "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:1", "JUPYTERHUB_SERVICE_PREFIX": "/services/agents/"}
    # Each without one of them, all four started at once (each start imports the whole service).
    started = {variable: subprocess.Popen([sys.executable, "-m", "agents_extension.service"], stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True,
                                          env={k: v for k, v in env.items() if k != variable})
               for variable in ("OMA_STORE_URL", "OMA_PUBLIC_URL", "OMA_BETA_GROUP", "JUPYTERHUB_SERVICE_URL")}
    for variable, process in started.items():
        _, stderr = process.communicate(timeout=60)
        assert process.returncode != 0
        assert f"set {variable} (the hub sets it" in stderr
