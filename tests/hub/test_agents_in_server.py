"""Agents from a person's own server: the forwarded API, folders and kernelspecs, and what never enters it."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

from tests.hub.conftest import ADMIN, Hub


@pytest.fixture(scope="module")
def people(hub):
    """Two approved people with running servers: (email, token) each."""
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    result = [hub.person_with_server(admin_token, name) for name in ("ada", "bo")]
    yield result
    for email, _ in result:
        hub.api(admin_token, "DELETE", f"/hub/api/users/{email}/server")


def home(hub: Hub, email: str) -> Path:
    return Path(hub.env["OMA_USERS_DIR"]) / email


def test_creating_an_agent_in_ones_server_makes_its_folder_and_kernelspec(hub, people):
    email, token = people[0]
    created = hub.api(token, "POST", f"/user/{email}/api/agents",
                      json={"name": "Researcher", "instructions": "Cite sources.", "allowed_tools": ["Write"]})
    assert created.status_code == 201, created.text
    agent = created.json()
    assert created.headers["Location"] == f"/user/{email}/api/agents/{agent['id']}"
    folder = home(hub, email) / "agents" / agent["slug"]
    settings = json.loads((folder / "agent.json").read_text())
    assert settings["id"] == agent["id"] and settings["allowed_tools"] == ["Write"]
    assert (folder / "CLAUDE.md").read_text() == "Cite sources.\n"
    specs = hub.api(token, "GET", f"/user/{email}/api/kernelspecs").json()["kernelspecs"]
    spec = specs[f"claude-{agent['slug']}"]["spec"]
    assert spec["display_name"] == "Claude · Researcher" and spec["env"]["CLAUDE_AGENT_DIR"] == str(folder)
    listed = hub.api(token, "GET", f"/user/{email}/api/agents").json()
    assert [a["id"] for a in listed] == [agent["id"]]


def test_rename_and_delete_keep_folders_and_kernelspecs_in_step(hub, people):
    email, token = people[0]
    agent = hub.api(token, "POST", f"/user/{email}/api/agents", json={"name": "Scout"}).json()
    (home(hub, email) / "agents" / agent["slug"] / "notes.md").write_text("findings")
    renamed = hub.api(token, "PATCH", f"/user/{email}/api/agents/{agent['id']}", json={"name": "Trend scout"})
    assert renamed.status_code == 200, renamed.text
    new_slug = renamed.json()["slug"]
    assert (home(hub, email) / "agents" / new_slug / "notes.md").read_text() == "findings"
    specs = hub.api(token, "GET", f"/user/{email}/api/kernelspecs").json()["kernelspecs"]
    assert f"claude-{new_slug}" in specs and f"claude-{agent['slug']}" not in specs
    assert hub.api(token, "DELETE", f"/user/{email}/api/agents/{agent['id']}").status_code == 204
    assert f"claude-{new_slug}" not in hub.api(token, "GET", f"/user/{email}/api/kernelspecs").json()["kernelspecs"]
    trashed = list((home(hub, email) / "agents" / ".trash").glob(f"{new_slug}-*"))
    assert len(trashed) == 1 and (trashed[0] / "notes.md").read_text() == "findings"


def test_bad_input_is_refused_through_the_server_and_nothing_is_written(hub, people):
    email, token = people[0]
    before = sorted(p.name for p in (home(hub, email) / "agents").iterdir()) if (home(hub, email) / "agents").exists() else []
    response = hub.api(token, "POST", f"/user/{email}/api/agents", json={"name": "", "max_turns": 0})
    assert response.status_code == 400 and response.json()["field"] in ("name", "max_turns")
    after = sorted(p.name for p in (home(hub, email) / "agents").iterdir()) if (home(hub, email) / "agents").exists() else []
    assert before == after


def test_another_persons_agent_is_not_found_from_ones_own_server(hub, people):
    (ada, ada_token), (bo, bo_token) = people
    agent = hub.api(ada_token, "POST", f"/user/{ada}/api/agents", json={"name": "Private one"}).json()
    for method in ("GET", "PATCH", "DELETE"):
        response = hub.api(bo_token, method, f"/user/{bo}/api/agents/{agent['id']}", json={"name": "mine now"} if method == "PATCH" else None)
        assert response.status_code == 404
        assert "Private one" not in response.text and ada not in response.text
    assert hub.api(ada_token, "GET", f"/user/{ada}/api/agents/{agent['id']}").json()["name"] == "Private one"
    # and one cannot use someone else's server at all
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


def test_the_dashboard_and_its_form_options_are_served_by_ones_server(hub, people):
    email, token = people[0]
    options = hub.api(token, "GET", f"/user/{email}/api/agent-options")
    assert options.status_code == 200 and "claude-sonnet-4-5" in options.json()["models"]
    page = hub.api(token, "GET", f"/user/{email}/agents", headers={"Accept-Language": "ko-KR"})
    assert page.status_code == 200 and "내 에이전트" in page.text and page.headers["Content-Language"] == "ko"
