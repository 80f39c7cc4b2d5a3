"""The extension's own JSON routes (a recipe's run, a recipe's agent) answer a body they cannot use with
a 400 saying what is wrong, and start or store nothing: nested deeper than the parser goes (issue 9),
not JSON, a lone surrogate (valid JSON, not text), not an object."""

from __future__ import annotations

import pytest

from tests.recipes.notebooks import recipe, write

BAD_BODIES = [
    pytest.param(b"[" * 100_000, "", "nested", id="nested-100000-deep"),
    pytest.param(b"{not json", "", "must be JSON", id="not-json"),
    pytest.param(b'{"path": "r.ipynb", "parameters": {"topic": "ab', "", "must be JSON", id="cut-short"),
    pytest.param(b'{"path": "r\xff.ipynb"}', "", "not UTF-8", id="not-utf-8"),
    pytest.param(b'{"path": "r\\ud800.ipynb"}', "path", "lone surrogate", id="surrogate-in-path"),
    pytest.param(b'{"path": "r.ipynb", "parameters": {"topic": "a\\udfffb"}}', "parameters", "lone surrogate",
                 id="surrogate-in-a-value"),
    pytest.param(b'{"path": "r.ipynb", "parameters": {"\\ud800": "x"}}', "parameters", "lone surrogate",
                 id="surrogate-in-a-name"),
    pytest.param(b"[1, 2]", "", "JSON object", id="a-list"),
    pytest.param(b'"r.ipynb"', "", "JSON object", id="a-string"),
    pytest.param(b"null", "", "JSON object", id="null"),
]


@pytest.fixture
async def shared_recipe(user_server):
    """A runnable recipe on one of the owner's agents (r.ipynb) and one that brings an agent this server
    lacks (shared.ipynb): what a good body would run or create."""
    agent = await user_server.call("POST", "api/agents", json={"name": "Researcher", "status": "active"})
    assert agent.status_code == 201, agent.text
    slug = agent.json()["slug"]
    root = user_server.agents.parent
    write(root / "r.ipynb", recipe("About {{topic}}", kernel={"name": f"claude-{slug}", "display_name": "Claude",
                                                               "language": "markdown"}))
    shared = recipe("About {{topic}}", kernel={"name": "claude-their-researcher", "display_name": "Claude · Theirs",
                                               "language": "markdown"})
    shared.metadata["oh_my_agent"] = {"agent": {"format": 1, "name": "Their researcher", "instructions": "Be brief."}}
    write(root / "shared.ipynb", shared)
    return root


async def agent_names(user_server) -> list[str]:
    return sorted(a["name"] for a in (await user_server.call("GET", "api/agents")).json())


@pytest.mark.parametrize(("body", "field", "words"), BAD_BODIES)
async def test_a_run_request_that_is_no_usable_json_object_is_a_400_and_starts_nothing(
        user_server, shared_recipe, body, field, words):
    answer = await user_server.call("POST", "api/recipe-runs", body=body)
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])
    assert words in answer.json()["message"] and answer.json()["field"] == field, answer.text[:300]
    assert (await user_server.call("GET", "api/recipe-runs")).json() == []
    assert not (shared_recipe / "runs").exists()


@pytest.mark.parametrize(("body", "field", "words"), [
    pytest.param(case.values[0].replace(b"r.ipynb", b"shared.ipynb"), *case.values[1:], id=case.id)
    for case in BAD_BODIES if b"parameters" not in case.values[0]])
async def test_an_agent_request_that_is_no_usable_json_object_is_a_400_and_creates_nothing(
        user_server, shared_recipe, body, field, words):
    before = await agent_names(user_server)
    notebook = (shared_recipe / "shared.ipynb").read_bytes()
    answer = await user_server.call("POST", "api/recipe-agent", body=body)
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])
    assert words in answer.json()["message"] and answer.json()["field"] == field, answer.text[:300]
    assert await agent_names(user_server) == before == ["Researcher"]
    assert (shared_recipe / "shared.ipynb").read_bytes() == notebook
