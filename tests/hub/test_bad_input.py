"""Bad input never breaks a server: every case of issue 9 answers 400 naming the field, on the
agents service and through a person's server (``/user/<name>/api/agents``), and stores nothing."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.hub.conftest import ADMIN, SERVICE, Hub

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def admin_token(hub) -> str:
    return hub.token_for(hub.sign_in(ADMIN))


@pytest.fixture(scope="module")
def owner(hub, admin_token) -> tuple[str, str]:
    """An approved person with a running server: (email, token)."""
    email, token = hub.person_with_server(admin_token, "tess")
    yield email, token
    hub.api(admin_token, "DELETE", f"/hub/api/users/{email}/server")


@pytest.fixture(scope="module", params=["service", "server"])
def agents_url(request, hub, owner) -> str:
    """The agents API, called directly on the service or forwarded by the person's own server."""
    email, _ = owner
    return SERVICE + "api/agents" if request.param == "service" else f"/user/{email}/api/agents"


def refused(response: requests.Response, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:300])
    assert response.json().get("field", "") == field, response.text[:300]


def names(hub: Hub, token: str) -> list[str]:
    return [a["name"] for a in hub.api(token, "GET", SERVICE + "api/agents").json()]


def test_a_body_nested_deeper_than_any_parser_goes_is_bad_json(hub, owner, agents_url):
    response = hub.api(owner[1], "POST", agents_url, data="[" * 100_000, headers=JSON)
    assert response.status_code == 400 and "JSON" in response.json()["error"]


@pytest.mark.parametrize("field", ["name", "description", "instructions"])
def test_a_lone_surrogate_in_text_is_refused_and_not_stored(hub, owner, agents_url, field):
    body = '{"name": "Lone", "%s": "a\\ud800b"}' % field
    refused(hub.api(owner[1], "POST", agents_url, data=body, headers=JSON), field)
    assert not any(name.startswith("Lone") for name in names(hub, owner[1]))


@pytest.mark.parametrize("field", ["allowed_tools", "disallowed_tools"])
def test_a_lone_surrogate_in_a_tool_name_is_refused_and_not_stored(hub, owner, agents_url, field):
    body = '{"name": "Tooled", "%s": ["Read", "\\udfff"]}' % field
    refused(hub.api(owner[1], "POST", agents_url, data=body, headers=JSON), field)
    assert "Tooled" not in names(hub, owner[1])


@pytest.mark.parametrize("name", ["\u200b", "\u200b\u200d\ufeff", "Invoice\u202efdp.exe", "Bell\x07", "\u2066x\u2069",
                                  "\u3164", "\uffa0\uffa0", "\u115f\u1160", "\u2800", "\u034f", "\u0301", "\ufe0f"])
def test_names_of_invisible_or_control_characters_are_refused(hub, owner, agents_url, name):
    refused(hub.api(owner[1], "POST", agents_url, json={"name": name}), "name")


@pytest.mark.parametrize("if_match", ['"²"', "²", '"' + "9" * 5000 + '"', '"0"', '"3x"'])
def test_an_if_match_that_is_no_version_is_refused(hub, owner, agents_url, if_match):
    agent = hub.api(owner[1], "POST", agents_url, json={"name": f"Versioned {uuid.uuid4().hex[:6]}"}).json()
    response = hub.api(owner[1], "PATCH", f"{agents_url}/{agent['id']}", json={"status": "active"},
                       headers={"If-Match": if_match.encode("utf-8")})
    refused(response, "version")


def test_a_session_report_with_a_lone_surrogate_in_its_notebook_is_refused(hub, owner):
    agent = hub.api(owner[1], "POST", SERVICE + "api/agents", json={"name": f"Reporter {uuid.uuid4().hex[:6]}"}).json()
    session_id = uuid.uuid4().hex
    body = '{"session_id": "%s", "agent_id": "%s", "notebook": "\\ud800.ipynb"}' % (session_id, agent["id"])
    refused(hub.api(owner[1], "POST", SERVICE + "api/sessions", data=body, headers=JSON), "notebook")
    assert hub.api(owner[1], "GET", f"{SERVICE}api/agents/{agent['id']}/sessions").json() == []


