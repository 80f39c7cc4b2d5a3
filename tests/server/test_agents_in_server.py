"""Agents from a person's own server: the forwarded API, folders and kernelspecs, links an agent
leaves, the dashboard and its form's options.

Handler level: a jupyter_server with the agents extension (pytest-jupyter) forwarding to the agents
service, both in the test's event loop (tests/server/conftest.py). What needs the real hub and its
spawner, such as what never enters a server's environment, stays in tests/hub/test_agents_in_server.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from oma_contract import AGENT_LIMITS, AgentStatus, PermissionMode

from tests.service.real_hub import Person


async def test_creating_an_agent_in_ones_server_makes_its_folder_and_kernelspec(user_server):
    created = await user_server.call("POST", "api/agents",
                                     json={"name": "Researcher", "instructions": "Cite sources.", "allowed_tools": ["Write"]})
    assert created.status_code == 201, created.text
    agent = created.json()
    assert created.headers["Location"] == f"{user_server.base_url}api/agents/{agent['id']}"
    folder = user_server.agents / agent["slug"]
    assert sorted(p.name for p in folder.iterdir()) == ["CLAUDE.md"]
    assert (folder / "CLAUDE.md").read_text() == "Cite sources.\n"
    specs = (await user_server.call("GET", "api/kernelspecs")).json()["kernelspecs"]
    spec = specs[f"claude-{agent['slug']}"]["spec"]
    assert spec["display_name"] == "Claude · Researcher" and spec["env"]["CLAUDE_AGENT_DIR"] == str(folder)
    settings_path = Path(spec["env"]["CLAUDE_AGENT_SETTINGS"])  # what the kernel obeys: outside every agent folder
    assert settings_path == user_server.data_dir / "oh-my-agent" / "agents" / f"{agent['id']}.json"
    settings = json.loads(settings_path.read_text())
    assert settings["id"] == agent["id"] and settings["allowed_tools"] == ["Write"]
    listed = (await user_server.call("GET", "api/agents")).json()
    assert [a["id"] for a in listed] == [agent["id"]]


async def test_rename_and_delete_keep_folders_and_kernelspecs_in_step(user_server):
    agent = (await user_server.call("POST", "api/agents", json={"name": "Scout"})).json()
    (user_server.agents / agent["slug"] / "notes.md").write_text("findings")
    renamed = await user_server.call("PATCH", f"api/agents/{agent['id']}", json={"name": "Trend scout"})
    assert renamed.status_code == 200, renamed.text
    new_slug = renamed.json()["slug"]
    assert (user_server.agents / new_slug / "notes.md").read_text() == "findings"
    specs = (await user_server.call("GET", "api/kernelspecs")).json()["kernelspecs"]
    assert f"claude-{new_slug}" in specs and f"claude-{agent['slug']}" not in specs
    assert (await user_server.call("DELETE", f"api/agents/{agent['id']}")).status_code == 204
    assert f"claude-{new_slug}" not in (await user_server.call("GET", "api/kernelspecs")).json()["kernelspecs"]
    trashed = list((user_server.agents / ".trash").glob(f"{new_slug}-*"))
    assert len(trashed) == 1 and (trashed[0] / "notes.md").read_text() == "findings"


async def test_what_an_agent_leaves_in_its_folder_does_not_steer_the_owners_edits_and_deletes(user_server, tmp_path):
    """The links and the claimed id an agent's Bash leaves (tests/test_agent_workspace.py plants them from a
    real sandboxed cell), then the owner's ordinary edit and delete through their own server."""
    own = (await user_server.call("POST", "api/agents", json={"name": "Planter", "instructions": "Mine."})).json()
    sibling = (await user_server.call("POST", "api/agents", json={"name": "Neighbour", "instructions": "Theirs."})).json()
    folder, sibling_folder = user_server.agents / own["slug"], user_server.agents / sibling["slug"]
    bo_file = tmp_path / "bo" / "private.txt"  # another person's home
    bo_file.parent.mkdir(parents=True)
    bo_file.write_text("bo's own")
    (folder / ".CLAUDE.md.tmp").symlink_to(bo_file)
    (folder / ".agent.json.tmp").symlink_to(sibling_folder / "CLAUDE.md")
    (folder / "CLAUDE.md").unlink()
    (folder / "CLAUDE.md").symlink_to(sibling_folder / "CLAUDE.md")
    (folder / "agent.json").write_text(json.dumps({"id": sibling["id"], "allowed_tools": ["Bash"]}))

    edited = await user_server.call("PATCH", f"api/agents/{own['id']}", json={"instructions": "Be brief."})
    assert edited.status_code == 200, edited.text
    assert bo_file.read_text() == "bo's own" and (sibling_folder / "CLAUDE.md").read_text() == "Theirs.\n"
    assert not (folder / "CLAUDE.md").is_symlink() and (folder / "CLAUDE.md").read_text() == "Be brief.\n"

    assert (await user_server.call("DELETE", f"api/agents/{sibling['id']}")).status_code == 204
    assert not sibling_folder.exists() and (folder / "CLAUDE.md").exists()
    specs = (await user_server.call("GET", "api/kernelspecs")).json()["kernelspecs"]
    assert f"claude-{own['slug']}" in specs and f"claude-{sibling['slug']}" not in specs


