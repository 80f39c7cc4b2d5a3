"""Beta access in the service: applying, deciding, the e-mails queued, and the same limits on the
pages and in the API.

Handler level (tests/service/conftest.py). The pages are called here with a person's JupyterHub
token, which they accept as they accept the sign-in cookie; the cookie and its XSRF token are
tested on the real hub (tests/hub/test_service_security.py), and so are the hub's own pages and
its beta gate (tests/hub/test_beta_access.py).
"""

from __future__ import annotations

import asyncio

import pytest

from tests.service.client import Answer
from tests.service.conftest import ADMIN, RunningService
from tests.service.real_hub import Person


async def apply(service: RunningService, someone: Person, name="Alice Kim",
                purpose="Summarise market reports every Monday", organisation="ACME") -> Answer:
    """Apply on the beta page's form."""
    return await service.call("POST", "beta", token=someone.token,
                              data={"name": name, "purpose": purpose, "organisation": organisation})


async def outbox(service: RunningService, admin: Person, *people: str) -> list[dict]:
    """The queued e-mails to or about these people."""
    messages = (await service.call("GET", "api/outbox?limit=1000", token=admin.token)).json()
    return [m for m in messages if any(p in m["to"] or p in m["text"] for p in people)]


async def status_of(service: RunningService, admin: Person, email: str) -> str:
    return (await service.call("GET", f"api/beta/applications/{email}", token=admin.token)).json()["beta_status"]


async def test_applying_records_a_pending_application_and_queues_two_emails(service, person, admin):
    alice = person("alice")
    page = await apply(service, alice)
    assert page.status_code == 200 and 'data-status="pending"' in page.text
    people = (await service.call("GET", "api/beta/applications?status=pending", token=admin.token)).json()
    assert [p["application"]["purpose"] for p in people if p["email"] == alice.email] == [
        "Summarise market reports every Monday"]
    messages = await outbox(service, admin, alice.email)
    assert sorted((m["event"], tuple(m["to"])) for m in messages) == [
        ("beta.applied.admin", (ADMIN,)), ("beta.applied.applicant", (alice.email,))]
    # applying again while pending changes nothing and sends nothing
    await apply(service, alice)
    assert len(await outbox(service, admin, alice.email)) == 2


@pytest.mark.parametrize(
    ("form", "field"),
    [({"name": "", "purpose": "x"}, "name"), ({"name": "A", "purpose": "  "}, "purpose"),
     ({"name": "A" * 121, "purpose": "x"}, "name"), ({"name": "A", "purpose": "x" * 2001}, "purpose")],
)
async def test_bad_application_gets_a_400_naming_the_field_and_stores_nothing(service, person, form, field):
    alice = person("alice")
    response = await service.call("POST", "api/beta/applications", token=alice.token, json=form)
    assert response.status_code == 400
    assert response.json()["field"] == field and field in response.json()["error"]
    assert (await service.call("GET", "api/me", token=alice.token)).json()["beta_status"] == "none"


async def test_admins_decide_many_at_once_through_the_api_and_rejection_is_emailed(service, person, admin):
    bo, chul, dana = person("bo"), person("chul"), person("dana")
    for who in (bo, chul, dana):
        await apply(service, who, name=who.email.split("@")[0])
    response = await service.call("POST", "api/beta/decisions", token=admin.token,
                                  json={"emails": [bo.email, chul.email], "decision": "reject", "note": "Full for now"})
    assert response.status_code == 200
    assert [p["beta_status"] for p in response.json()] == ["rejected", "rejected"]
    rejected = [m for m in await outbox(service, admin, bo.email, chul.email, dana.email) if m["event"] == "beta.rejected"]
    assert sorted(m["to"][0] for m in rejected) == sorted([bo.email, chul.email])
    assert all("Full for now" in m["text"] for m in rejected)
    pending = (await service.call("GET", "api/beta/applications?status=pending", token=admin.token)).json()
    assert dana.email in [p["email"] for p in pending] and bo.email not in [p["email"] for p in pending]


async def test_non_admins_cannot_see_or_decide_applications(service, person):
    alice = person("alice")
    assert (await service.call("GET", "admin/beta", token=alice.token)).status_code == 403
    assert (await service.call("GET", "admin/outbox", token=alice.token)).status_code == 403
    assert (await service.call("GET", "api/beta/applications", token=alice.token)).status_code == 403
    decided = await service.call("POST", "api/beta/decisions", token=alice.token,
                                 json={"emails": [alice.email], "decision": "approve"})
    assert decided.status_code == 403
    assert (await service.call("GET", f"api/beta/applications/{ADMIN}", token=alice.token)).status_code == 404


async def test_unauthenticated_api_calls_are_refused(service):
    assert (await service.call("GET", "api/me")).status_code == 403
    assert (await service.call("GET", "api/me", token="nope")).status_code == 403


