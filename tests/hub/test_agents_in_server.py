"""A person's own server under the real hub: what never enters it, and who may use it.

What the server's agents API, folders, kernelspecs, contents and dashboard do is tested at handler
level (tests/server/test_agents_in_server.py)."""

from __future__ import annotations

import psutil
import pytest

from tests.hub.conftest import ADMIN


@pytest.fixture(scope="module")
def people(hub):
    """Two approved people with running servers: (email, token) each."""
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    result = [hub.person_with_server(admin_token, name) for name in ("ada", "bo")]
    yield result
    for email, _ in result:
        hub.api(admin_token, "DELETE", f"/hub/api/users/{email}/server")


def test_one_cannot_use_someone_elses_server(hub, people):
    (ada, ada_token), (bo, bo_token) = people
    assert hub.api(ada_token, "GET", f"/user/{ada}/api/agents").status_code == 200
    assert hub.api(bo_token, "GET", f"/user/{ada}/api/agents").status_code in (403, 404)


def test_store_and_mail_credentials_never_enter_a_user_server(hub, people):
    email, _ = people[0]
    servers = [p for p in psutil.process_iter(["cmdline", "environ"])
               if "agents_extension.user_server" in " ".join(p.info["cmdline"] or [])]
    assert servers
    for server in servers:
        env = server.info["environ"] or {}
        leaked = [k for k in env if k.startswith(("OMA_STORE", "OMA_SMTP", "FIRESTORE", "GOOGLE_APPLICATION")) or k == "OMA_GOOGLE_CLIENT_SECRET"]
        assert leaked == []
        assert "OMA_AGENTS_SERVICE_URL" in env and "JUPYTERHUB_API_TOKEN" in env
