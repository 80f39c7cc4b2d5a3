"""The gallery journey in headless Chromium on the real platform (JupyterHub, its proxy, the agents service,
two people's servers, the fake model): an author shares a notebook from their dashboard, a colleague finds
it in the gallery, previews it (its hostile Markdown stays inert), sees the tools, uses it, and runs it in
their own server; someone not approved is turned away. Screenshots in test-artifacts/screenshots/, and an
axe-core scan of every gallery page."""

from __future__ import annotations

import json

import pytest

from tests.browser import DESKTOP, PHONE, axe_violations, chromium, fits_the_screen, screenshot, sign_in  # noqa: F401 (fixture)
from tests.hub.conftest import ADMIN, SERVICE, Hub, person

HOSTILE_MARKDOWN = ('# Weekly competitor report\nWhat changed this week.\n\n'
                    '<img src="x" onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
                    '[a link](javascript:document.title=\'pwned\')')


@pytest.fixture(scope="module")
def platform(tmp_path_factory, fake_model) -> Hub:
    hub = Hub(tmp_path_factory.mktemp("gallery-hub"), fake_model.client_environment())
    yield hub
    hub.stop()


def no_serious_violations(page, chromium, **context) -> None:
    """axe-core on the page as its person sees it. The gallery's pages allow no inline script (their
    Content-Security-Policy), which is how axe is put into a page, so the scan runs on the same URL in a
    context of the same person that ignores the policy; the page must stay inert there too, on the
    sanitizer alone."""
    audit = chromium.new_context(bypass_csp=True, storage_state=page.context.storage_state(), **context)
    try:
        seen = audit.new_page()
        seen.goto(page.url)
        assert seen.title() != "pwned"
        violations = axe_violations(seen)
        assert violations == [], json.dumps(violations, indent=1)
    finally:
        audit.close()


def an_agent_notebook(hub: Hub, email: str, token: str) -> tuple[dict, str]:
    """The author's agent and a notebook of theirs on its kernel, made through their own server."""
    agent = hub.api(token, "POST", f"/user/{email}/api/agents", json={
        "name": "Weekly analyst", "instructions": "Summarise the week in three bullet points.",
        "allowed_tools": ["Read", "WebSearch"], "disallowed_tools": ["Bash"], "status": "active"})
    assert agent.status_code == 201, agent.text
    agent = agent.json()
    path = f"agents/{agent['slug']}/report.ipynb"
    content = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {
        "name": f"claude-{agent['slug']}", "display_name": "Claude · Weekly analyst", "language": "markdown"}},
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": HOSTILE_MARKDOWN},
                  {"cell_type": "code", "metadata": {}, "source": "How did competitor prices move?",
                   "execution_count": None, "outputs": []}]}
    saved = hub.api(token, "PUT", f"/user/{email}/api/contents/{path}",
                    json={"type": "notebook", "format": "json", "content": content})
    assert saved.status_code in (200, 201), saved.text
    return agent, path


