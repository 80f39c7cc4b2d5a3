"""Saving a notebook on an agent's kernel writes the agent's definition and the cells' provenance into it
(the contents manager's pre-save step), and nothing of its owner's ids, e-mail address or tokens."""

from __future__ import annotations

import json
import os

from nbformat.v4 import new_code_cell, new_notebook, new_output

from oma_contract.recipe import content_hash

PROVENANCE = {"agent": "Researcher", "model": None, "session_id": "s-1", "turn": 1, "turns": 1, "input_tokens": 12,
              "output_tokens": 7, "cost_usd": 0.01, "duration_seconds": 1.2, "tools": [{"name": "Read", "argument": "a.csv"}],
              "denied": [], "status": "ok", "finished_at": "2026-12-01T00:00:00Z"}


def notebook(kernel: str, provenance=PROVENANCE) -> dict:
    footer = new_output("display_data", data={"text/plain": "1 turn"}, metadata={"oh_my_agent": provenance})
    cell = new_code_cell("Summarise a.csv", outputs=[footer], execution_count=1)
    return new_notebook(cells=[cell], metadata={"kernelspec": {"name": kernel, "display_name": "Claude",
                                                               "language": "markdown"}})


async def save(user_server, path: str, nb: dict):
    answer = await user_server.call("PUT", f"api/contents/{path}", json={"type": "notebook", "content": nb})
    assert answer.status_code in (200, 201), answer.text
    return json.loads((user_server.agents.parent / path).read_text())


async def test_saving_writes_the_agents_definition_and_keeps_it_current(user_server):
    created = await user_server.call("POST", "api/agents", json={
        "name": "Researcher", "description": "Weekly notes", "instructions": "Cite sources.",
        "allowed_tools": ["Read"], "disallowed_tools": ["WebFetch"], "max_turns": 5, "permission_mode": "acceptEdits"})
    agent = created.json()
    saved = await save(user_server, "weekly.ipynb", notebook(f"claude-{agent['slug']}"))
    definition = saved["metadata"]["oh_my_agent"]["agent"]
    assert definition == {"format": 1, "name": "Researcher", "description": "Weekly notes",
                          "instructions": "Cite sources.", "model": None, "permission_mode": "acceptEdits",
                          "allowed_tools": ["Read"], "disallowed_tools": ["WebFetch"], "max_turns": 5,
                          "max_budget_usd": None, "content_hash": content_hash(definition)}
    text = (user_server.agents.parent / "weekly.ipynb").read_text()
    for secret in (agent["id"], user_server.owner.email, os.environ["JUPYTERHUB_API_TOKEN"], "owner"):
        assert secret not in text
    assert saved["cells"][0]["metadata"]["oh_my_agent"] == PROVENANCE

    await user_server.call("PATCH", f"api/agents/{agent['id']}", json={"instructions": "Cite two sources."})
    again = await save(user_server, "weekly.ipynb", notebook(f"claude-{agent['slug']}"))
    changed = again["metadata"]["oh_my_agent"]["agent"]
    assert changed["instructions"] == "Cite two sources." and changed["content_hash"] != definition["content_hash"]


async def test_a_notebook_of_an_agent_this_server_lacks_keeps_what_it_carries(user_server):
    nb = notebook("claude-someone-elses")
    nb["metadata"]["oh_my_agent"] = {"agent": {"name": "Theirs", "format": 1}}
    saved = await save(user_server, "theirs.ipynb", nb)
    assert saved["metadata"]["oh_my_agent"] == {"agent": {"name": "Theirs", "format": 1}}


async def test_provenance_an_output_fakes_is_not_copied(user_server):
    saved = await save(user_server, "odd.ipynb", notebook("claude", provenance={"turn": -1, "owner": "x@y"}))
    assert "oh_my_agent" not in saved["cells"][0]["metadata"]
    assert "oh_my_agent" not in saved["metadata"]
