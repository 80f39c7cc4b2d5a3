"""The beta journey in headless Chromium: sign in, apply, an admin approves, JupyterLab loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser import PHONE, chromium, fits_the_screen, sign_in  # noqa: F401 (chromium: a fixture)
from tests.hub.conftest import ADMIN, person
from tests.polling import wait_for

def test_sign_in_apply_approve_start_jupyterlab(hub, chromium, tmp_path: Path):
    email = person("hana")
    phone = chromium.new_context(viewport=PHONE, locale="ko-KR")
    page = phone.new_page()
    sign_in(page, hub, email)
    assert page.locator("#start").count() == 0
    page.click("#apply-for-beta")
    assert "베타 신청" in page.inner_text("h1")
    assert fits_the_screen(page)
    page.fill("#name", "Hana")
    page.fill("#purpose", "Weekly competitor research for my shop")
    page.click("#apply")
    page.wait_for_selector('#beta-status[data-status="pending"]')
    page.screenshot(path=str(tmp_path / "applied.png"))

    admin = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(admin, hub, ADMIN)
    admin.click("#beta-applications-link")
    admin.check(f'#table-pending tr[data-email="{email}"] input[type=checkbox]')
    admin.fill("#note", "Welcome aboard")
    admin.click("#approve")
    admin.wait_for_selector("#admin-message")
    assert admin.locator(f'#table-approved tr[data-email="{email}"]').count() == 1

    page.goto(f"{hub.url}/hub/home")
    page.click("#start")
    page.wait_for_url(f"**/user/{email}/lab**", timeout=90_000)
    page.wait_for_selector(".jp-LauncherCard", timeout=90_000)
    assert page.locator('.jp-LauncherCard[title="Claude"], .jp-LauncherCard:has-text("Claude")').count() >= 1
    # No agent yet: the launcher's first section says how to make one, and takes her to My agents
    first = page.locator(".jp-Launcher-section", has_text="내 에이전트").locator(".jp-LauncherCard",
                                                                              has_text="첫 에이전트 만들기")
    first.wait_for(timeout=30_000)
    page.screenshot(path=str(tmp_path / "lab.png"))
    with phone.expect_page() as opened:
        first.click()
    dashboard = opened.value
    dashboard.wait_for_load_state()
    assert dashboard.url.endswith(f"/user/{email}/agents")
    assert "내 에이전트" in dashboard.inner_text("h1")
    phone.close()


def test_create_an_agent_on_the_dashboard_open_it_from_the_launcher_and_run_a_cell(hub, chromium, fake_model, tmp_path: Path):
    from tests.fake_model import say

    email = person("yuna")
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    assert hub.api(admin_token, "POST", "/hub/api/users/" + email).status_code in (201, 409)
    assert hub.api(admin_token, "POST", "/hub/api/groups/beta/users", json={"users": [email]}).ok
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, hub, email)
    page.click("#start")
    page.wait_for_selector(".jp-LauncherCard", timeout=90_000)
    page.goto(f"{hub.url}/user/{email}/agents")
    assert fits_the_screen(page)
    page.click("#new-agent")
    page.fill("input[name=name]", "Weekly analyst")
    page.fill("textarea[name=instructions]", "Summarise the week in three bullet points.")
    page.select_option("select[name=status]", "active")
    page.click("#save")
    card = page.locator(".agent", has_text="Weekly analyst")
    card.wait_for()
    assert fits_the_screen(page)
    page.screenshot(path=str(tmp_path / "dashboard.png"))
    # "open a notebook with this agent": a new notebook in the agent's folder, on the agent's kernel
    card.locator("button.open").click()
    page.wait_for_url("**/lab/tree/agents/weekly-analyst/chat-*.ipynb", timeout=60_000)
    page.get_by_text("Weekly analyst | Idle").wait_for(timeout=60_000)

    context.close()
    desktop = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = desktop.new_page()
    sign_in(page, hub, email)
    page.goto(f"{hub.url}/user/{email}/lab?reset")  # a fresh workspace, showing the launcher
    launcher = page.locator(".jp-LauncherCard", has_text="Weekly analyst").first
    launcher.wait_for(timeout=90_000)
    # the dashboard is in JupyterLab's File menu
    page.click("text=File")
    assert page.locator(".lm-Menu-itemLabel", has_text="My agents").count() == 1
    assert page.locator(".lm-Menu-itemLabel", has_text="New Launcher").count() == 1  # the usual items stay
    page.keyboard.press("Escape")
    fake_model.script(say("Here is your week: *busy*."))
    launcher.click()
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
    page.get_by_text("Weekly analyst | Idle").wait_for(timeout=60_000)  # the status bar: kernel ready
    editor = page.locator(".jp-Notebook .jp-Cell .cm-content").first
    editor.click()
    page.keyboard.type("How was my week?")
    page.keyboard.press("Shift+Enter")
    try:
        page.locator(".jp-OutputArea-output", has_text="Here is your week").first.wait_for(timeout=90_000)
    finally:
        page.screenshot(path=str(tmp_path / "notebook.png"))
    page.screenshot(path=str(tmp_path / "notebook.png"))
    assert "How was my week?" in fake_model.seen()
    assert "Summarise the week" in json.dumps(fake_model.requests[-1]["system"])  # the settings the dashboard keeps
    desktop.close()
    # the kernel reported the session: the dashboard's statistics come from it
    token = hub.token_for(hub.sign_in(email))

    def usage() -> dict:
        return hub.api(token, "GET", f"/user/{email}/api/agents").json()[0]["usage"]

    wait_for(lambda: usage()["sessions"] == 1 and usage()["turns"] >= 1)
    usage = usage()
    assert usage["sessions"] == 1 and usage["turns"] >= 1 and usage["cost_usd"] > 0 and usage["last_used_at"]


FETCHES = """async () => {
  // What a script on the service's own page does: fetch its API with the sign-in cookie.
  const xsrf = (document.cookie.split('; ').find(c => c.startsWith('_xsrf=')) || '').slice(6);
  const call = async (path, options = {}) => {
    const response = await fetch(path, {...options, signal: AbortSignal.timeout(10000)});
    return {status: response.status, body: await response.json()};
  };
  const json = {'Content-Type': 'application/json'};
  const application = JSON.stringify({name: 'Fetch', purpose: 'Agents, asked for from the page'});
  return {
    bare: await call('api/me'),
    refused: await call('api/beta/applications', {method: 'POST', headers: json, body: application}),
    me: await call('api/me', {headers: {'X-XSRFToken': xsrf}}),
    applied: await call('api/beta/applications', {method: 'POST', headers: {...json, 'X-XSRFToken': xsrf}, body: application}),
  };
}"""


def test_a_fetch_from_the_services_own_page_gets_an_answer(hub, chromium):
    email = person("fetch")
    context = chromium.new_context()
    page = context.new_page()
    sign_in(page, hub, email)
    page.goto(f"{hub.url}/services/agents/beta")
    answers = page.evaluate(FETCHES)
    # without the page's XSRF token the cookie does not count (and says so), with it the call goes through
    assert answers["bare"]["status"] == 403 and "X-XSRFToken" in answers["bare"]["body"]["error"]
    assert answers["refused"]["status"] == 403
    assert answers["me"] == {"status": 200, "body": {"email": email, "beta_status": "none", "application": None,
                                                     "decision": None, "admin": False}}
    assert answers["applied"]["status"] == 201 and answers["applied"]["body"]["beta_status"] == "pending"
    page.reload()
    page.wait_for_selector('#beta-status[data-status="pending"]')
    context.close()


def test_an_unapproved_person_who_opens_the_spawn_page_is_shown_where_to_apply(hub, chromium):
    email = person("early")
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, hub, email)
    page.goto(f"{hub.url}/hub/spawn/{email}")
    page.wait_for_selector("#apply-for-beta")
    assert "contact admin" not in page.inner_text("body").lower()
    assert page.locator("#logout").is_visible() and email in page.inner_text("nav")
    page.set_viewport_size(PHONE)
    assert fits_the_screen(page)
    page.click("#apply-for-beta")
    page.wait_for_selector("#name")
    assert page.url.endswith("/services/agents/beta")
    context.close()