def test_share_find_preview_use_and_run_a_recipe(platform, chromium, fake_model, request):
    from tests.fake_model import say

    hub = platform
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    author, author_token = hub.person_with_server(admin_token, "author")
    _, path = an_agent_notebook(hub, author, author_token)

    # the author shares it from the dashboard
    desk = chromium.new_context(viewport=DESKTOP)
    page = desk.new_page()
    sign_in(page, hub, author)
    page.goto(f"{hub.url}/user/{author}/agents")
    page.click("#share-recipe")
    page.wait_for_selector("#share-form")
    page.select_option("#path", path)
    page.fill("#title", "Weekly competitor report")
    page.fill("#description", "Prices and launches of the week, in three bullet points.")
    page.fill("#tags", "marketing, weekly")
    no_serious_violations(page, chromium, viewport=DESKTOP)
    screenshot(page, request, "share")
    page.click("#publish")
    page.wait_for_selector("#recipe-title")
    assert page.url.startswith(f"{hub.url}{SERVICE}recipes/")
    recipe_id = page.url.rsplit("/", 1)[-1]
    desk.close()

    # a colleague, on a phone in Korean, finds it in the gallery
    colleague, colleague_token = hub.person_with_server(admin_token, "colleague")
    phone = chromium.new_context(viewport=PHONE, locale="ko-KR")
    page = phone.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    sign_in(page, hub, colleague)
    if not page.locator("#recipes-link").is_visible():  # the hub's navigation folds behind its toggler on a phone
        page.click(".navbar-toggler")
    page.click("#recipes-link")
    page.wait_for_selector("#recipes")
    assert "레시피" in page.inner_text("h1")
    page.fill("#q", "competitor")
    page.click("#search")
    card = page.locator(f'.recipe-card[data-recipe="{recipe_id}"]').first
    card.wait_for()
    assert "0" in card.locator(".imports").inner_text()
    assert fits_the_screen(page)
    no_serious_violations(page, chromium, viewport=PHONE, locale="ko-KR")
    screenshot(page, request, "gallery")
    card.locator("a").first.click()
    page.wait_for_selector("#preview")
    assert "What changed this week" in page.inner_text("#preview")
    assert page.title() != "pwned" and dialogs == []  # the preview ran nothing
    assert page.locator("#preview script, #preview [onerror]").count() == 0
    assert "Read, WebSearch" in page.inner_text("#agent-allowed") and "Bash" in page.inner_text("#agent-disallowed")
    assert fits_the_screen(page)
    no_serious_violations(page, chromium, viewport=PHONE, locale="ko-KR")
    screenshot(page, request, "preview")

    # "Use this recipe": their own server shows what it creates, then creates it
    page.click("#use-recipe")
    page.wait_for_selector("#confirm-import", timeout=60_000)
    assert "Read, WebSearch" in page.inner_text("#allowed-tools")
    assert "이 레시피 사용하기" in page.inner_text("h1")
    assert fits_the_screen(page)
    no_serious_violations(page, chromium, viewport=PHONE, locale="ko-KR")
    screenshot(page, request, "import")
    page.click("#confirm-import")
    page.wait_for_url("**/lab/tree/recipes/weekly-competitor-report.ipynb", timeout=90_000)
    phone.close()

    agents = hub.api(colleague_token, "GET", f"/user/{colleague}/api/agents").json()
    assert [(a["name"], a["allowed_tools"]) for a in agents] == [("Weekly analyst", ["Read", "WebSearch"])]
    slug = agents[0]["slug"]
    assert hub.api(colleague_token, "GET", f"/user/{colleague}/api/contents/agents/{slug}").status_code == 200
    specs = hub.api(colleague_token, "GET", f"/user/{colleague}/api/kernelspecs").json()["kernelspecs"]
    assert f"claude-{slug}" in specs
    copied = hub.api(colleague_token, "GET", f"/user/{colleague}/api/contents/recipes/weekly-competitor-report.ipynb")
    assert copied.json()["content"]["metadata"]["kernelspec"]["name"] == f"claude-{slug}"
    # nothing of the author's came along: their notebooks and sessions stay theirs
    assert author not in copied.text
    assert hub.api(colleague_token, "GET", f"/user/{colleague}/api/contents/{path}").status_code == 404

    # the recipe runs there, on the colleague's new agent
    fake_model.script(say("Prices rose 3% this week."))
    desk = chromium.new_context(viewport=DESKTOP)
    page = desk.new_page()
    sign_in(page, hub, colleague)
    page.goto(f"{hub.url}/user/{colleague}/lab/tree/recipes/weekly-competitor-report.ipynb")
    page.get_by_text("Weekly analyst | Idle").wait_for(timeout=90_000)
    page.locator(".jp-Notebook .jp-CodeCell .cm-content").first.click()
    page.keyboard.press("Shift+Enter")
    try:
        page.locator(".jp-OutputArea-output", has_text="Prices rose 3%").first.wait_for(timeout=90_000)
    finally:
        screenshot(page, request, "ran")
    desk.close()
    assert "How did competitor prices move?" in fake_model.seen()
    assert "Summarise the week" in json.dumps(fake_model.requests[-1]["system"])
    counted = hub.api(colleague_token, "GET", f"{SERVICE}api/recipes/{recipe_id}").json()
    assert counted["imports"] == 1


