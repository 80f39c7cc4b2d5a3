"""Beta access on the real hub: apply, decide, group sync, and enforcement on every route."""

from __future__ import annotations

import time

import pytest

from tests.hub.conftest import ADMIN, SERVICE, person
from tests.polling import wait_for


def apply(browser, name="Alice Kim", purpose="Summarise market reports every Monday", organisation="ACME"):
    return browser.post(SERVICE + "beta", data={"name": name, "purpose": purpose, "organisation": organisation},
                        xsrf_path=SERVICE)


def outbox(hub, admin_token, *people):
    """The queued e-mails to or about these people."""
    messages = hub.api(admin_token, "GET", SERVICE + "api/outbox?limit=1000").json()
    return [m for m in messages if any(p in m["to"] or p in m["text"] for p in people)]


def spawn_refusals(hub, browser, token) -> dict[str, int]:
    """Every route to a server, tried by an unapproved person."""
    name = browser.name
    return {
        "home start link": browser.get(f"/hub/spawn/{name}", allow_redirects=False).status_code,
        "spawn page post": browser.post(f"/hub/spawn/{name}", xsrf_path="/hub/", allow_redirects=False).status_code,
        "user url": browser.get(f"/user/{name}/lab", allow_redirects=True).status_code,
        "rest api": hub.api(token, "POST", f"/hub/api/users/{name}/server").status_code,
        "rest api named": hub.api(token, "POST", f"/hub/api/users/{name}/servers/").status_code,
    }


def test_signed_in_person_without_approval_is_offered_the_beta_not_a_server(hub):
    email = person("alice")
    alice = hub.sign_in(email.replace("alice", "Alice"))
    home = alice.get("/hub/home")
    assert 'id="apply-for-beta"' in home.text
    assert 'id="start"' not in home.text
    me = hub.api(hub.token_for(alice), "GET", SERVICE + "api/me").json()
    assert me["email"] == email and me["beta_status"] == "none" and me["admin"] is False


def test_unapproved_person_cannot_start_a_server_by_any_route(hub):
    email = person("alice")
    alice = hub.sign_in(email)
    token = hub.token_for(alice)
    refusals = spawn_refusals(hub, alice, token)
    assert all(code in (403, 400) for code in refusals.values()), refusals
    api = hub.api(token, "POST", f"/hub/api/users/{email}/server")
    assert api.status_code == 403
    assert "beta" in api.json()["message"]
    assert hub.api(token, "GET", f"/hub/api/users/{email}").json()["servers"] == {}


def test_applying_records_a_pending_application_and_queues_two_emails(hub):
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    email = person("alice")
    alice = hub.sign_in(email)
    page = apply(alice)
    assert page.status_code == 200 and 'data-status="pending"' in page.text
    people = hub.api(admin_token, "GET", SERVICE + "api/beta/applications?status=pending").json()
    assert [p["application"]["purpose"] for p in people if p["email"] == email] == ["Summarise market reports every Monday"]
    messages = outbox(hub, admin_token, email)
    assert sorted((m["event"], tuple(m["to"])) for m in messages) == [
        ("beta.applied.admin", (ADMIN,)), ("beta.applied.applicant", (email,))]
    # applying again while pending changes nothing and sends nothing
    apply(alice)
    assert len(outbox(hub, admin_token, email)) == 2


@pytest.mark.parametrize(
    ("form", "field"),
    [({"name": "", "purpose": "x"}, "name"), ({"name": "A", "purpose": "  "}, "purpose"),
     ({"name": "A" * 121, "purpose": "x"}, "name"), ({"name": "A", "purpose": "x" * 2001}, "purpose")],
)
def test_bad_application_gets_a_400_naming_the_field_and_stores_nothing(hub, form, field):
    alice = hub.sign_in(person("alice"))
    token = hub.token_for(alice)
    response = hub.api(token, "POST", SERVICE + "api/beta/applications", json=form)
    assert response.status_code == 400
    assert response.json()["field"] == field and field in response.json()["error"]
    assert hub.api(token, "GET", SERVICE + "api/me").json()["beta_status"] == "none"