async def test_pages_speak_korean_to_korean_browsers(service, person, admin):
    page = await service.call("GET", "admin/beta", token=admin.token, headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"})
    assert "베타 신청 관리" in page.text and page.headers["Content-Language"] == "ko"
    korean = await service.call("GET", "beta", token=person("alice").token, headers={"Accept-Language": "ko"})
    assert "베타 신청" in korean.text
    english = await service.call("GET", "beta", token=person("bob").token, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Apply for the beta" in english.text


async def test_local_mode_outbox_is_readable_by_admins_in_the_browser(service, person, admin):
    alice = person("alice")
    await apply(service, alice)
    page = await service.call("GET", "admin/outbox", token=admin.token)
    assert page.status_code == 200
    assert 'class="card mb-2 outbox-message" data-event="beta.applied.applicant"' in page.text
    assert alice.email in page.text


async def test_a_bad_outbox_limit_is_a_400_naming_it(service, admin):
    for limit in ("abc", "0", "-1", "10001"):
        refused = await service.call("GET", f"api/outbox?limit={limit}", token=admin.token)
        assert refused.status_code == 400 and refused.json()["field"] == "limit", refused.text


async def test_the_service_publishes_its_openapi_document(service):
    document = (await service.call("GET", "api/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert {"/api/me", "/api/beta/applications", "/api/beta/decisions", "/api/outbox"} <= set(document["paths"])


# -- e-mail only for real changes -------------------------------------------------------------------
async def test_concurrent_approvals_of_one_person_send_one_mail(service, person, admin):
    thrice = person("thrice")
    await apply(service, thrice)
    answers = await asyncio.gather(*(service.call("POST", "api/beta/decisions", token=admin.token,
                                                  json={"emails": [thrice.email], "decision": "approve"})
                                     for _ in range(3)))
    assert [a.status_code for a in answers] == [200] * 3
    page = await service.call("POST", "admin/beta", token=admin.token, data={"email": [thrice.email], "action": "approve"})
    assert "nothing changed and no e-mail" in page.text
    assert [m["event"] for m in await outbox(service, admin, thrice.email)].count("beta.approved") == 1


async def test_rejecting_someone_who_never_applied_sends_no_mail(service, person, admin):
    never = person("never")
    assert (await service.call("GET", "beta", token=never.token)).status_code == 200  # signed in, never applied
    rejected = await service.call("POST", "api/beta/decisions", token=admin.token,
                                  json={"emails": [never.email], "decision": "reject"})
    assert rejected.status_code == 200 and rejected.json()[0]["beta_status"] == "rejected"
    assert await outbox(service, admin, never.email) == []


# -- the same limits on every route -------------------------------------------------------------------
async def test_the_admin_page_refuses_a_note_the_api_refuses_and_stores_nothing(service, person, admin):
    noted = person("noted")
    await apply(service, noted)
    page = await service.call("POST", "admin/beta", token=admin.token,
                              data={"email": [noted.email], "action": "approve", "note": "x" * 200_000})
    api = await service.call("POST", "api/beta/decisions", token=admin.token,
                             json={"emails": [noted.email], "decision": "approve", "note": "x" * 2001})
    assert page.status_code == 400 and 'id="admin-error"' in page.text
    assert "&#39;note&#39;" in page.text and "200,000" in page.text  # the field, and how long it was
    assert api.status_code == 400 and api.json()["field"] == "note"
    assert await status_of(service, admin, noted.email) == "pending"
    assert [m["event"] for m in await outbox(service, admin, noted.email)].count("beta.approved") == 0


CONTROL = {"NUL": "Alice\x00Kim", "escape": "Alice\x1b[31mKim", "DEL": "Alice\x7f"}


@pytest.mark.parametrize("character", CONTROL, ids=list(CONTROL))
@pytest.mark.parametrize("field", ["name", "purpose", "organisation"])
async def test_control_characters_are_refused_by_the_page_and_the_api_naming_the_field(service, person, field,
                                                                                      character):
    alice = person("ctrl")
    form = {"name": "Alice", "purpose": "Agents", "organisation": "", field: CONTROL[character]}
    page = await apply(service, alice, **form)
    api = await service.call("POST", "api/beta/applications", token=alice.token, json=form)
    assert page.status_code == 400 and f"&#39;{field}&#39;" in page.text
    assert api.status_code == 400 and api.json()["field"] == field and field in api.json()["error"]
    assert (await service.call("GET", "api/me", token=alice.token)).json()["beta_status"] == "none"


async def test_control_characters_are_refused_in_decisions_by_the_page_and_the_api(service, person, admin):
    ctrl = person("ctrl")
    await apply(service, ctrl)
    page = await service.call("POST", "admin/beta", token=admin.token,
                              data={"email": [ctrl.email], "action": "reject", "note": "no\x00"})
    api = await service.call("POST", "api/beta/decisions", token=admin.token,
                             json={"emails": [ctrl.email + "\x00"], "decision": "reject"})
    assert page.status_code == 400 and "&#39;note&#39;" in page.text
    assert api.status_code == 400 and api.json()["field"] == "emails"
    assert await status_of(service, admin, ctrl.email) == "pending"
    messages = await outbox(service, admin, ctrl.email)
    assert messages and all(m["event"] != "beta.rejected" for m in messages)


async def test_the_language_a_person_picked_on_the_switch_wins_over_the_browsers(service, person):
    # The hub's switch keeps the choice in the oma_lang cookie (path /): the service's pages follow it.
    picked = await service.call("GET", "beta", token=person("carol").token,
                                headers={"Accept-Language": "en-US,en;q=0.9", "Cookie": "oma_lang=ko"})
    assert "베타" in picked.text and picked.headers["Content-Language"] == "ko"
    forged = await service.call("GET", "beta", token=person("dave").token,
                                headers={"Accept-Language": "en-US", "Cookie": "oma_lang=xx"})
    assert "Apply for the beta" in forged.text