def test_someone_not_approved_cannot_reach_the_gallery(platform, chromium, request):
    hub = platform
    email = person("early")
    token = hub.token_for(hub.sign_in(email))
    assert hub.api(token, "GET", f"{SERVICE}api/recipes").status_code == 403
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, hub, email)
    page.goto(f"{hub.url}{SERVICE}recipes")
    page.wait_for_selector("#gallery-refused")
    assert page.locator(".recipe-card").count() == 0
    assert fits_the_screen(page)
    no_serious_violations(page, chromium, viewport=PHONE, locale="ko-KR")
    screenshot(page, request, "refused")
    page.click("#apply-for-beta")
    page.wait_for_selector("#name")
    context.close()


def test_a_recipe_runs_from_the_gallerys_run_form_and_each_run_is_counted(platform, chromium, fake_model, request):
    from tests.fake_model import say
    from tests.gallery.conftest import a_recipe, code, markdown, notebook

    hub = platform
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    shared = a_recipe(title="Energy brief", notebook=notebook(
        markdown("# Energy brief"), code('%parameters\ntopic = "solar power"'), code("Write a brief about {{topic}}.")))
    recipe = hub.api(admin_token, "POST", f"{SERVICE}api/recipes", json=shared)
    assert recipe.status_code == 201, recipe.text
    recipe_id = recipe.json()["id"]
    runner, runner_token = hub.person_with_server(admin_token, "runner")
    fake_model.script(say("Tides are steady."), say("Winds vary."))

    phone = chromium.new_context(viewport=PHONE, locale="ko-KR")
    page = phone.new_page()
    sign_in(page, hub, runner)
    page.goto(f"{hub.url}{SERVICE}recipes/{recipe_id}")
    field = page.get_by_label("topic")
    assert field.input_value() == "solar power"  # the default filled in
    assert fits_the_screen(page)
    no_serious_violations(page, chromium, viewport=PHONE, locale="ko-KR")
    field.fill("조력 발전")
    screenshot(page, request, "run-form")
    page.click("#run-recipe")
    # no copy yet: what using the recipe creates, then it runs
    page.wait_for_selector("#then-run", timeout=60_000)
    assert "Read, WebSearch" in page.inner_text("#allowed-tools")
    page.click("#confirm-import")
    page.wait_for_url("**/agents/run?**", timeout=60_000)
    progress = page.locator("#progress-line")
    progress.filter(has_text="완료").wait_for(timeout=180_000)
    assert "셀 3 / 3" in progress.inner_text()
    assert fits_the_screen(page)
    screenshot(page, request, "run-progress")
    counted = hub.api(runner_token, "GET", f"{SERVICE}api/recipes/{recipe_id}").json()
    assert (counted["imports"], counted["runs"]) == (1, 1)
    assert "Write a brief about 조력 발전." in fake_model.seen()

    # again from the gallery: the copy is used, its Run page has the value, one more run counted
    page.goto(f"{hub.url}{SERVICE}recipes/{recipe_id}")
    assert "1" in page.inner_text(".runs")
    page.get_by_label("topic").fill("wind")
    page.click("#run-recipe")
    page.wait_for_url("**/agents/run?**", timeout=60_000)
    assert page.locator('#run-form input[name="topic"]').input_value() == "wind"
    page.click("#start")
    progress.filter(has_text="완료").wait_for(timeout=180_000)
    phone.close()
    counted = hub.api(runner_token, "GET", f"{SERVICE}api/recipes/{recipe_id}").json()
    assert (counted["imports"], counted["runs"]) == (1, 2)
    assert len(hub.api(runner_token, "GET", f"/user/{runner}/api/agents").json()) == 1
    assert "Write a brief about wind." in fake_model.seen()
