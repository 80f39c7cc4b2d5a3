"""The agents service under attack from the untrusted side: requests of odd shapes must never hang
it, and admin power follows the scopes of the credential presented, not the person's admin flag."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests

from tests.hub.conftest import ADMIN, SERVICE, Hub, person
from tests.polling import wait_for

ANSWER_WITHIN = 10  # seconds; the service answers each of these in milliseconds when healthy
APPLICATION = {"name": "Mallory", "purpose": "See whether one request can hang the service"}


@pytest.fixture(scope="module")
def admin_token(hub) -> str:
    return hub.token_for(hub.sign_in(ADMIN))


def signed_in_to_the_service(hub: Hub, name: str = "mallory"):
    """A person's browser, signed in to the agents service (its OAuth cookie and its _xsrf cookie)."""
    browser = hub.sign_in(person(name))
    assert browser.get(SERVICE + "beta").status_code == 200
    return browser


def xsrf(browser) -> str:
    return next(c.value for c in browser.cookies if c.name == "_xsrf" and c.path.rstrip("/") == SERVICE.rstrip("/"))


def still_answering(hub: Hub, token: str) -> None:
    me = requests.get(hub.url + SERVICE + "api/me", headers={"Authorization": f"token {token}"}, timeout=ANSWER_WITHIN)
    assert me.status_code == 200, me.text


