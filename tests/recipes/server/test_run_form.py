"""The Run form and the runs page of a person's server: a recipe run from the form's API on its agent's kernel
(real service, real kernel and CLI, fake model), its progress and cancel, bad input, and a shared recipe whose
agent this server lacks, created from the definition the notebook carries."""

from __future__ import annotations

import asyncio
import json

import nbformat

from oma_contract.money import format_usd
from tests.fake_model import say, stall

from ..notebooks import THREE_CELLS, code, prompts_seen, recipe, write


async def an_agent(user_server, **fields) -> dict:
    created = await user_server.call("POST", "api/agents", json={"name": "Researcher", "status": "active", **fields})
    assert created.status_code == 201, created.text
    return created.json()


def on_kernel(agent: dict) -> dict:
    return {"name": f"claude-{agent['slug']}", "display_name": f"Claude · {agent['name']}", "language": "markdown"}


async def until_over(user_server, run_id: str, seconds: float = 180) -> dict:
    for _ in range(int(seconds * 5)):
        run = (await user_server.call("GET", f"api/recipe-runs/{run_id}")).json()
        if run["status"] != "running":
            return run
        await asyncio.sleep(0.2)
    raise AssertionError(f"run {run_id} still running")


async def test_the_run_form_runs_a_recipe_with_its_parameters_and_lists_it(user_server, claude_env, model):
    agent = await an_agent(user_server)
    write(user_server.agents.parent / "weekly.ipynb", recipe(*THREE_CELLS, kernel=on_kernel(agent)))
    form = await user_server.call("GET", "agents/run", params={"path": "weekly.ipynb"})
    assert form.status_code == 200
    assert 'name="topic" value="AI agents"' in form.text and 'name="audience" value="analysts"' in form.text
    model.script(say("The note."), say("The sources."))
    started = await user_server.call("POST", "api/recipe-runs",
                                     json={"path": "weekly.ipynb", "parameters": {"topic": "tidal energy"}})
    assert started.status_code == 201, started.text
    run = started.json()
    assert run["status"] == "running" and run["cells"] == 4 and run["output"].startswith("runs/weekly-")
    over = await until_over(user_server, run["id"])
    assert over["status"] == "finished" and over["cell"] == 4, over
    assert "Write a note about tidal energy for analysts." in prompts_seen(model)
    nb = nbformat.read(user_server.agents.parent / run["output"], as_version=4)
    assert all(c.metadata["oh_my_agent"]["session_id"] for c in code(nb)[2:])
    assert nb.metadata["oh_my_agent"]["run"]["parameters"]["topic"] == "tidal energy"
    listed = (await user_server.call("GET", "api/recipe-runs")).json()
    assert [r["id"] for r in listed] == [run["id"]] and listed[0]["seconds"] > 0
    page = await user_server.call("GET", "agents/runs", headers={"Accept-Language": "ko"})
    assert "weekly.ipynb" in page.text and "완료" in page.text and "실행 기록" in page.text
    # the run's cost reads as its cells' footers and the dashboard read money (not a fixed four decimals)
    assert listed[0]["cost_usd"] > 0 and listed[0]["cost"] == format_usd(listed[0]["cost_usd"]), listed[0]
    assert f">{listed[0]['cost']}<" in page.text and "$0.0000" not in page.text


async def test_a_run_started_from_the_form_can_be_cancelled(user_server, claude_env, model):
    agent = await an_agent(user_server)
    write(user_server.agents.parent / "r.ipynb", recipe("Stall here", "Never", kernel=on_kernel(agent)))
    model.script(stall("Thinking"))
    run = (await user_server.call("POST", "api/recipe-runs", json={"path": "r.ipynb"})).json()
    for _ in range(600):
        now = (await user_server.call("GET", f"api/recipe-runs/{run['id']}")).json()
        if now["cell"] == 2 and model.requests:
            break
        await asyncio.sleep(0.2)
    cancelled = await user_server.call("DELETE", f"api/recipe-runs/{run['id']}")
    assert cancelled.status_code == 202
    over = await until_over(user_server, run["id"], 60)
    model.release_stalls()
    assert over["status"] == "cancelled" and "Never" not in prompts_seen(model)


