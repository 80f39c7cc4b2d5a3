"""Sign-in: the real GoogleOAuthenticator against a local Google, and the dev login's limits."""

from __future__ import annotations

import pytest
import requests
from traitlets.config import Config

from hub_config.platform import configure
from hub_config.settings import Settings
from tests.hub.conftest import GOOGLE_ADMIN, GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET, google_settings

def start_google_hub(start_hub, google, **extra):
    """A Google hub of a test's own, for settings the shared one (``google_hub``) does not have."""
    return start_hub(**google_settings(google), **extra)


def sign_in_with_google(hub) -> requests.Session:
    browser = requests.Session()
    response = browser.get(f"{hub.url}/hub/oauth_login?next=/hub/home", timeout=30)
    assert response.status_code == 200, response.text[:500]
    return browser, response


def test_google_sign_in_does_the_whole_redirect_dance_and_names_people_by_lowercased_email(google_hub, google):
    hub = google_hub
    google.calls.clear()  # the fake is shared: what this test asks of it only
    google.sign_in_as("Min.Ji@Example.ORG", name="Min Ji", hd="example.org")
    browser, home = sign_in_with_google(hub)
    assert google.calls == ["authorize", "token", "userinfo"]
    assert home.url == f"{hub.url}/hub/home"
    assert 'id="apply-for-beta"' in home.text  # any Google account may sign in, to apply
    who = browser.get(f"{hub.url}/hub/api/user", headers={"X-XSRFToken": browser.cookies.get("_xsrf", path="/hub/")}, timeout=10)
    assert who.json()["name"] == "min.ji@example.org"


def test_google_login_page_offers_google(google_hub):
    hub = google_hub
    page = requests.get(f"{hub.url}/hub/login", timeout=10)
    assert "Sign in with Google" in page.text


def test_hosted_domains_keep_other_accounts_out(start_hub, google):
    hub = start_google_hub(start_hub, google, OMA_GOOGLE_HOSTED_DOMAINS="example.org")
    google.sign_in_as("someone@gmail.com")
    response = requests.Session().get(f"{hub.url}/hub/oauth_login", timeout=30)
    assert response.status_code == 403
    google.sign_in_as("staff@example.org", hd="example.org")
    _, home = sign_in_with_google(hub)
    assert 'id="apply-for-beta"' in home.text


def test_admins_named_by_email_are_admins_whatever_the_case(google_hub, google):
    hub = google_hub  # its admin is GOOGLE_ADMIN
    assert GOOGLE_ADMIN == "Boss@Example.org"
    google.sign_in_as("BOSS@example.org", hd="example.org")
    browser, home = sign_in_with_google(hub)
    assert "beta-applications-link" in home.text


def test_dev_login_refuses_to_listen_beyond_loopback(monkeypatch, tmp_path):
    monkeypatch.setenv("OMA_HUB_IP", "0.0.0.0")
    monkeypatch.setenv("OMA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OMA_USERS_DIR", str(tmp_path / "users"))
    for name in ("OMA_GOOGLE_CLIENT_ID", "OMA_GOOGLE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit, match="only listens on 127.0.0.1"):
        configure(Config(), Settings())


def test_google_mode_may_listen_everywhere(monkeypatch, tmp_path):
    monkeypatch.setenv("OMA_HUB_IP", "0.0.0.0")
    monkeypatch.setenv("OMA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OMA_USERS_DIR", str(tmp_path / "users"))
    monkeypatch.setenv("OMA_GOOGLE_CLIENT_ID", GOOGLE_CLIENT_ID)
    monkeypatch.setenv("OMA_GOOGLE_CLIENT_SECRET", GOOGLE_CLIENT_SECRET)
    c = Config()
    configure(c, Settings())
    assert c.JupyterHub.authenticator_class == "google"
    assert c.JupyterHub.ip == "0.0.0.0"


def test_dev_login_takes_only_email_addresses(hub):
    from tests.hub.conftest import Browser

    browser = Browser(hub, "en")
    browser.get("/hub/login")
    response = browser.post("/hub/login", data={"username": "not-an-email", "password": ""}, xsrf_path="/hub/")
    assert "Invalid username or password" in response.text or response.status_code == 403


def test_store_and_mail_secrets_never_reach_user_servers(monkeypatch, tmp_path):
    monkeypatch.setenv("OMA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OMA_USERS_DIR", str(tmp_path / "users"))
    monkeypatch.setenv("OMA_SMTP_PASSWORD", "smtp-secret")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-platform-key")
    c = Config()
    configure(c, Settings())
    assert not any(name.startswith(("OMA_", "FIRESTORE", "GOOGLE_APPLICATION")) for name in c.Spawner.env_keep)
    # The model's key goes to the model gateway only; a server gets the gateway's address and a token of its own.
    assert not {"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"} & set(c.Spawner.env_keep)
    gateway = next(service for service in c.JupyterHub.services if service["name"] == "model-gateway")
    assert gateway["environment"]["ANTHROPIC_API_KEY"] == "sk-ant-platform-key"
    assert {"CLAUDE_KERNEL_NETWORK", "CLAUDE_KERNEL_NETWORK_ALLOW"} <= set(c.Spawner.env_keep)  # an admin's allow-list
    service_env = c.JupyterHub.services[0]["environment"]
    assert service_env["OMA_SMTP_PASSWORD"] == "smtp-secret" and "ANTHROPIC_API_KEY" not in service_env