def test_approval_lets_the_person_start_a_server_immediately_and_emails_them(hub):
    admin = hub.sign_in(ADMIN)
    admin_token = hub.token_for(admin)
    email = person("alice")
    alice = hub.sign_in(email)
    apply(alice)
    page = admin.post(SERVICE + "admin/beta", data={"email": [email], "action": "approve", "note": "Welcome!"},
                      xsrf_path=SERVICE)
    assert page.status_code == 200 and 'id="admin-message"' in page.text
    assert email in hub.api(admin_token, "GET", "/hub/api/groups/beta").json()["users"]
    me = hub.api(hub.token_for(alice), "GET", SERVICE + "api/me").json()
    assert me["beta_status"] == "approved" and me["decision"]["by"] == ADMIN
    approvals = [m for m in outbox(hub, admin_token, email) if m["event"] == "beta.approved"]
    assert len(approvals) == 1 and approvals[0]["to"] == [email] and "Welcome!" in approvals[0]["text"]
    start = hub.api(hub.token_for(alice), "POST", f"/hub/api/users/{email}/server")
    assert start.status_code in (201, 202), start.text
    approved_home = alice.get("/hub/home").text
    assert 'id="start"' in approved_home
    assert 'id="agents-dashboard" href="/hub/user-redirect/agents"' in approved_home
    assert hub.api(admin_token, "DELETE", f"/hub/api/users/{email}/server").status_code in (202, 204)


def test_admins_decide_many_at_once_through_the_api_and_rejection_is_emailed(hub):
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    bo, chul, dana = person("bo"), person("chul"), person("dana")
    for who in (bo, chul, dana):
        apply(hub.sign_in(who), name=who.split("@")[0])
    response = hub.api(admin_token, "POST", SERVICE + "api/beta/decisions",
                       json={"emails": [bo, chul], "decision": "reject", "note": "Full for now"})
    assert response.status_code == 200
    assert [p["beta_status"] for p in response.json()] == ["rejected", "rejected"]
    rejected = [m for m in outbox(hub, admin_token, bo, chul, dana) if m["event"] == "beta.rejected"]
    assert sorted(m["to"][0] for m in rejected) == sorted([bo, chul])
    assert all("Full for now" in m["text"] for m in rejected)
    pending = hub.api(admin_token, "GET", SERVICE + "api/beta/applications?status=pending").json()
    assert dana in [p["email"] for p in pending] and bo not in [p["email"] for p in pending]


def test_admin_panel_group_edits_approve_and_revoke(hub):
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    email = person("eve")
    eve = hub.sign_in(email)
    apply(eve)

    def status() -> str:
        return hub.api(admin_token, "GET", SERVICE + f"api/beta/applications/{email}").json()["beta_status"]

    # the admin panel adds people to the group through the hub's API
    assert hub.api(admin_token, "POST", "/hub/api/groups/beta/users", json={"users": [email]}).ok
    wait_for(lambda: status() == "approved")
    time.sleep(1.5)  # a few more sync rounds: still one approval e-mail
    assert [m["event"] for m in outbox(hub, admin_token, email)].count("beta.approved") == 1
    assert hub.api(admin_token, "DELETE", "/hub/api/groups/beta/users", json={"users": [email]}).ok
    wait_for(lambda: status() == "rejected")
    assert hub.api(hub.token_for(eve), "POST", f"/hub/api/users/{email}/server").status_code == 403


def test_non_admins_cannot_see_or_decide_applications(hub):
    email = person("alice")
    alice = hub.sign_in(email)
    token = hub.token_for(alice)
    assert alice.get(SERVICE + "admin/beta").status_code == 403
    assert alice.get(SERVICE + "admin/outbox").status_code == 403
    assert hub.api(token, "GET", SERVICE + "api/beta/applications").status_code == 403
    decided = hub.api(token, "POST", SERVICE + "api/beta/decisions", json={"emails": [email], "decision": "approve"})
    assert decided.status_code == 403
    assert hub.api(token, "GET", SERVICE + "api/beta/applications/admin@example.org").status_code == 404
    assert "beta-applications-link" not in alice.get("/hub/home").text


