"""Beta access on the real hub: the journey from sign-in to a server, the admin panel's group edits, and
enforcement on every route to a server. What the service's pages and API do with applications and
decisions is tested at handler level (tests/service/test_beta_access.py)."""

from __future__ import annotations

import time

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
    assert "beta-applications-link" not in home.text
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


def test_admins_get_the_beta_applications_link_on_the_hubs_home_page(hub):
    admin = hub.sign_in(ADMIN, accept_language="ko-KR,ko;q=0.9,en;q=0.5")
    assert "beta-applications-link" in admin.get("/hub/home").text


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
