"""The admins' Usage page, served by a real service with a real store: what it shows, in English and
Korean, and its limit forms (a change is saved; a refused one says why with a 400 and changes nothing).
The page in Chromium, at phone width and with the accessibility scan: tests/hub/test_usage_browser.py."""

from __future__ import annotations

import html
from datetime import datetime, timezone

from oma_contract.usage import UsageRecord
from tests.service.real_hub import ADMIN

MARCH = datetime(2026, 3, 10, 8, 0, tzinfo=timezone.utc)


async def page(service, token, month="2026-03", language="en"):
    return await service.call("GET", f"admin/usage?month={month}", token=token, headers={"Accept-Language": language})


async def change(service, token, **form):
    return await service.call("POST", "admin/usage", token=token, data={"month": "2026-03", **form})


async def test_the_page_shows_the_month_by_person_and_by_agent(service, admin, approve):
    alice = await approve("alice")
    agent = (await service.call("POST", "api/agents", token=alice.token,
                                json={"name": "Researcher", "monthly_limit_usd": 5})).json()
    for request_id, person, agent_id, cost in (("1", alice.email, agent["id"], 1.5), ("2", ADMIN, None, 0.004)):
        await service.store.record_usage(UsageRecord(request_id=request_id, person=person, agent_id=agent_id,
                                                     cost_usd=cost, input_tokens=1200, at=MARCH))

    shown = await page(service, admin.token)
    assert shown.status_code == 200, shown.text
    text = html.unescape(shown.text)
    assert 'id="total-cost">$1.50' in text  # 1.504 rounded to cents
    assert f'data-person="{alice.email}"' in text and f'data-person="{ADMIN}"' in text
    assert "$0.0040" in text, "amounts below a cent are not shown as $0.00"
    assert f'data-agent="{agent["id"]}"' in text and "Researcher" in text and "$5.00" in text
    assert '<option value="2026-03" selected' in text

    korean = html.unescape((await page(service, admin.token, language="ko")).text)
    assert "사용량" in korean and "사용자별" in korean and "에이전트별" in korean


async def test_only_admins_see_the_page(service, approve):
    alice = await approve("alice")
    assert (await page(service, alice.token)).status_code == 403
    assert (await change(service, alice.token, action="hub", monthly_limit_usd="1")).status_code == 403
    assert (await service.store.budget_limits()).hub_usd is None


async def test_limits_are_changed_in_place(service, admin):
    saved = await change(service, admin.token, action="default", monthly_limit_usd="$1,250.50")
    assert saved.status_code == 200, saved.text
    assert "The default monthly limit per person is now $1,250.50." in html.unescape(saved.text)
    await change(service, admin.token, action="hub", monthly_limit_usd="5000")
    await change(service, admin.token, action="person", person="Grace@Example.com", monthly_limit_usd="")
    limits = await service.store.budget_limits()
    assert (limits.default_person_usd, limits.hub_usd, limits.people) == (1250.5, 5000, {"grace@example.com": None})
    assert 'data-person="grace@example.com"' in (await page(service, admin.token)).text

    cleared = await change(service, admin.token, action="clear", person="grace@example.com")
    assert "grace@example.com follows the default limit again." in html.unescape(cleared.text)
    assert (await service.store.budget_limits()).people == {}


async def test_a_refused_change_says_why_and_changes_nothing(service, admin):
    await change(service, admin.token, action="hub", monthly_limit_usd="10")
    for form, words in (({"action": "hub", "monthly_limit_usd": "ten"}, "'monthly_limit_usd' must be an amount"),
                        ({"action": "hub", "monthly_limit_usd": "-3"}, "from 0 to 1,000,000"),
                        ({"action": "person", "person": "nobody", "monthly_limit_usd": "3"}, "e-mail address"),
                        ({"action": "erase", "monthly_limit_usd": "3"}, "Use one of the page's buttons"),
                        ({"action": "hub", "monthly_limit_usd": "3", "month": "2026-3"}, "YYYY-MM")):
        refused = await change(service, admin.token, **form)
        assert refused.status_code == 400, (form, refused.text)
        assert words in html.unescape(refused.text), form
        assert 'id="usage-error"' in refused.text
    limits = await service.store.budget_limits()
    assert (limits.hub_usd, limits.default_person_usd, limits.people) == (10, None, {})
    assert (await page(service, admin.token, month="2026-13")).status_code == 400