def test_unauthenticated_api_calls_are_refused(hub):
    import requests

    assert requests.get(hub.url + SERVICE + "api/me", timeout=10).status_code == 403
    assert requests.get(hub.url + SERVICE + "api/me", headers={"Authorization": "token nope"}, timeout=10).status_code == 403


def test_pages_speak_korean_to_korean_browsers_and_admins_get_the_link(hub):
    admin = hub.sign_in(ADMIN, accept_language="ko-KR,ko;q=0.9,en;q=0.5")
    assert "beta-applications-link" in admin.get("/hub/home").text
    page = admin.get(SERVICE + "admin/beta")
    assert "베타 신청 관리" in page.text and page.headers["Content-Language"] == "ko"
    alice = hub.sign_in(person("alice"), accept_language="ko")
    assert "베타 신청" in alice.get(SERVICE + "beta").text
    english = hub.sign_in(person("bob"), accept_language="en-US,en;q=0.9")
    assert "Apply for the beta" in english.get(SERVICE + "beta").text


def test_local_mode_outbox_is_readable_by_admins_in_the_browser(hub):
    admin = hub.sign_in(ADMIN)
    email = person("alice")
    apply(hub.sign_in(email))
    page = admin.get(SERVICE + "admin/outbox")
    assert page.status_code == 200
    assert 'class="card mb-2 outbox-message" data-event="beta.applied.applicant"' in page.text
    assert email in page.text


def test_a_bad_outbox_limit_is_a_400_naming_it(hub):
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    for limit in ("abc", "0", "-1", "10001"):
        refused = hub.api(admin_token, "GET", SERVICE + f"api/outbox?limit={limit}")
        assert refused.status_code == 400 and refused.json()["field"] == "limit", refused.text


def test_the_service_publishes_its_openapi_document(hub):
    import requests

    document = requests.get(hub.url + SERVICE + "api/openapi.json", timeout=10).json()
    assert document["openapi"].startswith("3.")
    assert {"/api/me", "/api/beta/applications", "/api/beta/decisions", "/api/outbox"} <= set(document["paths"])


# -- what an unapproved person sees where they are refused ------------------------------------------
def test_the_spawn_page_shows_an_unapproved_person_where_to_apply_with_their_name_and_logout(hub):
    email = person("spawner")
    alice = hub.sign_in(email)
    refused = alice.get(f"/hub/spawn/{email}")
    assert refused.status_code == 403
    for page in (refused, alice.get(f"/hub/spawn-pending/{email}"), alice.get(f"/user/{email}/lab")):
        assert 'id="apply-for-beta" href="/services/agents/beta"' in page.text, page.url
        assert "contact admin" not in page.text.lower() and "Relaunch" not in page.text
        assert 'id="logout"' in page.text and email in page.text, "the navigation bar keeps their name and Logout"


def test_approved_people_and_admins_still_get_jupyterhubs_pages(hub):
    admin = hub.sign_in(ADMIN)
    missing = admin.get("/hub/spawn-pending/nobody-here@example.org")
    assert missing.status_code == 404 and 'id="apply-for-beta"' not in missing.text
    assert 'id="logout"' in missing.text
    not_running = admin.get(f"/hub/spawn-pending/{ADMIN}")
    assert 'id="apply-for-beta"' not in not_running.text and 'id="start"' in not_running.text


