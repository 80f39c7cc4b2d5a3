"""The gallery's REST API and pages in the agents service: publish, browse, versions, unpublish, remove,
the beta gate, the checks before anything is stored, and a preview that runs nothing."""

from __future__ import annotations

import json
import re

import pytest

from tests.service.conftest import admin, approve, hub, person, service, start_service  # noqa: F401 (fixtures)
from tests.gallery.conftest import a_recipe, code, html_output, markdown, notebook, text_output

HOSTILE = [
    markdown('# Hello\n<script>alert("md")</script>\n\n<img src="x" onerror="alert(1)">\n\n'
             '[click](javascript:alert(2)) <a href="JaVaScRiPt:alert(3)">here</a> '
             '<iframe src="/hub/logout"></iframe> <svg onload="alert(4)"></svg> <form action="/x"><input></form>'),
    code("Show me HTML", html_output('<b onmouseover="alert(5)">bold</b><script>alert(6)</script>'
                                     '<a href="javascript:alert(7)">x</a><img src="/hub/logout">'
                                     '<style>body{display:none}</style>')),
    code("Markdown output", {"output_type": "display_data", "metadata": {},
                             "data": {"text/markdown": "<script>alert(8)</script>[y](javascript:alert(9))"}}),
    code("An SVG", {"output_type": "display_data", "metadata": {},
                    "data": {"image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg'><script>alert(10)</script></svg>"}}),
]


async def publish(service, who, **fields):
    return await service.call("POST", "api/recipes", token=who.token, json=a_recipe(**fields))


async def test_a_published_recipe_is_in_the_gallery_for_every_approved_person(service, approve):
    ada, grace = await approve("ada"), await approve("grace")
    published = await publish(service, ada)
    assert published.status_code == 201, published.text
    recipe = published.json()
    assert published.headers["Location"].endswith(f"api/recipes/{recipe['id']}")
    assert (recipe["version"], recipe["status"], recipe["author"], recipe["author_name"]) == (1, "published", ada.email, "ada")
    assert recipe["agent"]["model"] == "claude-sonnet-4-5" and recipe["agent"]["allowed_tools"] == ["Read", "WebSearch"]
    assert "status" not in recipe["agent"]
    listed = (await service.call("GET", "api/recipes", token=grace.token)).json()
    assert [r["id"] for r in listed] == [recipe["id"]]
    for query in ("q=competitor", "q=weekly%20rep", "tag=Marketing", "q=ada", "q=sonnet"):
        found = await service.call("GET", f"api/recipes?{query}", token=grace.token)
        assert [r["id"] for r in found.json()] == [recipe["id"]], query
    assert (await service.call("GET", "api/recipes?q=nothing-like-it", token=grace.token)).json() == []
    notebook_answer = await service.call("GET", f"api/recipes/{recipe['id']}/notebook", token=grace.token)
    assert notebook_answer.json()["cells"][1]["outputs"][0]["data"]["text/plain"] == "Prices went up 3%."


async def test_outputs_are_cleared_when_the_author_says_so(service, approve):
    ada = await approve("ada")
    recipe = (await publish(service, ada, outputs="cleared")).json()
    assert recipe["outputs_kept"] is False
    shared = (await service.call("GET", f"api/recipes/{recipe['id']}/notebook", token=ada.token)).json()
    assert [c.get("outputs") for c in shared["cells"]] == [None, [], []]
    assert all(c.get("execution_count") is None for c in shared["cells"] if c["cell_type"] == "code")


async def test_the_authors_session_ids_do_not_travel(service, approve):
    ada = await approve("ada")
    cell = code("Go", text_output("done"))
    cell["metadata"] = {"oh_my_agent": {"session_id": "3f2c-author-session", "model": "claude-sonnet-4-5", "turn": 2}}
    recipe = (await publish(service, ada, notebook=notebook(cell))).json()
    shared = await service.call("GET", f"api/recipes/{recipe['id']}/notebook", token=ada.token)
    assert "3f2c-author-session" not in shared.text
    assert shared.json()["cells"][0]["metadata"]["oh_my_agent"] == {"model": "claude-sonnet-4-5", "turn": 2}