async def test_bad_run_requests_get_a_400_naming_the_field(user_server, claude_env):
    agent = await an_agent(user_server)
    write(user_server.agents.parent / "r.ipynb", recipe("About {{topic}}", kernel=on_kernel(agent)))
    cases = [
        ({"path": "r.ipynb", "parameters": {"topik": "x"}}, "parameters.topik", "not a parameter of this recipe"),
        ({"path": "r.ipynb", "parameters": ["x"]}, "parameters", "must be an object"),
        ({"path": "notes.txt"}, None, "ending in .ipynb"),
    ]
    for body, field, words in cases:
        answer = await user_server.call("POST", "api/recipe-runs", json=body)
        assert answer.status_code == 400 and words in answer.text, answer.text
        if field:
            assert answer.json()["field"] == field
    missing = await user_server.call("POST", "api/recipe-runs", json={"path": "nowhere.ipynb"})
    assert missing.status_code == 404
    assert not (user_server.agents.parent / "runs").exists()


async def test_a_recipe_whose_agent_is_missing_offers_to_create_it(user_server, claude_env, model):
    nb = recipe("About {{topic}}", kernel={"name": "claude-their-researcher", "display_name": "Claude · Theirs",
                                           "language": "markdown"})
    nb.metadata["oh_my_agent"] = {"agent": {"format": 1, "name": "Their researcher", "instructions": "Be brief.",
                                            "allowed_tools": ["Read"]}}
    write(user_server.agents.parent / "recipes" / "shared.ipynb", nb)
    page = await user_server.call("GET", "agents/run", params={"path": "recipes/shared.ipynb"})
    assert 'id="missing-agent"' in page.text and "Their researcher" in page.text and "Read" in page.text
    assert '<form id="run-form" hidden' in page.text
    created = await user_server.call("POST", "api/recipe-agent", json={"path": "recipes/shared.ipynb"})
    assert created.status_code == 201, created.text
    agent = created.json()
    assert (agent["name"], agent["instructions"], agent["allowed_tools"]) == ("Their researcher", "Be brief.", ["Read"])
    assert (user_server.agents / agent["slug"]).is_dir()
    saved = json.loads((user_server.agents.parent / "recipes" / "shared.ipynb").read_text())
    assert saved["metadata"]["kernelspec"]["name"] == f"claude-{agent['slug']}"
    page = await user_server.call("GET", "agents/run", params={"path": "recipes/shared.ipynb"})
    assert 'id="missing-agent"' not in page.text and '<form id="run-form" >' in page.text and 'name="topic"' in page.text
    run = (await user_server.call("POST", "api/recipe-runs", json={"path": "recipes/shared.ipynb"})).json()
    assert (await until_over(user_server, run["id"]))["status"] == "finished"
    assert "About AI agents" in prompts_seen(model)


async def test_jupyterlab_learns_whether_a_notebooks_agent_is_here_or_the_same_as_one_of_theirs(user_server):
    brought = {"format": 1, "name": "Their researcher", "instructions": "Be brief.", "allowed_tools": ["Read", "Bash"]}
    nb = recipe("About {{topic}}", kernel={"name": "claude-graces-researcher", "display_name": "Claude · Theirs",
                                           "language": "markdown"})
    nb.metadata["oh_my_agent"] = {"agent": brought}
    write(user_server.agents.parent / "shared.ipynb", nb)
    asked = (await user_server.call("GET", "api/recipe-agent", params={"path": "shared.ipynb"},
                                    headers={"Accept-Language": "ko"})).json()
    assert (asked["here"], asked["same_kernel"], asked["definition"]["name"]) == (False, None, "Their researcher")
    assert asked["allowed_in_words"] == ["폴더 안 파일 읽기", "명령 실행"]  # the agent form's words
    # the same agent, already made from the recipe under a numbered name: that one, without asking
    await an_agent(user_server, name="Their researcher")
    same = await an_agent(user_server, name="Their researcher (2)", instructions="Be brief.",
                          allowed_tools=["Read", "Bash"])
    asked = (await user_server.call("GET", "api/recipe-agent", params={"path": "shared.ipynb"})).json()
    assert asked["same_kernel"] == f"claude-{same['slug']}"
    # on a kernel of theirs: here, their own agent of that name even if the notebook's copy is older
    for kernel in (on_kernel(same), {**on_kernel(same), "name": "claude-their-researcher"}):
        mine = recipe("Hi", kernel=kernel)
        mine.metadata["oh_my_agent"] = {"agent": brought}
        write(user_server.agents.parent / "mine.ipynb", mine)
        assert (await user_server.call("GET", "api/recipe-agent", params={"path": "mine.ipynb"})).json()["here"] is True
    missing = await user_server.call("GET", "api/recipe-agent", params={"path": "nowhere.ipynb"})
    assert missing.status_code == 404