# -- e-mail only for real changes -------------------------------------------------------------------
def test_concurrent_approvals_of_one_person_send_one_mail(hub):
    from concurrent.futures import ThreadPoolExecutor

    admin_token = hub.token_for(hub.sign_in(ADMIN))
    email = person("thrice")
    apply(hub.sign_in(email))
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: hub.api(admin_token, "POST", SERVICE + "api/beta/decisions",
                                                   json={"emails": [email], "decision": "approve"}), range(3)))
    assert [a.status_code for a in answers] == [200] * 3
    admin = hub.sign_in(ADMIN)
    page = admin.post(SERVICE + "admin/beta", data={"email": [email], "action": "approve"}, xsrf_path=SERVICE)
    assert "nothing changed and no e-mail" in page.text
    assert [m["event"] for m in outbox(hub, admin_token, email)].count("beta.approved") == 1


def test_rejecting_someone_who_never_applied_sends_no_mail(hub):
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    email = person("never")
    hub.sign_in(email).get(SERVICE + "beta")  # signed in, never applied
    rejected = hub.api(admin_token, "POST", SERVICE + "api/beta/decisions", json={"emails": [email], "decision": "reject"})
    assert rejected.status_code == 200 and rejected.json()[0]["beta_status"] == "rejected"
    assert outbox(hub, admin_token, email) == []


# -- the same limits on every route -------------------------------------------------------------------
def test_the_admin_page_refuses_a_note_the_api_refuses_and_stores_nothing(hub):
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    admin = hub.sign_in(ADMIN)
    email = person("noted")
    apply(hub.sign_in(email))
    page = admin.post(SERVICE + "admin/beta", data={"email": [email], "action": "approve", "note": "x" * 200_000},
                      xsrf_path=SERVICE)
    api = hub.api(admin_token, "POST", SERVICE + "api/beta/decisions",
                  json={"emails": [email], "decision": "approve", "note": "x" * 2001})
    assert page.status_code == 400 and 'id="admin-error"' in page.text and "&#39;note&#39; is 200,000" in page.text
    assert api.status_code == 400 and api.json()["field"] == "note"
    assert hub.api(admin_token, "GET", SERVICE + f"api/beta/applications/{email}").json()["beta_status"] == "pending"
    assert [m["event"] for m in outbox(hub, admin_token, email)].count("beta.approved") == 0


CONTROL = {"NUL": "Alice\x00Kim", "escape": "Alice\x1b[31mKim", "DEL": "Alice\x7f"}


@pytest.mark.parametrize("character", CONTROL, ids=list(CONTROL))
@pytest.mark.parametrize("field", ["name", "purpose", "organisation"])
def test_control_characters_are_refused_by_the_page_and_the_api_naming_the_field(hub, field, character):
    email = person("ctrl")
    alice = hub.sign_in(email)
    token = hub.token_for(alice)
    form = {"name": "Alice", "purpose": "Agents", "organisation": "", field: CONTROL[character]}
    page = apply(alice, **form)
    api = hub.api(token, "POST", SERVICE + "api/beta/applications", json=form)
    assert page.status_code == 400 and f"&#39;{field}&#39;" in page.text
    assert api.status_code == 400 and api.json()["field"] == field and field in api.json()["error"]
    assert hub.api(token, "GET", SERVICE + "api/me").json()["beta_status"] == "none"


def test_control_characters_are_refused_in_decisions_by_the_page_and_the_api(hub):
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    admin = hub.sign_in(ADMIN)
    email = person("ctrl")
    apply(hub.sign_in(email))
    page = admin.post(SERVICE + "admin/beta", data={"email": [email], "action": "reject", "note": "no\x00"},
                      xsrf_path=SERVICE)
    api = hub.api(admin_token, "POST", SERVICE + "api/beta/decisions",
                  json={"emails": [email + "\x00"], "decision": "reject"})
    assert page.status_code == 400 and "&#39;note&#39;" in page.text
    assert api.status_code == 400 and api.json()["field"] == "emails"
    assert hub.api(admin_token, "GET", SERVICE + f"api/beta/applications/{email}").json()["beta_status"] == "pending"
    assert outbox(hub, admin_token, email) and all(m["event"] != "beta.rejected" for m in outbox(hub, admin_token, email))