def test_an_agents_sessions_are_listed_through_the_persons_server(hub, owner):
    email, token = owner
    agent = hub.api(token, "POST", f"/user/{email}/api/agents", json={"name": f"Listed {uuid.uuid4().hex[:6]}"}).json()
    session_id = uuid.uuid4().hex
    assert hub.api(token, "POST", SERVICE + "api/sessions",
                   json={"session_id": session_id, "agent_id": agent["id"], "turns": 2}).status_code == 200
    listed = hub.api(token, "GET", f"/user/{email}/api/agents/{agent['id']}/sessions")
    assert listed.status_code == 200, listed.text[:300]
    assert [(s["session_id"], s["turns"]) for s in listed.json()] == [(session_id, 2)]
    assert hub.api(token, "GET", f"/user/{email}/api/agents/nobody%2Fsessions").status_code == 404


@pytest.mark.parametrize("limit", ["abc", "²", "0", "10001", "9" * 5000, "-1"])
def test_the_outbox_limit_must_be_a_number_of_messages(hub, admin_token, limit):
    refused(hub.api(admin_token, "GET", SERVICE + "api/outbox", params={"limit": limit}), "limit")


@pytest.mark.parametrize("email", ["%1D", "%00", "%E2%80%AE", "%20"])
def test_an_application_address_with_control_or_invisible_characters_is_refused(hub, admin_token, email):
    refused(hub.api(admin_token, "GET", SERVICE + "api/beta/applications/" + email), "email")


@pytest.mark.parametrize(("body", "field"), [
    ('{"emails": ["\\ud800@example.org"], "decision": "approve"}', "emails"),
    ('{"emails": ["someone@example.org"], "decision": "approve", "note": "\\udc00"}', "note"),
    ('{"emails": ["someone@example.org"], "decision": "\\ud800"}', "decision"),
    ("[" * 100_000, ""),
])
def test_a_decision_with_a_lone_surrogate_is_refused(hub, admin_token, body, field):
    refused(hub.api(admin_token, "POST", SERVICE + "api/beta/decisions", data=body, headers=JSON), field)


def test_an_application_with_a_lone_surrogate_is_refused(hub):
    browser = hub.sign_in(f"lone-{uuid.uuid4().hex[:6]}@example.org")
    token = hub.token_for(browser)
    body = '{"name": "Lone \\ud800", "purpose": "tests"}'
    refused(hub.api(token, "POST", SERVICE + "api/beta/applications", data=body, headers=JSON), "name")
    assert hub.api(token, "GET", SERVICE + "api/me").json()["beta_status"] == "none"


@pytest.mark.parametrize("name", ["\u3164", "\uffa0", "\u2800", "\u0301", "\ufe0f\u034f"])
def test_an_application_whose_name_shows_nothing_is_refused(hub, name):
    token = hub.token_for(hub.sign_in(f"blank-{uuid.uuid4().hex[:6]}@example.org"))
    refused(hub.api(token, "POST", SERVICE + "api/beta/applications", json={"name": name, "purpose": "tests"}), "name")
    assert hub.api(token, "GET", SERVICE + "api/me").json()["beta_status"] == "none"


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "Ann", "purpose": "tests", "beta_status": "approved"}, "beta_status"),
    ({"name": "Ann", "purpose": "tests", "language": "fr"}, "language"),
    ({"purpose": "tests"}, "name"),
])
def test_an_application_is_checked_whole_as_the_document_says(hub, body, field):
    token = hub.token_for(hub.sign_in(f"shape-{uuid.uuid4().hex[:6]}@example.org"))
    refused(hub.api(token, "POST", SERVICE + "api/beta/applications", json=body), field)
    assert hub.api(token, "GET", SERVICE + "api/me").json()["beta_status"] == "none"


def test_a_decision_with_a_field_it_does_not_have_is_refused(hub, admin_token):
    body = {"emails": ["someone@example.org"], "decision": "approve", "notify": False}
    refused(hub.api(admin_token, "POST", SERVICE + "api/beta/decisions", json=body), "notify")
