"""The gallery in a person's server (agents_extension/server/gallery.py): using a recipe creates the agent
and copies the notebook, nothing more; sharing reads one's own notebook and waits for credentials.

A real jupyter_server with the agents extension and a real agents service (tests/server/conftest.py);
the owner of the server is "ada", the recipes' author "grace".
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.server.conftest import *  # noqa: F403 (pytest-jupyter's fixtures, the user server, its owner)
from tests.service.conftest import admin, approve, hub, person, service, start_service  # noqa: F401 (fixtures)
from tests.gallery.conftest import AGENT, a_recipe, code, markdown, notebook, text_output


async def published_by(service, author, **fields) -> dict:
    answer = await service.call("POST", "api/recipes", token=author.token, json=a_recipe(**fields))
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_using_a_recipe_creates_its_agent_folder_kernel_and_notebook(user_server, service, approve, tmp_path):
    grace = await approve("grace")
    recipe = await published_by(service, grace)
    used = await user_server.call("POST", f"api/recipes/{recipe['id']}/import")
    assert used.status_code == 201, used.text
    agent, path = used.json()["agent"], used.json()["path"]
    assert (agent["name"], agent["owner"], agent["status"]) == ("Weekly analyst", user_server.owner.email, "active")
    assert (agent["allowed_tools"], agent["disallowed_tools"], agent["model"]) == (["Read", "WebSearch"], ["Bash"],
                                                                                 "claude-sonnet-4-5")
    assert (user_server.agents / agent["slug"] / "CLAUDE.md").read_text().startswith("Summarise the week")
    specs = (await user_server.call("GET", "api/kernelspecs")).json()["kernelspecs"]
    assert f"claude-{agent['slug']}" in specs
    assert path == "recipes/weekly-competitor-report.ipynb"
    copied = json.loads((user_server.agents.parent / path).read_text())
    assert copied["metadata"]["kernelspec"]["name"] == f"claude-{agent['slug']}"
    assert copied["metadata"]["oh_my_agent"]["gallery"] == {"recipe": recipe["id"], "version": 1,
                                                            "title": recipe["title"]}
    assert copied["metadata"]["oh_my_agent"]["agent"]["name"] == "Weekly analyst"
    assert "".join(copied["cells"][1]["source"]) == "Summarise competitor prices."
    # nothing of the author's: not their address, not their agent's id, nothing else in the folder
    assert grace.email not in json.dumps(copied)
    assert sorted(p.name for p in (user_server.agents / agent["slug"]).iterdir()) == ["CLAUDE.md"]
    assert used.json()["recipe"]["imports"] == 1


async def test_a_name_already_used_gets_a_number_and_the_notebook_another_file(user_server, service, approve):
    grace = await approve("grace")
    recipe = await published_by(service, grace)
    own = await user_server.call("POST", "api/agents", json={"name": "weekly ANALYST"})
    assert own.status_code == 201
    first = (await user_server.call("POST", f"api/recipes/{recipe['id']}/import")).json()
    second = (await user_server.call("POST", f"api/recipes/{recipe['id']}/import")).json()
    assert (first["agent"]["name"], second["agent"]["name"]) == ("Weekly analyst (2)", "Weekly analyst (3)")
    assert (first["path"], second["path"]) == ("recipes/weekly-competitor-report.ipynb",
                                               "recipes/weekly-competitor-report-2.ipynb")
    assert second["recipe"]["imports"] == 2
    names = sorted(a["name"] for a in (await user_server.call("GET", "api/agents")).json())
    assert names == ["Weekly analyst (2)", "Weekly analyst (3)", "weekly ANALYST"]


async def test_the_import_page_shows_the_tools_before_anything_is_created(user_server, service, approve):
    grace = await approve("grace")
    recipe = await published_by(service, grace)
    page = await user_server.call("GET", "recipes/import", params={"recipe": recipe["id"]},
                                  headers={"Accept-Language": "ko"})
    assert page.status_code == 200, page.text
    assert "Read, WebSearch" in page.text and "Bash" in page.text and "이 레시피 사용하기" in page.text
    assert (await user_server.call("GET", "api/agents")).json() == []  # looking creates nothing
    missing = await user_server.call("GET", "recipes/import", params={"recipe": "f" * 32})
    assert missing.status_code == 404 and "no recipe" in missing.text


async def test_an_unpublished_recipe_cannot_be_used(user_server, service, approve):
    grace = await approve("grace")
    recipe = await published_by(service, grace)
    await service.call("PATCH", f"api/recipes/{recipe['id']}", token=grace.token, json={"status": "unpublished"})
    refused = await user_server.call("POST", f"api/recipes/{recipe['id']}/import")
    assert refused.status_code == 404
    assert (await user_server.call("GET", "api/agents")).json() == []


async def share(user_server, **form) -> object:
    body = urlencode(form, doseq=True).encode()
    return await user_server._fetch("recipes", "share", method="POST", body=body, raise_error=False,
                                    follow_redirects=False,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})


async def test_sharing_ones_notebook_waits_for_credentials_then_publishes(user_server, service):
    agent = (await user_server.call("POST", "api/agents", json={**AGENT, "name": "Pricer"})).json()
    folder = user_server.agents / agent["slug"]
    shared = notebook(markdown("# Prices"), code("Compare prices", text_output("api_key=sk-ant-api03-" + "K" * 30)),
                      kernel=f"claude-{agent['slug']}")
    (folder / "prices.ipynb").write_text(json.dumps(shared))
    path = f"agents/{agent['slug']}/prices.ipynb"
    page = await user_server.call("GET", "recipes/share")
    assert page.status_code == 200 and path in page.text
    form = {"path": path, "title": "Price watch", "description": "Daily prices", "tags": "sales, #daily",
            "outputs": "kept"}
    waiting = await share(user_server, **form)
    assert waiting.code == 400
    text = waiting.body.decode()
    assert "Anthropic API key" in text and "cell 2 output" in text and "KKKKKKKK" not in text
    assert (await service.call("GET", "api/recipes?mine=1", token=user_server.owner.token)).json() == []
    fingerprint = text.split('name="not_a_credential" value="')[1].split('"')[0]
    published = await share(user_server, **form, not_a_credential=fingerprint)
    assert published.code == 302, published.body.decode()[-3000:]
    mine = (await service.call("GET", "api/recipes?mine=1", token=user_server.owner.token)).json()
    assert [(r["title"], r["tags"], r["agent"]["name"]) for r in mine] == [("Price watch", ["sales", "daily"], "Pricer")]
    assert published.headers["Location"].endswith(f"/services/agents/recipes/{mine[0]['id']}")
    # a new version of it, with the outputs cleared this time (nothing left to confirm)
    again = await share(user_server, **{**form, "outputs": "cleared", "recipe": mine[0]["id"], "title": "Price watch v2"})
    assert again.code == 302, again.body.decode()[:2000]
    latest = (await service.call("GET", f"api/recipes/{mine[0]['id']}", token=user_server.owner.token)).json()
    assert (latest["version"], latest["title"], latest["outputs_kept"]) == (2, "Price watch v2", False)


async def test_sharing_a_notebook_that_is_not_on_an_agent_says_what_to_do(user_server):
    (user_server.agents.parent / "plain.ipynb").write_text(json.dumps(notebook(markdown("x"), kernel="python3")))
    refused = await share(user_server, path="plain.ipynb", title="Plain", outputs="kept")
    assert refused.code == 400 and "does not run on one of your agents" in refused.body.decode()


def a_recipe_with_a_parameter() -> dict:
    return a_recipe(notebook=notebook(markdown("# Weekly report"), code('%parameters\ntopic = "AI agents"'),
                                      code("Write about {{topic}}.")))


def query_of(location: str) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(urlsplit(location).query).items()}


async def test_the_gallerys_run_uses_the_recipe_once_then_every_run_is_counted(user_server, service, approve,
                                                                              claude_env, model):
    from tests.fake_model import say
    from tests.recipes.notebooks import prompts_seen
    from tests.recipes.server.test_run_form import until_over

    grace = await approve("grace")
    recipe = (await service.call("POST", "api/recipes", token=grace.token, json=a_recipe_with_a_parameter())).json()
    counted = lambda: service.call("GET", f"api/recipes/{recipe['id']}", token=grace.token)  # noqa: E731

    # the gallery's Run form leads here; without a copy, to using the recipe first, the values carried along
    first = await user_server._fetch("recipes", "run", params={"recipe": recipe["id"], "p.topic": "tidal energy"},
                                     follow_redirects=False, raise_error=False)
    assert first.code == 302 and "/recipes/import?" in first.headers["Location"]
    asked = query_of(first.headers["Location"])
    assert (asked["recipe"], asked["run"], asked["p.topic"]) == (recipe["id"], "1", "tidal energy")
    page = await user_server.call("GET", "recipes/import", params=asked)
    assert 'name="p.topic" value="tidal energy"' in page.text and "Use this recipe and run it" in page.text
    assert "Read, WebSearch" in page.text and (await user_server.call("GET", "api/agents")).json() == []
    model.script(say("Tides turn."), say("Solar shines."), say("Winds blow."))
    used = await user_server._fetch("recipes", "import", method="POST", body=urlencode(asked).encode(),
                                    follow_redirects=False, raise_error=False,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert used.code == 302, used.body.decode()[-2000:]
    shown = query_of(used.headers["Location"])
    assert urlsplit(used.headers["Location"]).path.endswith("/agents/run")
    assert (shown["path"], shown["p.topic"]) == ("recipes/weekly-competitor-report.ipynb", "tidal energy")
    assert (await until_over(user_server, shown["run"]))["status"] == "finished"
    assert "Write about tidal energy." in prompts_seen(model)
    assert ((await counted()).json()["imports"], (await counted()).json()["runs"]) == (1, 1)
    progress = await user_server.call("GET", "agents/run", params=shown)
    assert f'"id": "{shown["run"]}"' in progress.text  # the page follows that run

    # a second Run from the gallery: the copy is used, its Run page shows the values, nothing is imported
    again = await user_server._fetch("recipes", "run", params={"recipe": recipe["id"], "p.topic": "solar power"},
                                     follow_redirects=False, raise_error=False)
    assert again.code == 302 and urlsplit(again.headers["Location"]).path.endswith("/agents/run")
    form = await user_server.call("GET", "agents/run", params=query_of(again.headers["Location"]))
    assert 'name="topic" value="solar power"' in form.text
    started = await user_server.call("POST", "api/recipe-runs", json={"path": "recipes/weekly-competitor-report.ipynb",
                                                                      "parameters": {"topic": "solar power"}})
    assert (await until_over(user_server, started.json()["id"]))["status"] == "finished"
    assert ((await counted()).json()["imports"], (await counted()).json()["runs"]) == (1, 2)
    assert len((await user_server.call("GET", "api/agents")).json()) == 1

    # and `oh-my-agent run` in the person's terminal (the server's environment: the service and its token)
    command = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "oh-my-agent"), "run", "recipes/weekly-competitor-report.ipynb",
        "-p", "topic=wind", cwd=user_server.agents.parent, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(command.communicate(), 240)
    assert command.returncode == 0, err.decode()
    assert ((await counted()).json()["imports"], (await counted()).json()["runs"]) == (1, 3)
    run = json.loads((user_server.agents.parent / out.decode().strip()).read_text())
    assert run["metadata"]["oh_my_agent"]["gallery"]["recipe"] == recipe["id"]
