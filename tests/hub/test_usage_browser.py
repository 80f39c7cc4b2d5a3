"""Usage and budgets in headless Chromium against a real hub: the admins' Usage page (figures, limits
changed in place, Korean, phone width, the axe scan) and the agents dashboard's spend per agent against
its monthly limit, with the limit edited on the agent form.

Usage is recorded into the hub's store as the model gateway does (``record_usage``), so what the pages
show comes from the store through the agents service, and through the user server for the dashboard."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from agents_extension.store import open_store
from oma_contract.usage import UsageRecord
from tests.browser import DESKTOP, PHONE, axe_violations, chromium, fits_the_screen, screenshot, sign_in  # noqa: F401 (fixture)
from tests.hub.conftest import ADMIN, SERVICE, person


def run(work):
    """Run a coroutine function to its end on a thread of its own (Playwright's loop runs on this one)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, work()).result()


def store_of(hub):
    return open_store(f"sqlite:///{hub.workdir / 'hub' / 'oh-my-agent.sqlite'}")


def record(hub, *records: tuple[str, str | None, float]) -> None:
    """What the gateway writes after each request: (person, agent id, cost) this month."""

    async def write() -> None:
        store = store_of(hub)
        try:
            for person_, agent_id, cost in records:
                await store.record_usage(UsageRecord(
                    request_id=f"req-{person_}-{agent_id}-{cost}", person=person_, agent_id=agent_id,
                    model="claude-sonnet-4-5", input_tokens=5000, output_tokens=800, cost_usd=cost,
                    at=datetime.now(timezone.utc)))
        finally:
            await store.close()

    run(write)


def limits(hub):
    async def read():
        store = store_of(hub)
        try:
            return await store.budget_limits()
        finally:
            await store.close()

    return run(read)


@pytest.fixture
def default_limit_restored(hub):
    """The hub is shared with other modules: the default limit this test sets must not outlive it."""
    yield

    async def restore() -> None:
        store = store_of(hub)
        try:
            await store.set_default_person_limit(None)
        finally:
            await store.close()

    run(restore)


def test_admins_read_usage_and_change_limits_in_place(hub, chromium, request, default_limit_restored):
    grace, linus = person("grace"), person("linus")
    record(hub, (grace, "agent-g", 2.5), (grace, None, 0.25), (linus, None, 1.0))

    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, hub, ADMIN)
    # From the hub's navigation, next to the beta applications.
    page.click("#usage-link")
    page.wait_for_url(f"{hub.url}{SERVICE}admin/usage")
    page.locator("h1", has_text="Usage").wait_for()
    grace_row = page.locator(f'tr[data-person="{grace}"]')
    assert "$2.75" in grace_row.inner_text()
    assert "$1.00" in page.locator(f'tr[data-person="{linus}"]').inner_text()
    screenshot(page, request, "figures")
    assert axe_violations(page) == []

    # The default per person, then an override for grace, each saved from where it is shown.
    page.fill("#default-limit input[name=monthly_limit_usd]", "2")
    page.click("#default-limit button[value=default]")
    page.locator("#usage-message", has_text="$2.00").wait_for()
    assert "limit reached" in page.locator(f'tr[data-person="{grace}"]').inner_text()
    page.locator(f'tr[data-person="{grace}"] input[name=monthly_limit_usd]').fill("10")
    page.locator(f'tr[data-person="{grace}"] button[value=person]').click()
    page.locator("#usage-message", has_text=grace).wait_for()
    assert "limit reached" not in page.locator(f'tr[data-person="{grace}"]').inner_text()
    stored = limits(hub)
    assert stored.default_person_usd == 2 and stored.people[grace] == 10

    # A bad amount is refused where it was typed, and nothing changes.
    page.fill("#hub-limit input[name=monthly_limit_usd]", "lots")
    page.click("#hub-limit button[value=hub]")
    page.locator("#usage-error", has_text="monthly_limit_usd").wait_for()
    assert limits(hub).hub_usd is None
    screenshot(page, request, "refused")
    assert axe_violations(page) == []
    context.close()

    # In Korean, on a phone.
    phone = chromium.new_context(viewport=PHONE, locale="ko-KR")
    page = phone.new_page()
    sign_in(page, hub, ADMIN)
    page.goto(f"{hub.url}{SERVICE}admin/usage")
    page.locator("h1", has_text="사용량").wait_for()
    assert page.locator("#people-title").inner_text() == "사용자별"
    assert fits_the_screen(page), "the page must not scroll sideways at 390 px"
    screenshot(page, request, "phone-korean")
    assert axe_violations(page) == []
    phone.close()


def test_the_dashboard_shows_each_agents_spend_against_its_limit(hub, chromium, request):
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    email, token = hub.person_with_server(admin_token, "ada")
    capped = hub.api(token, "POST", f"/user/{email}/api/agents", json={"name": "Capped", "monthly_limit_usd": 2})
    free = hub.api(token, "POST", f"/user/{email}/api/agents", json={"name": "Free"})
    assert capped.status_code == 201 and free.status_code == 201, capped.text + free.text
    capped, free = capped.json(), free.json()
    record(hub, (email, capped["id"], 1.5), (email, free["id"], 0.004), (email, None, 7))

    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, hub, email)
    page.goto(f"{hub.url}/user/{email}/agents")
    capped_card = page.locator(f'article[data-agent-id="{capped["id"]}"]')
    capped_card.locator(".spend", has_text="$1.50 of $2.00").wait_for()
    page.locator(f'article[data-agent-id="{free["id"]}"] .spend', has_text="$0.004 (no monthly limit)").wait_for()
    assert fits_the_screen(page)
    screenshot(page, request, "spend")

    # The owner lowers the limit on the agent's form: the card says it is reached.
    capped_card.locator("button.edit").click()
    assert page.input_value("input[name=monthly_limit_usd]") == "2"
    page.fill("input[name=monthly_limit_usd]", "1.5")
    page.click("#save")
    capped_card.locator(".spend.over", has_text="$1.50 of $1.50").wait_for()
    assert "Monthly limit reached" in capped_card.inner_text()
    agent = hub.api(token, "GET", f"/user/{email}/api/agents/{capped['id']}").json()
    assert agent["monthly_limit_usd"] == 1.5
    screenshot(page, request, "limit-reached")

    # Saving the form without touching the limit keeps it (the form sends every field it shows).
    capped_card.locator("button.edit").click()
    page.fill("input[name=description]", "Kept within budget")
    page.click("#save")
    page.locator(f'article[data-agent-id="{capped["id"]}"]', has_text="Kept within budget").wait_for()
    assert hub.api(token, "GET", f"/user/{email}/api/agents/{capped['id']}").json()["monthly_limit_usd"] == 1.5

    # The user server's own API gives the person their month, and only theirs.
    mine = hub.api(token, "GET", f"/user/{email}/api/usage/me").json()
    assert mine["total"]["cost_usd"] == pytest.approx(8.504) and mine["agent_limits"][capped["id"]] == 1.5
    context.close()
    hub.stop_server(token, email)