# Each shape: method, path, headers, body, whether to send the page's XSRF token, the answer wanted.
SHAPES = {
    "json POST with the cookie": ("POST", "api/beta/applications", {}, APPLICATION, False, 403),
    "cors GET with the cookie": ("GET", "api/me", {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"}, None, False, 403),
    "cors GET with the cookie and its XSRF token": ("GET", "api/me", {"Sec-Fetch-Mode": "cors"}, None, True, 200),
    "json POST with the cookie and its XSRF token": ("POST", "api/beta/applications", {"Sec-Fetch-Mode": "cors"},
                                                     APPLICATION, True, 201),
    "POST with a wrong XSRF token": ("POST", "api/beta/applications", {"X-XSRFToken": "2|forged|token"}, APPLICATION,
                                     False, 403),
    "cross-site POST": ("POST", "api/beta/applications", {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
                        APPLICATION, False, 403),
    "PATCH with the cookie": ("PATCH", "api/agents/x", {"Sec-Fetch-Mode": "cors"}, {"name": "x"}, False, 403),
    "DELETE with the cookie": ("DELETE", "api/agents/x", {}, None, False, 403),
    "no-cors GET": ("GET", "api/me", {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "same-origin"}, None, False, 200),
    "websocket-mode GET": ("GET", "api/me", {"Sec-Fetch-Mode": "websocket"}, None, False, 200),
    "HEAD": ("HEAD", "api/me", {}, None, False, 405),
    "OPTIONS": ("OPTIONS", "api/me", {}, None, False, 405),
    "cors HEAD": ("HEAD", "api/me", {"Sec-Fetch-Mode": "cors"}, None, False, 403),
    "bad token with the cookie": ("POST", "api/beta/applications", {"Authorization": "token nope"}, APPLICATION, False, 403),
    "token in the URL with the cookie": ("POST", "api/beta/applications?token=nope", {"Sec-Fetch-Mode": "cors"},
                                         APPLICATION, False, 403),
    "cors GET of a page": ("GET", "beta", {"Sec-Fetch-Mode": "cors"}, None, False, 403),
    "navigation to a page": ("GET", "beta", {"Sec-Fetch-Mode": "navigate"}, None, False, 200),
    "garbage cookie header": ("GET", "api/me", {"Cookie": "_xsrf=\"; jupyterhub-services-agents=%%%;"}, None, False, 403),
    "form POST to a page without _xsrf": ("POST", "beta", {"Sec-Fetch-Mode": "navigate"}, None, False, 403),
    "form POST to the admin page": ("POST", "admin/beta", {"Sec-Fetch-Mode": "navigate"}, None, False, 403),
}


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_no_request_shape_hangs_the_service(hub, admin_token, shape):
    method, path, headers, body, with_xsrf, wanted = SHAPES[shape]
    browser = signed_in_to_the_service(hub)
    if with_xsrf:
        headers = {**headers, "X-XSRFToken": xsrf(browser)}
    with ThreadPoolExecutor(2) as pool:
        attack = pool.submit(browser.request, method, SERVICE + path, headers=headers, timeout=ANSWER_WITHIN,
                             allow_redirects=False, **({"json": body} if body is not None and path.startswith("api")
                                                       else {"data": {"name": "Mallory"}} if method == "POST" else {}))
        still_answering(hub, admin_token)  # while the odd request is in flight
        answer = attack.result()
    assert answer.status_code == wanted, answer.text[:300]
    if wanted == 403 and method != "HEAD":
        assert answer.text  # says why
    for _ in range(3):
        still_answering(hub, admin_token)


def test_a_refused_cookie_request_says_how_to_send_it(hub):
    browser = signed_in_to_the_service(hub)
    refused = browser.post(SERVICE + "api/beta/applications", json=APPLICATION, timeout=ANSWER_WITHIN)
    assert refused.status_code == 403 and "X-XSRFToken" in refused.json()["error"]
    assert browser.get(SERVICE + "api/me", timeout=ANSWER_WITHIN).json()["beta_status"] == "none", "nothing was stored"


def test_many_hanging_shapes_at_once_leave_the_service_answering(hub, admin_token):
    browsers = [signed_in_to_the_service(hub) for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(b.post, SERVICE + "api/beta/applications", json=APPLICATION, timeout=ANSWER_WITHIN)
                   for b in browsers]
        futures += [pool.submit(b.get, SERVICE + "api/me", headers={"Sec-Fetch-Mode": "cors"}, timeout=ANSWER_WITHIN)
                    for b in browsers]
        still_answering(hub, admin_token)
        assert [f.result().status_code for f in futures] == [403] * 8
    # the hub still reaches the service, and the group sync still runs
    someone = person("sync")
    hub.sign_in(someone)
    assert hub.api(admin_token, "POST", "/hub/api/groups/beta/users", json={"users": [someone]}).ok

    def approved() -> list[str]:
        return [p["email"] for p in hub.api(admin_token, "GET", SERVICE + "api/beta/applications?status=approved").json()]

    wait_for(lambda: someone in approved())


# -- admin power follows the credential's scopes ---------------------------------------------------
def server_token(hub: Hub, email: str) -> str:
    """The JupyterHub token a person's server holds (JUPYTERHUB_API_TOKEN), as code running in it sees it."""
    service = f"http://127.0.0.1:{hub.env['OMA_SERVICE_PORT']}/"  # this hub's servers, not another test run's
    for process in psutil.process_iter(["cmdline", "environ"]):
        env = process.info["environ"] or {}
        if (env.get("JUPYTERHUB_USER") == email and env.get("OMA_AGENTS_SERVICE_URL", "").startswith(service)
                and "agents_extension.user_server" in " ".join(process.info["cmdline"] or [])):
            return env["JUPYTERHUB_API_TOKEN"]
    raise AssertionError(f"no server process of {email}")


def service_token(hub: Hub) -> str:
    """The agents service's own JupyterHub token, from its process."""
    for process in psutil.process_iter(["cmdline", "environ"]):
        env = process.info["environ"] or {}
        if (env.get("JUPYTERHUB_SERVICE_NAME") == "agents"
                and env.get("JUPYTERHUB_SERVICE_URL", "").endswith(f":{hub.env['OMA_SERVICE_PORT']}")):
            return env["JUPYTERHUB_API_TOKEN"]
    raise AssertionError("no agents service process for this hub")


ADMIN_CALLS = {
    "list applications": ("GET", "api/beta/applications", None),
    "read the outbox": ("GET", "api/outbox", None),
    "decide": ("POST", "api/beta/decisions", {"emails": ["someone@example.org"], "decision": "approve"}),
    "everyone's agents": ("GET", "api/agents?all=1", None),
    "read someone's application": ("GET", "api/beta/applications/someone@example.org", None),
}


@pytest.fixture(scope="module")
def admins_server(hub, admin_token):
    hub.start_server(admin_token, ADMIN)
    token = server_token(hub, ADMIN)
    model = hub.api(token, "GET", "/hub/api/user").json()
    # What the hub says of this token: the admin flag of its owner, but no admin scope.
    assert model["admin"] is True and "admin-ui" not in model["scopes"], model
    yield token
    hub.stop_server(admin_token, ADMIN)


@pytest.mark.parametrize("call", ADMIN_CALLS, ids=list(ADMIN_CALLS))
def test_an_admins_server_token_is_not_an_admin_in_the_service(hub, admins_server, call):
    method, path, body = ADMIN_CALLS[call]
    refused = hub.api(admins_server, method, SERVICE + path, json=body)
    assert refused.status_code in (403, 404), refused.text
    me = hub.api(admins_server, "GET", SERVICE + "api/me").json()
    assert me["email"] == ADMIN and me["admin"] is False, "it still acts for its owner, without admin power"


def test_an_admins_server_still_works_for_the_admin_as_for_anyone(hub, admins_server):
    created = hub.api(admins_server, "POST", f"/user/{ADMIN}/api/agents", json={"name": "Admin's own agent"})
    assert created.status_code == 201, created.text
    assert [a["name"] for a in hub.api(admins_server, "GET", f"/user/{ADMIN}/api/agents").json()] == ["Admin's own agent"]


def test_an_admins_browser_and_personal_token_are_admins_in_the_service(hub, admin_token):
    assert hub.api(admin_token, "GET", SERVICE + "api/me").json()["admin"] is True
    assert hub.api(admin_token, "GET", SERVICE + "api/outbox").status_code == 200
    browser = hub.sign_in(ADMIN)
    assert browser.get(SERVICE + "admin/beta").status_code == 200
    assert browser.get(SERVICE + "api/me").json()["admin"] is True
    plain = signed_in_to_the_service(hub, "plain")
    assert plain.get(SERVICE + "api/me").json()["admin"] is False
    assert plain.get(SERVICE + "admin/beta").status_code == 403


def test_the_services_own_token_holds_only_what_it_uses(hub, admin_token):
    token = service_token(hub)
    victim = person("victim")
    hub.sign_in(victim)
    refused = {
        "delete a user": hub.api(token, "DELETE", f"/hub/api/users/{victim}"),
        "create a user": hub.api(token, "POST", f"/hub/api/users/{person('made-up')}"),
        "read a user": hub.api(token, "GET", f"/hub/api/users/{victim}"),
        "make a token": hub.api(token, "POST", f"/hub/api/users/{victim}/tokens", json={}),
        "create a group": hub.api(token, "POST", "/hub/api/groups/admins-too"),
        "edit another group": hub.api(token, "POST", "/hub/api/groups/beta-too/users", json={"users": [victim]}),
        "start a server": hub.api(token, "POST", f"/hub/api/users/{victim}/server"),
    }
    assert {k: r.status_code for k, r in refused.items() if r.status_code not in (403, 404)} == {}
    assert hub.api(admin_token, "GET", f"/hub/api/users/{victim}").status_code == 200, "the user is still there"
    # what it does use
    assert hub.api(token, "GET", "/hub/api/groups/beta").status_code == 200


def test_revoking_access_stops_the_persons_running_server(hub, admin_token):
    email = person("revoked")
    browser = hub.sign_in(email)
    token = hub.token_for(browser)
    hub.api(token, "POST", SERVICE + "api/beta/applications", json={"name": "Rev", "purpose": "tests"})
    assert hub.api(admin_token, "POST", SERVICE + "api/beta/decisions",
                   json={"emails": [email], "decision": "approve"}).status_code == 200
    hub.start_server(token, email)
    admin = hub.sign_in(ADMIN)
    page = admin.post(SERVICE + "admin/beta", data={"email": [email], "action": "reject"}, xsrf_path=SERVICE)
    assert page.status_code == 200
    assert "servers of" in page.text and email in page.text, "the page says the server was stopped"
    assert 'id="revoke-note"' in page.text
    wait_for(lambda: not hub.api(admin_token, "GET", f"/hub/api/users/{email}").json()["servers"], 30)
    assert hub.api(token, "POST", f"/hub/api/users/{email}/server").status_code == 403


def test_removal_from_the_beta_group_in_the_admin_panel_stops_the_running_server(hub, admin_token):
    email = person("panel")
    token = hub.token_for(hub.sign_in(email))
    assert hub.api(admin_token, "POST", "/hub/api/groups/beta/users", json={"users": [email]}).ok
    wait_for(lambda: hub.api(token, "GET", SERVICE + "api/me").json()["beta_status"] == "approved")
    hub.start_server(token, email)
    assert hub.api(admin_token, "DELETE", "/hub/api/groups/beta/users", json={"users": [email]}).ok
    wait_for(lambda: not hub.api(admin_token, "GET", f"/hub/api/users/{email}").json()["servers"], 30)
    assert hub.api(token, "GET", SERVICE + "api/me").json()["beta_status"] == "rejected"