async def test_authors_publish_new_versions_and_unpublish(service, approve):
    ada, grace = await approve("ada"), await approve("grace")
    recipe = (await publish(service, ada)).json()
    path = f"api/recipes/{recipe['id']}"
    v2 = await service.call("PUT", path, token=ada.token, json=a_recipe(title="Weekly competitor report, v2", version=1))
    assert v2.status_code == 200, v2.text
    assert (v2.json()["version"], v2.json()["title"], v2.headers["ETag"]) == (2, "Weekly competitor report, v2", '"2"')
    stale = await service.call("PUT", path, token=ada.token, json=a_recipe(), headers={"If-Match": '"1"'})
    assert stale.status_code == 409, stale.text
    first = await service.call("GET", f"{path}/notebook?version=1", token=grace.token)
    assert first.status_code == 200
    # someone else's recipe: they may read it, never change it
    assert (await service.call("PUT", path, token=grace.token, json=a_recipe())).status_code == 403
    assert (await service.call("PATCH", path, token=grace.token, json={"status": "unpublished"})).status_code == 403
    unpublished = await service.call("PATCH", path, token=ada.token, json={"status": "unpublished"})
    assert unpublished.status_code == 200 and unpublished.json()["status"] == "unpublished"
    assert (await service.call("GET", "api/recipes", token=grace.token)).json() == []
    for answer in [await service.call("GET", path, token=grace.token),
                   await service.call("GET", f"{path}/notebook", token=grace.token),
                   await service.call("POST", f"{path}/imports", token=grace.token)]:
        assert answer.status_code == 404, answer.text
    mine = (await service.call("GET", "api/recipes?mine=1", token=ada.token)).json()
    assert [(r["id"], r["status"]) for r in mine] == [(recipe["id"], "unpublished")]
    # authors do not remove: admins do
    assert (await service.call("DELETE", path, token=ada.token)).status_code == 403


async def test_admins_remove_recipes(service, approve, admin):
    ada = await approve("ada")
    recipe = (await publish(service, ada)).json()
    assert (await service.call("DELETE", f"api/recipes/{recipe['id']}", token=admin.token)).status_code == 204
    assert (await service.call("GET", f"api/recipes/{recipe['id']}", token=ada.token)).status_code == 404
    assert await service.store.recipes.notebook(recipe["id"]) is None


async def test_imports_and_runs_are_counted(service, approve):
    ada, grace = await approve("ada"), await approve("grace")
    recipe = (await publish(service, ada)).json()
    await service.call("POST", f"api/recipes/{recipe['id']}/imports", token=grace.token)
    counted = await service.call("POST", f"api/recipes/{recipe['id']}/runs", token=grace.token)
    assert (counted.json()["imports"], counted.json()["runs"]) == (1, 1)


@pytest.mark.parametrize("path", ["api/recipes", "api/recipes/0123456789abcdef0123456789abcdef",
                                  "api/recipes/0123456789abcdef0123456789abcdef/notebook", "recipes",
                                  "recipes/0123456789abcdef0123456789abcdef"])
async def test_an_unapproved_person_cannot_reach_the_gallery(service, approve, person, path):
    ada = await approve("ada")
    recipe = (await publish(service, ada)).json()
    path = path.replace("0123456789abcdef0123456789abcdef", recipe["id"])
    stranger = person("stranger")
    answer = await service.call("GET", path, token=stranger.token)
    assert answer.status_code == 403, answer.text
    assert "approved for the beta" in answer.text and recipe["title"] not in answer.text
    refused = await service.call("POST", "api/recipes", token=stranger.token, json=a_recipe())
    assert refused.status_code == 403
    assert await service.store.recipes.by_author(stranger.email) == []


async def test_an_oversize_notebook_gets_a_clear_400_and_nothing_is_stored(start_service, approve_on):
    service = await start_service(recipe_max_bytes=20_000)
    ada = await approve_on(service, "ada")
    big = notebook(code("Go", text_output("x" * 30_000)))
    answer = await service.call("POST", "api/recipes", token=ada.token, json=a_recipe(notebook=big))
    assert answer.status_code == 400
    assert answer.json()["field"] == "notebook" and "at most 20,000 bytes" in answer.json()["error"]
    # the same notebook fits once its outputs are cleared
    fits = await service.call("POST", "api/recipes", token=ada.token, json=a_recipe(notebook=big, outputs="cleared"))
    assert fits.status_code == 201, fits.text
    assert [r.id for r in await service.store.recipes.by_author(ada.email)] == [fits.json()["id"]]