async def test_jupyterlab_does_not_follow_an_agents_links_out_of_its_folder(user_server, tmp_path):
    agent = (await user_server.call("POST", "api/agents", json={"name": "Linker"})).json()
    folder = user_server.agents / agent["slug"]
    sibling = (await user_server.call("POST", "api/agents", json={"name": "Linked", "instructions": "Theirs."})).json()
    bo_home = tmp_path / "bo"
    bo_file = bo_home / "diary.txt"
    bo_home.mkdir()
    bo_file.write_text("bo's diary")
    (folder / "report.md").write_text("the agent's report")
    (folder / "same-folder.md").symlink_to("report.md")  # a link inside its own folder is fine
    (folder / "diary.txt").symlink_to(bo_file)
    (folder / "neighbour.md").symlink_to(folder.parent / sibling["slug"] / "CLAUDE.md")
    (folder / "elsewhere").symlink_to(bo_home)
    contents = f"api/contents/agents/{agent['slug']}"
    for name in ("diary.txt", "neighbour.md", "elsewhere/diary.txt"):
        read = await user_server.call("GET", f"{contents}/{name}")
        assert read.status_code == 403, read.text
        assert read.json()["message"].startswith(f"agents/{agent['slug']}/{name} is a link that leads out of")
        saved = await user_server.call("PUT", f"{contents}/{name}", json={"type": "file", "format": "text", "content": "x"})
        assert saved.status_code == 403
    assert bo_file.read_text() == "bo's diary"
    assert (folder.parent / sibling["slug"] / "CLAUDE.md").read_text() == "Theirs.\n"
    listed = {entry["name"] for entry in (await user_server.call("GET", contents)).json()["content"]}
    assert listed == {"CLAUDE.md", "report.md", "same-folder.md"}
    assert (await user_server.call("GET", f"{contents}/same-folder.md")).json()["content"] == "the agent's report"


async def test_a_folder_where_the_instructions_go_fails_the_save_with_what_to_fix(user_server):
    agent = (await user_server.call("POST", "api/agents", json={"name": "Blocked"})).json()
    claude_md = user_server.agents / agent["slug"] / "CLAUDE.md"
    claude_md.unlink()
    claude_md.mkdir()
    response = await user_server.call("PATCH", f"api/agents/{agent['id']}", json={"instructions": "New."})
    assert response.status_code == 500
    assert "'CLAUDE.md' is a folder where a file should be" in response.json()["message"]


async def test_bad_input_is_refused_through_the_server_and_nothing_is_written(user_server):
    def written() -> list[str]:
        return sorted(p.name for p in user_server.agents.iterdir()) if user_server.agents.exists() else []

    before = written()
    response = await user_server.call("POST", "api/agents", json={"name": "", "max_turns": 0})
    assert response.status_code == 400 and response.json()["field"] in ("name", "max_turns")
    assert written() == before


async def test_another_persons_agent_is_not_found_from_ones_own_server(user_server, service, approve):
    bo: Person = await approve("bo")
    made = await service.call("POST", "api/agents", token=bo.token, json={"name": "Private one"})
    assert made.status_code == 201, made.text
    agent = made.json()
    for method in ("GET", "PATCH", "DELETE"):
        response = await user_server.call(method, f"api/agents/{agent['id']}",
                                          json={"name": "mine now"} if method == "PATCH" else None)
        assert response.status_code == 404
        assert "Private one" not in response.text and bo.email not in response.text
    assert (await service.call("GET", f"api/agents/{agent['id']}", token=bo.token)).json()["name"] == "Private one"


async def test_the_dashboard_and_its_form_options_are_served_by_ones_server(user_server):
    options = await user_server.call("GET", "api/agent-options")
    assert options.status_code == 200 and "claude-sonnet-4-5" in options.json()["models"]
    page = await user_server.call("GET", "agents", headers={"Accept-Language": "ko-KR"})
    assert page.status_code == 200 and "내 에이전트" in page.text and page.headers["Content-Language"] == "ko"
    picked = await user_server.call("GET", "agents", headers={"Accept-Language": "en", "Cookie": "oma_lang=ko"})
    assert "내 에이전트" in picked.text  # the language switch (oma_lang) wins over the browser's
    assert re.search(r'<link rel="stylesheet" href="[^"]*/hub/oma-fonts/noto-sans-kr.css">', page.text)  # the web font
    # The form offers what the contract defines, in its order, with its limits; of the statuses only
    # those that differ (a draft behaves as an active agent does, see dashboard_page.FORM_STATUSES).
    offered = re.findall(r'<option value="([A-Za-z]+)">', page.text)
    assert offered == [*PermissionMode, AgentStatus.ACTIVE, AgentStatus.PAUSED]
    assert re.search(f'name="name"[^>]* maxlength="{AGENT_LIMITS["name"]}"', page.text)
    assert f'max="{AGENT_LIMITS["max_turns"][1]}"' in page.text
