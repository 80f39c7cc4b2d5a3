"""The Run form in headless Chromium, at phone width and in Korean: fill a parameter, run, watch the progress
until the run is finished, then the runs page lists it; both pages pass the accessibility scan."""

from __future__ import annotations

import asyncio

from tests.browser import CHROMIUM, PHONE, axe_violations, screenshot
from tests.fake_model import say

from ..notebooks import THREE_CELLS, prompts_seen, recipe, write
from .test_run_form import an_agent, on_kernel


async def test_a_person_runs_a_recipe_from_the_run_form_on_a_phone(user_server, claude_env, model, jp_serverapp,
                                                                   jp_http_port, jp_base_url, request):
    agent = await an_agent(user_server)
    write(user_server.agents.parent / "weekly.ipynb", recipe(*THREE_CELLS, kernel=on_kernel(agent)))
    model.script(say("The note."), say("The sources."))
    server = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    token = jp_serverapp.identity_provider.token

    def browse() -> dict:
        from playwright.sync_api import expect, sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport=PHONE, locale="ko-KR", extra_http_headers={"Accept-Language": "ko"})
                page.goto(f"{server}agents/run?path=weekly.ipynb&token={token}")
                expect(page.get_by_role("heading", name="레시피 실행")).to_be_visible()
                form_problems = axe_violations(page)
                page.get_by_label("topic").fill("조력 발전")
                screenshot(page, request, "filled")
                page.get_by_role("button", name="실행", exact=True).click()
                expect(page.locator("#progress-line")).to_contain_text("완료", timeout=180_000)
                expect(page.locator("#progress-line")).to_contain_text("셀 4 / 4")
                screenshot(page, request, "finished")
                wide = page.evaluate("document.documentElement.scrollWidth")
                page.goto(f"{server}agents/runs")
                expect(page.get_by_role("link", name="weekly.ipynb")).to_be_visible()
                screenshot(page, request, "runs")
                return {"form": form_problems, "runs": axe_violations(page), "width": wide}
            finally:
                browser.close()

    seen = await asyncio.to_thread(browse)
    assert seen["form"] == [] and seen["runs"] == [], seen
    assert seen["width"] <= PHONE["width"]
    assert "Write a note about 조력 발전 for analysts." in prompts_seen(model)