@pytest.mark.parametrize(("change", "field", "says"), [
    ({"notebook": {"cells": []}}, "notebook", "not a valid Jupyter notebook"),
    ({"notebook": {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}}, "notebook", "nbformat 3"),
    ({"notebook": notebook({"cell_type": "weird", "source": "x", "metadata": {}})}, "notebook", "cells/0"),
    ({"notebook": notebook({"cell_type": "code", "source": 7, "metadata": {}, "outputs": [], "execution_count": None})},
     "notebook", "not a valid"),
    ({"notebook": "not an object"}, "notebook", "notebook"),
    ({"notebook": {"nbformat": 4, "nbformat_minor": "x", "metadata": {}, "cells": []}}, "notebook", "nbformat_minor"),
    ({"title": ""}, "title", "empty"),
    ({"title": "x" * 121}, "title", "at most 120"),
    ({"title": "two\nlines"}, "title", "one line"),
    ({"tags": ["a"] * 11}, "tags", "at most 10"),
    ({"outputs": "some"}, "outputs", "kept"),
    ({"agent": {"instructions": "no name"}}, "agent", "'name' is required"),
    ({"agent": {"name": "X", "model": "gpt-4"}}, "agent", "must be one of"),
    ({"agent": None}, "agent", "needs its agent"),
    ({"author": "someone@example.org"}, "author", "set by the service"),
    ({"confirmed_not_credentials": ["nothex"]}, "confirmed_not_credentials", "fingerprint"),
])
async def test_malformed_recipes_get_a_400_naming_the_field(service, approve, change, field, says):
    ada = await approve("ada")
    answer = await publish(service, ada, **change)
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == field and says in answer.json()["error"], answer.json()
    assert await service.store.recipes.by_author(ada.email) == []


async def test_a_body_that_is_not_json_gets_a_400(service, approve):
    ada = await approve("ada")
    answer = await service.call("POST", "api/recipes", token=ada.token, body=b"{not json",
                                headers={"Content-Type": "application/json"})
    assert answer.status_code == 400 and "JSON" in answer.json()["error"]


async def test_publishing_waits_until_every_credential_is_cleared_or_confirmed(service, approve):
    ada = await approve("ada")
    leaky = notebook(code('api_key = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"'),
                     code("Log in", text_output("password: Tr0ub4dor&3x")),
                     code('token = os.environ["TOKEN"]'))  # a reference to a secret, not one
    refused = await publish(service, ada, notebook=leaky)
    assert refused.status_code == 400, refused.text
    found = refused.json()["credentials"]
    assert [(f["kind"], f["where"]) for f in found] == [("Anthropic API key", "cell 1"),
                                                        ("password, token or key", "cell 2 output")]
    assert "AbCdEfGh" not in refused.text and "Tr0ub4dor" not in refused.text  # never the value itself
    assert await service.store.recipes.by_author(ada.email) == []
    half = await publish(service, ada, notebook=leaky, confirmed_not_credentials=[found[1]["fingerprint"]])
    assert half.status_code == 400 and [f["where"] for f in half.json()["credentials"]] == ["cell 1"]
    confirmed = await publish(service, ada, notebook=leaky, confirmed_not_credentials=[f["fingerprint"] for f in found])
    assert confirmed.status_code == 201, confirmed.text


async def test_the_preview_runs_nothing_of_the_notebook(service, approve):
    ada, grace = await approve("ada"), await approve("grace")
    recipe = (await publish(service, ada, notebook=notebook(*HOSTILE))).json()
    page = await service.call("GET", f"recipes/{recipe['id']}", token=grace.token)
    assert page.status_code == 200, page.text
    body = page.text
    preview = body[body.index('id="preview"'):]
    assert "bold" in preview and "Hello" in preview and "click" in preview
    assert "<script" not in preview.lower() and "<iframe" not in preview.lower() and "<style" not in preview.lower()
    assert "<form" not in preview.lower() and "<svg" not in preview.lower()
    assert not re.search(r"""(href|src)\s*=\s*["']?\s*javascript:""", preview, re.IGNORECASE), "a javascript: URL survived"
    assert "javascript:alert(3)" not in preview.lower()  # from the <a> tag: its href was dropped whole
    assert not re.search(r"\son[a-z]+\s*=", preview, re.IGNORECASE), "an event handler survived"
    assert not re.search(r'<img[^>]+src="(?!data:image/)', preview), "an image that fetches from elsewhere"
    assert "data:image/svg+xml;base64," in preview  # the SVG shown as an image, where it cannot run
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy


