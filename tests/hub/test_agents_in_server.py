"""Agents from a person's own server: the forwarded API, folders and kernelspecs, and what never enters it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psutil
import pytest

from oma_contract import AGENT_LIMITS, AgentStatus, PermissionMode
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
    assert sorted(p.name for p in folder.iterdir()) == ["CLAUDE.md"]
    assert (folder / "CLAUDE.md").read_text() == "Cite sources.\n"
    specs = hub.api(token, "GET", f"/user/{email}/api/kernelspecs").json()["kernelspecs"]
    spec = specs[f"claude-{agent['slug']}"]["spec"]
    assert spec["display_name"] == "Claude · Researcher" and spec["env"]["CLAUDE_AGENT_DIR"] == str(folder)
    settings_path = Path(spec["env"]["CLAUDE_AGENT_SETTINGS"])  # what the kernel obeys: outside every agent folder
    assert settings_path == home(hub, email) / ".local" / "share" / "jupyter" / "oh-my-agent" / "agents" / f"{agent['id']}.json"
    settings = json.loads(settings_path.read_text())
    assert settings["id"] == agent["id"] and settings["allowed_tools"] == ["Write"]
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


def test_what_an_agent_leaves_in_its_folder_does_not_steer_the_owners_edits_and_deletes(hub, people):
    """The links and the claimed id an agent's Bash leaves (tests/test_agent_workspace.py plants them from a
    real sandboxed cell), then the owner's ordinary edit and delete through their own server."""
    (ada, token), (bo, _) = people
    own = hub.api(token, "POST", f"/user/{ada}/api/agents", json={"name": "Planter", "instructions": "Mine."}).json()
    sibling = hub.api(token, "POST", f"/user/{ada}/api/agents", json={"name": "Neighbour", "instructions": "Theirs."}).json()
    agents = home(hub, ada) / "agents"
    folder, sibling_folder = agents / own["slug"], agents / sibling["slug"]
    bo_file = home(hub, bo) / "private.txt"  # another person's home
    bo_file.parent.mkdir(parents=True, exist_ok=True)
    bo_file.write_text("bo's own")
    (folder / ".CLAUDE.md.tmp").symlink_to(bo_file)
    (folder / ".agent.json.tmp").symlink_to(sibling_folder / "CLAUDE.md")
    (folder / "CLAUDE.md").unlink()
    (folder / "CLAUDE.md").symlink_to(sibling_folder / "CLAUDE.md")
    (folder / "agent.json").write_text(json.dumps({"id": sibling["id"], "allowed_tools": ["Bash"]}))

    edited = hub.api(token, "PATCH", f"/user/{ada}/api/agents/{own['id']}", json={"instructions": "Be brief."})
    assert edited.status_code == 200, edited.text
    assert bo_file.read_text() == "bo's own" and (sibling_folder / "CLAUDE.md").read_text() == "Theirs.\n"
    assert not (folder / "CLAUDE.md").is_symlink() and (folder / "CLAUDE.md").read_text() == "Be brief.\n"

    assert hub.api(token, "DELETE", f"/user/{ada}/api/agents/{sibling['id']}").status_code == 204
    assert not sibling_folder.exists() and (folder / "CLAUDE.md").exists()
    specs = hub.api(token, "GET", f"/user/{ada}/api/kernelspecs").json()["kernelspecs"]
    assert f"claude-{own['slug']}" in specs and f"claude-{sibling['slug']}" not in specs


def test_jupyterlab_does_not_follow_an_agents_links_out_of_its_folder(hub, people):
    (ada, token), (bo, _) = people
    agent = hub.api(token, "POST", f"/user/{ada}/api/agents", json={"name": "Linker"}).json()
    folder = home(hub, ada) / "agents" / agent["slug"]
    sibling = hub.api(token, "POST", f"/user/{ada}/api/agents", json={"name": "Linked", "instructions": "Theirs."}).json()
    bo_file = home(hub, bo) / "diary.txt"
    bo_file.parent.mkdir(parents=True, exist_ok=True)
    bo_file.write_text("bo's diary")
    (folder / "report.md").write_text("the agent's report")
    (folder / "same-folder.md").symlink_to("report.md")  # a link inside its own folder is fine
    (folder / "diary.txt").symlink_to(bo_file)
    (folder / "neighbour.md").symlink_to(folder.parent / sibling["slug"] / "CLAUDE.md")
    (folder / "elsewhere").symlink_to(home(hub, bo))
    contents = f"/user/{ada}/api/contents/agents/{agent['slug']}"
    for name in ("diary.txt", "neighbour.md", "elsewhere/diary.txt"):
        read = hub.api(token, "GET", f"{contents}/{name}")
        assert read.status_code == 403, read.text
        assert read.json()["message"].startswith(f"agents/{agent['slug']}/{name} is a link that leads out of")
        saved = hub.api(token, "PUT", f"{contents}/{name}", json={"type": "file", "format": "text", "content": "x"})
        assert saved.status_code == 403
    assert bo_file.read_text() == "bo's diary"
    assert (folder.parent / sibling["slug"] / "CLAUDE.md").read_text() == "Theirs.\n"
    listed = {entry["name"] for entry in hub.api(token, "GET", contents).json()["content"]}
    assert listed == {"CLAUDE.md", "report.md", "same-folder.md"}
    assert hub.api(token, "GET", f"{contents}/same-folder.md").json()["content"] == "the agent's report"


def test_a_folder_where_the_instructions_go_fails_the_save_with_what_to_fix(hub, people):
    email, token = people[0]
    agent = hub.api(token, "POST", f"/user/{email}/api/agents", json={"name": "Blocked"}).json()
    claude_md = home(hub, email) / "agents" / agent["slug"] / "CLAUDE.md"
    claude_md.unlink()
    claude_md.mkdir()
    response = hub.api(token, "PATCH", f"/user/{email}/api/agents/{agent['id']}", json={"instructions": "New."})
    assert response.status_code == 500
    assert "'CLAUDE.md' is a folder where a file should be" in response.json()["message"]


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
    # The form offers what the contract defines, in its order, with its limits.
    offered = re.findall(r'<option value="([A-Za-z]+)">', page.text)
    assert offered == [*PermissionMode, *AgentStatus]
    assert f'name="name" maxlength="{AGENT_LIMITS["name"]}"' in page.text
    assert f'max="{AGENT_LIMITS["max_turns"][1]}"' in page.text