async def test_the_gallery_page_lists_searches_and_filters_by_tag(service, approve):
    ada, grace = await approve("ada"), await approve("grace")
    first = (await publish(service, ada)).json()
    second = (await publish(service, ada, title="Customer interviews", tags=["research"], description="")).json()
    page = (await service.call("GET", "recipes", token=grace.token, headers={"Accept-Language": "ko"})).text
    assert first["title"] in page and second["title"] in page and "레시피" in page
    tagged = (await service.call("GET", "recipes?tag=research", token=grace.token)).text
    assert second["title"] in tagged and first["title"] not in tagged
    searched = (await service.call("GET", "recipes?q=competitor", token=grace.token)).text
    assert first["title"] in searched and second["title"] not in searched


async def test_the_author_unpublishes_from_the_page_and_the_admin_removes(service, approve, admin):
    ada = await approve("ada")
    recipe = (await publish(service, ada)).json()
    assert (await service.store.recipes.get(recipe["id"])).status == "published"
    # forms carry the page's XSRF token (with a token in the header there is no cookie to forge)
    answer = await service.call("POST", f"recipes/{recipe['id']}", token=ada.token, data={"action": "unpublish"})
    assert answer.status_code == 200, answer.text
    assert (await service.store.recipes.get(recipe["id"])).status == "unpublished"
    removed = await service.call("POST", f"recipes/{recipe['id']}", token=admin.token, data={"action": "remove"})
    assert removed.status_code == 302
    assert await service.store.recipes.get(recipe["id"]) is None


async def test_the_openapi_document_describes_the_gallery(service):
    document = (await service.call("GET", "api/openapi.json")).json()
    for path in ("/api/recipes", "/api/recipes/{recipe_id}", "/api/recipes/{recipe_id}/notebook",
                 "/api/recipes/{recipe_id}/imports", "/api/recipes/{recipe_id}/runs"):
        assert path in document["paths"], path
    assert "RecipePublish" in document["components"]["schemas"]
    assert json.dumps(document)  # serialisable as served


async def test_the_agent_comes_from_the_notebook_when_the_request_leaves_it_out(service, approve):
    from oma_contract.recipe import definition_of

    ada = await approve("ada")
    carried = definition_of({"name": "Carried", "instructions": "From the notebook.", "allowed_tools": ["Read"]})
    shared = notebook(markdown("# Hi"))
    shared["metadata"]["oh_my_agent"] = {"agent": carried.model_dump(mode="json")}
    request = a_recipe(notebook=shared)
    del request["agent"]
    answer = await service.call("POST", "api/recipes", token=ada.token, json=request)
    assert answer.status_code == 201, answer.text
    agent = answer.json()["agent"]
    assert (agent["name"], agent["instructions"], agent["content_hash"]) == ("Carried", "From the notebook.",
                                                                             carried.content_hash)


async def test_the_gallery_pages_on_past_its_first_page(service, approve, monkeypatch):
    """Newest first, a page at a time, with links both ways that keep the search; a page that is not one is a 400."""
    from agents_extension.service import gallery

    monkeypatch.setattr(gallery, "GALLERY_PAGE_SIZE", 2)
    ada, grace = await approve("ada"), await approve("grace")
    titles = [f"Report number {n}" for n in range(5)]
    for title in titles:
        assert (await publish(service, ada, title=title, tags=["weekly"])).status_code == 201

    async def page(arguments: str) -> str:
        answer = await service.call("GET", f"recipes?{arguments}", token=grace.token)
        assert answer.status_code == 200, answer.text
        return answer.text

    first, second, last = await page("page=1"), await page("page=2&tag=weekly"), await page("page=3&tag=weekly")
    assert titles[4] in first and titles[3] in first and titles[2] not in first
    assert titles[2] in second and titles[1] in second and titles[0] not in second
    assert titles[0] in last and titles[1] not in last
    assert 'id="older-recipes" href="' in first and 'id="newer-recipes"' not in first
    assert "?page=3&amp;tag=weekly" in second and "?page=1&amp;tag=weekly" in second
    assert 'id="older-recipes"' not in last
    for bad in ("0", "x", "1e3", "²", "99999"):
        refused = await service.call("GET", f"recipes?page={bad}", token=grace.token)
        assert refused.status_code == 400 and "whole number" in refused.text, (bad, refused.status_code)
