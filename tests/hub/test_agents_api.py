"""The agents REST API on the real hub and agents service: CRUD, validation, ownership, sessions and usage."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
import uuid

import pytest
import requests

from tests.hub.conftest import ADMIN, SERVICE, person
from tests.store.conftest import firestore_emulator  # noqa: F401 (fixture)

AGENTS = SERVICE + "api/agents"
FULL = {
    "name": "Market researcher", "description": "Weekly digests of the market", "instructions": "Answer in Korean.",
    "model": "claude-haiku-4-5", "permission_mode": "acceptEdits", "allowed_tools": ["Read", "Bash(ls:*)"],
    "disallowed_tools": ["WebFetch"], "max_turns": 20, "max_budget_usd": 2.5, "status": "active",
}
DEFAULTS = {"description": "", "instructions": "", "model": None, "permission_mode": "default", "allowed_tools": [],
            "disallowed_tools": [], "max_turns": None, "max_budget_usd": None, "status": "draft"}
NO_USAGE = {"sessions": 0, "turns": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "last_used_at": None}


@pytest.fixture(scope="module")
def admin_token(hub) -> str:
    return hub.token_for(hub.sign_in(ADMIN))


class Person:
    """A signed-in person with their own JupyterHub token, calling the agents API."""

    def __init__(self, hub, name: str) -> None:
        self.hub = hub
        self.email = person(name)
        self.token = hub.token_for(hub.sign_in(self.email))

    def call(self, method: str, path: str = "", headers: dict | None = None, **kwargs) -> requests.Response:
        return requests.request(method, self.hub.url + AGENTS + path, timeout=30,
                                headers={"Authorization": f"token {self.token}", **(headers or {})}, **kwargs)

    def create(self, **fields) -> dict:
        response = self.call("POST", json={"name": f"Agent {uuid.uuid4().hex[:6]}", **fields})
        assert response.status_code == 201, response.text
        return response.json()

    def agents(self) -> list[dict]:
        response = self.call("GET")
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def approve(hub, admin_token):
    def approved(name: str = "alice") -> Person:
        someone = Person(hub, name)
        applied = hub.api(someone.token, "POST", SERVICE + "api/beta/applications",
                          json={"name": name, "purpose": "Agents for my work"})
        assert applied.status_code == 201, applied.text
        decided = hub.api(admin_token, "POST", SERVICE + "api/beta/decisions",
                          json={"emails": [someone.email], "decision": "approve"})
        assert decided.status_code == 200, decided.text
        return someone

    return approved


# -- create, read, change, delete ---------------------------------------------------------
def test_create_answers_201_with_location_and_the_whole_agent(hub, approve):
    alice = approve("alice")
    response = alice.call("POST", json=FULL)
    assert response.status_code == 201, response.text
    agent = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", agent["id"])
    assert response.headers["Location"] == f"{AGENTS}/{agent['id']}"
    assert response.headers["ETag"] == '"1"'
    assert {k: agent[k] for k in FULL} == FULL
    assert agent["owner"] == alice.email and agent["version"] == 1 and agent["slug"] == "market-researcher"
    assert agent["usage"] == NO_USAGE
    assert agent["created_at"] and agent["updated_at"]
    fetched = hub.api(alice.token, "GET", response.headers["Location"])
    assert fetched.status_code == 200 and fetched.json() == agent


def test_list_get_replace_change_and_delete(approve):
    alice = approve("alice")
    first = alice.create(**FULL)
    second = alice.create(name="Writer", instructions="Short sentences.")
    assert second == {**second, **DEFAULTS, "instructions": "Short sentences.", "version": 1}
    assert [a["id"] for a in alice.agents()] == [first["id"], second["id"]]

    # PUT replaces every editable field: the ones left out go back to their defaults
    replaced = alice.call("PUT", f"/{first['id']}", json={"name": "Market researcher", "model": "claude-opus-4-5"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {**first, **DEFAULTS, "model": "claude-opus-4-5", "version": 2,
                               "updated_at": replaced.json()["updated_at"]}
    assert replaced.headers["ETag"] == '"2"'

    # PATCH changes only what it is given
    patched = alice.call("PATCH", f"/{first['id']}", json={"status": "paused", "max_turns": 5})
    assert patched.status_code == 200, patched.text
    assert patched.json() == {**replaced.json(), "status": "paused", "max_turns": 5, "version": 3,
                              "updated_at": patched.json()["updated_at"]}
    assert alice.call("GET", f"/{first['id']}").json() == patched.json()

    assert alice.call("DELETE", f"/{first['id']}").status_code == 204
    assert alice.call("GET", f"/{first['id']}").status_code == 404
    assert alice.call("DELETE", f"/{first['id']}").status_code == 404
    assert [a["id"] for a in alice.agents()] == [second["id"]]


def test_the_version_grows_with_every_change(approve):
    alice = approve("alice")
    agent = alice.create()
    versions = [agent["version"]]
    for body in ({"description": "a"}, {"description": "b"}, {"status": "active"}):
        versions.append(alice.call("PATCH", f"/{agent['id']}", json=body).json()["version"])
    versions.append(alice.call("PUT", f"/{agent['id']}", json={"name": agent["name"]}).json()["version"])
    assert versions == [1, 2, 3, 4, 5]
    # an empty change changes nothing, so the version stays
    assert alice.call("PATCH", f"/{agent['id']}", json={}).json()["version"] == 5


def test_a_stale_version_is_refused_with_409_and_changes_nothing(approve):
    alice = approve("alice")
    agent = alice.create()
    path = f"/{agent['id']}"
    current = alice.call("PATCH", path, json={"description": "v2", "version": 1}).json()
    assert current["version"] == 2
    stale_attempts = [
        alice.call("PATCH", path, json={"description": "lost", "version": 1}),
        alice.call("PUT", path, json={"name": "Lost", "version": 1}),
        alice.call("PATCH", path, json={"description": "lost"}, headers={"If-Match": '"1"'}),
        alice.call("PUT", path, json={"name": "Lost"}, headers={"If-Match": 'W/"1"'}),
    ]
    for response in stale_attempts:
        assert response.status_code == 409, response.text
        assert "version 2" in response.json()["error"] and "Reload" in response.json()["error"]
    assert alice.call("GET", path).json() == current
    fresh = alice.call("PATCH", path, json={"description": "v3"}, headers={"If-Match": '"2"'})
    assert fresh.status_code == 200 and fresh.json()["version"] == 3
    disagree = alice.call("PATCH", path, json={"description": "x", "version": 3}, headers={"If-Match": '"2"'})
    assert disagree.status_code == 400 and disagree.json()["field"] == "version"


# -- validation ----------------------------------------------------------------------------
BAD_INPUT = [  # (field named in the answer, body fields)
    ("name", {"name": ""}),
    ("name", {"name": "   "}),
    ("name", {"name": "x" * 81}),
    ("name", {"name": 42}),
    ("name", {"name": "line\nbreak"}),
    ("description", {"description": "x" * 501}),
    ("description", {"description": 5}),
    ("instructions", {"instructions": "x" * 20_001}),
    ("instructions", {"instructions": ["x"]}),
    ("model", {"model": "gpt-4o"}),
    ("model", {"model": 3}),
    ("permission_mode", {"permission_mode": "everything"}),
    ("permission_mode", {"permission_mode": None}),
    ("allowed_tools", {"allowed_tools": "Read"}),
    ("allowed_tools", {"allowed_tools": ["Read", ""]}),
    ("allowed_tools", {"allowed_tools": ["Read"] * 101}),
    ("allowed_tools", {"allowed_tools": ["x" * 201]}),
    ("disallowed_tools", {"disallowed_tools": [1]}),
    ("disallowed_tools", {"disallowed_tools": {"WebFetch": True}}),
    ("max_turns", {"max_turns": 0}),
    ("max_turns", {"max_turns": 501}),
    ("max_turns", {"max_turns": 1.5}),
    ("max_turns", {"max_turns": "10"}),
    ("max_budget_usd", {"max_budget_usd": 0}),
    ("max_budget_usd", {"max_budget_usd": 1000.5}),
    ("max_budget_usd", {"max_budget_usd": "5"}),
    ("status", {"status": "archived"}),
    ("status", {"status": True}),
    ("name", {"name": "Nul\x00agent"}),
    ("description", {"description": "Escape \x1b[2J"}),
    ("instructions", {"instructions": "Hidden\x00text"}),
    ("allowed_tools", {"allowed_tools": ["Bash\x00"]}),
    ("temperature", {"temperature": 0.2}),
    ("slug", {"slug": "my-folder"}),
    ("owner", {"owner": "someone@example.org"}),
    ("id", {"id": "abc"}),
]


@pytest.fixture(scope="module")
def validated(approve):
    """A person with one agent, and their agent list as it must stay through every refused request."""
    someone = approve("val")
    someone.create(**FULL)
    return someone, someone.agents()


@pytest.mark.parametrize(("field", "bad"), BAD_INPUT, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_INPUT)])
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(validated, field, bad):
    someone, before = validated
    agent_path = f"/{before[0]['id']}"
    attempts = {
        "create": someone.call("POST", json={**FULL, "name": "Another", **bad}),
        "replace": someone.call("PUT", agent_path, json={**FULL, **bad}),
        "change": someone.call("PATCH", agent_path, json=bad),
    }
    for what, response in attempts.items():
        assert response.status_code == 400, (what, response.text)
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json()["field"] == field, (what, response.json())
        assert field in response.json()["error"]
    assert someone.agents() == before


def test_every_editable_field_is_in_the_bad_input_table():
    assert {field for field, _ in BAD_INPUT} >= set(FULL)


@pytest.mark.parametrize(("body", "words"), [
    (b"{not json", "must be JSON"), (b"[1, 2]", "JSON object"), (b'"agent"', "JSON object"), (b"null", "JSON object"),
])
def test_a_body_that_is_not_a_json_object_is_a_400(validated, body, words):
    someone, before = validated
    for method, path in (("POST", ""), ("PUT", f"/{before[0]['id']}"), ("PATCH", f"/{before[0]['id']}")):
        response = someone.call(method, path, data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and words in response.json()["error"], (method, response.text)
    assert someone.agents() == before


def test_a_name_is_required_to_create_and_replace(validated):
    someone, before = validated
    for method, path in (("POST", ""), ("PUT", f"/{before[0]['id']}")):
        response = someone.call(method, path, json={"description": "no name"})
        assert response.status_code == 400 and response.json()["field"] == "name"
        assert "required" in response.json()["error"]
    assert someone.agents() == before


def test_a_version_cannot_be_chosen_on_create(validated):
    someone, before = validated
    response = someone.call("POST", json={"name": "Versioned", "version": 7})
    assert response.status_code == 400 and response.json()["field"] == "version"
    assert someone.agents() == before


def test_a_duplicate_name_is_a_400_on_name_ignoring_case(approve):
    alice = approve("alice")
    researcher = alice.create(name="Researcher")
    writer = alice.create(name="Writer")
    before = alice.agents()
    for response in (alice.call("POST", json={"name": "  researcher "}),
                     alice.call("POST", json={"name": "RESEARCHER"}),
                     alice.call("PATCH", f"/{writer['id']}", json={"name": "researcher"}),
                     alice.call("PUT", f"/{writer['id']}", json={"name": "ReSearcher"})):
        assert response.status_code == 400, response.text
        assert response.json()["field"] == "name" and "already have an agent named" in response.json()["error"]
    assert alice.agents() == before
    # renaming an agent to its own name in other letters is no clash
    assert alice.call("PATCH", f"/{researcher['id']}", json={"name": "RESEARCHER"}).status_code == 200
    # and another person may use the same name
    assert approve("bob").create(name="Researcher")["slug"] == "researcher"


def test_slugs_come_from_names_korean_names_included_and_clashes_get_a_number(approve):
    alice = approve("alice")
    assert alice.create(name="Market Researcher")["slug"] == "market-researcher"
    assert alice.create(name="market researcher!")["slug"] == "market-researcher-2"  # another name, the same folder name
    assert alice.create(name="Market-Researcher")["slug"] == "market-researcher-3"
    korean = alice.create(name="시장 조사원")
    assert re.fullmatch(r"agent-[0-9a-f]{6}", korean["slug"])
    assert alice.create(name="Café Olé")["slug"] == "cafe-ole"

    # a rename gives a new folder name; a change of letter case only keeps it
    renamed = alice.call("PATCH", f"/{korean['id']}", json={"name": "Data Analyst"}).json()
    assert renamed["slug"] == "data-analyst"
    assert alice.call("PATCH", f"/{korean['id']}", json={"name": "DATA analyst"}).json()["slug"] == "data-analyst"
    assert alice.call("PUT", f"/{korean['id']}", json={"name": "Cafe Ole"}).json()["slug"] == "cafe-ole-2"
    assert alice.call("PATCH", f"/{korean['id']}", json={"description": "x"}).json()["slug"] == "cafe-ole-2"


def test_simultaneous_creates_get_one_name_each_and_distinct_folder_names(approve):
    alice = approve("alice")
    with ThreadPoolExecutor(max_workers=6) as pool:
        same_name = list(pool.map(lambda _: alice.call("POST", json={"name": "Racer"}), range(6)))
        same_slug = list(pool.map(lambda n: alice.call("POST", json={"name": "Racer" + "!" * (n + 1)}), range(6)))
    assert sorted(r.status_code for r in same_name) == [201] + [400] * 5
    assert all(r.json()["field"] == "name" for r in same_name if r.status_code == 400)
    assert [r.status_code for r in same_slug] == [201] * 6
    assert sorted(a["slug"] for a in alice.agents()) == ["racer"] + [f"racer-{n}" for n in range(2, 8)]


# -- ownership -------------------------------------------------------------------------------
def test_another_persons_agent_is_a_404_like_one_that_does_not_exist(approve):
    alice, bob = approve("alice"), approve("bob")
    agent = alice.create(name="Secret plans", description="nobody else's")
    missing = uuid.uuid4().hex
    attempts = {
        "get": lambda i: bob.call("GET", f"/{i}"),
        "put": lambda i: bob.call("PUT", f"/{i}", json={"name": "Taken over"}),
        "patch": lambda i: bob.call("PATCH", f"/{i}", json={"status": "paused"}),
        "delete": lambda i: bob.call("DELETE", f"/{i}"),
        "sessions": lambda i: bob.call("GET", f"/{i}/sessions"),
        "report session": lambda i: bob.hub.api(bob.token, "POST", SERVICE + "api/sessions",
                                                 json={"session_id": uuid.uuid4().hex, "agent_id": i, "turns": 9}),
    }
    for what, attempt in attempts.items():
        theirs, nobodys = attempt(agent["id"]), attempt(missing)
        assert theirs.status_code == nobodys.status_code == 404, (what, theirs.text)
        assert theirs.json() == nobodys.json() and set(theirs.json()) == {"error"}, what
        for secret in (alice.email, "Secret plans", "nobody else's", alice.email.split("@")[0]):
            assert secret not in theirs.text, what
    assert alice.call("GET", f"/{agent['id']}").json() == agent
    assert alice.call("GET", f"/{agent['id']}/sessions").json() == []
    assert agent["id"] not in [a["id"] for a in bob.agents()]


def test_admins_list_everyones_agents_but_change_only_their_own(hub, approve, admin_token):
    alice, bob = approve("alice"), approve("bob")
    alices, bobs = alice.create(), bob.create()
    everyone = hub.api(admin_token, "GET", AGENTS + "?all=1")
    assert everyone.status_code == 200
    listed = {a["id"]: a for a in everyone.json()}
    assert listed[alices["id"]]["owner"] == alice.email and listed[bobs["id"]]["owner"] == bob.email
    assert listed[alices["id"]]["usage"] == NO_USAGE
    own = hub.api(admin_token, "GET", AGENTS).json()
    assert alices["id"] not in [a["id"] for a in own]
    for method, body in (("GET", None), ("PATCH", {"status": "paused"}), ("DELETE", None)):
        assert hub.api(admin_token, method, f"{AGENTS}/{alices['id']}", json=body).status_code == 404
    assert alice.call("GET", f"/{alices['id']}").json() == alices


def test_listing_everyones_agents_is_refused_to_non_admins(approve):
    alice = approve("alice")
    refused = alice.call("GET", "?all=1")
    assert refused.status_code == 403 and "admins" in refused.json()["error"]
    assert alice.call("GET", "?all=0").status_code == 200
    assert alice.call("GET", "?all=maybe").json()["field"] == "all"


def test_people_not_approved_for_the_beta_cannot_create_agents(hub, admin_token):
    stranger = Person(hub, "stranger")
    applicant = Person(hub, "applicant")
    hub.api(applicant.token, "POST", SERVICE + "api/beta/applications", json={"name": "A", "purpose": "Agents"})
    for someone in (stranger, applicant):
        response = someone.call("POST", json={"name": "Mine"})
        assert response.status_code == 403
        assert "approved for the beta" in response.json()["error"] and SERVICE + "beta" in response.json()["error"]
        assert someone.agents() == []
    # admins need no application
    assert hub.api(admin_token, "POST", AGENTS, json={"name": f"Admin's {uuid.uuid4().hex[:6]}"}).status_code == 201


def test_the_api_wants_a_jupyterhub_token(hub):
    assert requests.get(hub.url + AGENTS, timeout=10).status_code == 403
    assert requests.post(hub.url + AGENTS, json={"name": "x"}, headers={"Authorization": "token nope"},
                         timeout=10).status_code == 403


# -- sessions and usage ---------------------------------------------------------------------
def report(someone: Person, **fields) -> requests.Response:
    return someone.hub.api(someone.token, "POST", SERVICE + "api/sessions", json=fields)


def test_sessions_are_upserted_by_id_and_add_up_to_the_agents_usage(approve):
    alice = approve("alice")
    agent, other = alice.create(), alice.create()
    first, second = uuid.uuid4().hex, str(uuid.uuid4())
    recorded = report(alice, session_id=first, agent_id=agent["id"], notebook="Report.ipynb", turns=1,
                      input_tokens=100, output_tokens=20, cost_usd=0.01)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json() | {"created_at": None, "updated_at": None} == {
        "session_id": first, "owner": alice.email, "agent_id": agent["id"], "notebook": "Report.ipynb", "turns": 1,
        "input_tokens": 100, "output_tokens": 20, "cost_usd": 0.01, "status": "active",
        "created_at": None, "updated_at": None}
    # the same session later: its totals so far replace the earlier ones
    later = report(alice, session_id=first, agent_id=agent["id"], notebook="Report.ipynb", turns=3, input_tokens=450,
                   output_tokens=90, cost_usd=0.05, status="inactive").json()
    assert later["created_at"] == recorded.json()["created_at"] and later["turns"] == 3
    report(alice, session_id=second, agent_id=agent["id"], notebook="Other.ipynb", turns=2, input_tokens=50,
           output_tokens=10, cost_usd=0.02, status="closed")
    report(alice, session_id=uuid.uuid4().hex, agent_id=other["id"], turns=7)

    usage = alice.call("GET", f"/{agent['id']}").json()["usage"]
    last_used_at = usage.pop("last_used_at")
    assert usage == {"sessions": 2, "turns": 5, "input_tokens": 500, "output_tokens": 100,
                     "cost_usd": pytest.approx(0.07)}
    assert last_used_at is not None
    listed = {a["id"]: a["usage"] for a in alice.agents()}
    assert listed[agent["id"]]["sessions"] == 2 and listed[other["id"]]["turns"] == 7
    sessions = alice.call("GET", f"/{agent['id']}/sessions").json()
    assert sorted(s["session_id"] for s in sessions) == sorted([first, second])
    assert {s["session_id"]: s["status"] for s in sessions} == {first: "inactive", second: "closed"}


def test_a_session_report_for_someone_elses_or_no_agent_is_a_404_and_bad_reports_a_400(approve):
    alice, bob = approve("alice"), approve("bob")
    agent = alice.create()
    assert report(bob, session_id=uuid.uuid4().hex, agent_id=agent["id"], turns=1).status_code == 404
    assert report(alice, session_id=uuid.uuid4().hex, agent_id=uuid.uuid4().hex).status_code == 404
    for field, value in (("turns", -1), ("cost_usd", "free"), ("status", "open"), ("session_id", "a/b"), ("tokens", 1)):
        response = report(alice, **{"session_id": uuid.uuid4().hex, "agent_id": agent["id"], field: value})
        assert response.status_code == 400 and response.json()["field"] == field, response.text
    assert alice.call("GET", f"/{agent['id']}").json()["usage"] == NO_USAGE


def test_a_report_cannot_take_over_another_persons_or_another_agents_session(approve):
    alice, bob = approve("alice"), approve("bob")
    alices, bobs = alice.create(), bob.create()
    session_id = uuid.uuid4().hex
    assert report(alice, session_id=session_id, agent_id=alices["id"], notebook="Mine.ipynb", turns=4,
                  input_tokens=400, output_tokens=40, cost_usd=0.4).status_code == 200
    before = alice.call("GET", f"/{alices['id']}/sessions").json()
    usage = alice.call("GET", f"/{alices['id']}").json()["usage"]
    # Bob reports Alice's session id under his own agent; Alice under another agent of hers
    taken = report(bob, session_id=session_id, agent_id=bobs["id"], turns=0, cost_usd=0)
    assert taken.status_code == 404 and "session" in taken.json()["error"]
    sibling = alice.create()
    moved = report(alice, session_id=session_id, agent_id=sibling["id"], turns=0)
    assert moved.status_code == 404
    assert alice.call("GET", f"/{alices['id']}/sessions").json() == before
    assert alice.call("GET", f"/{alices['id']}").json()["usage"] == usage
    assert bob.call("GET", f"/{bobs['id']}/sessions").json() == []
    assert alice.call("GET", f"/{sibling['id']}/sessions").json() == []
    # the rightful reporter still updates it
    again = report(alice, session_id=session_id, agent_id=alices["id"], notebook="Mine.ipynb", turns=5)
    assert again.status_code == 200 and again.json()["turns"] == 5


def test_a_paused_agent_says_so_in_its_json(approve):
    alice = approve("alice")
    agent = alice.create(status="paused")
    assert alice.call("GET", f"/{agent['id']}").json()["status"] == "paused"
    assert alice.call("PATCH", f"/{agent['id']}", json={"status": "active"}).json()["status"] == "active"


# -- documents ------------------------------------------------------------------------------
def test_the_openapi_document_describes_the_agents_api(hub, approve):
    document = requests.get(hub.url + SERVICE + "api/openapi.json", timeout=10).json()
    assert {"/api/agents", "/api/agents/{agent_id}", "/api/agents/{agent_id}/sessions", "/api/sessions"} <= set(
        document["paths"])
    assert set(document["paths"]["/api/agents/{agent_id}"]) >= {"get", "put", "patch", "delete"}
    schemas = document["components"]["schemas"]
    assert {"Agent", "AgentCreate", "AgentReplace", "AgentChanges", "SessionReport", "Session", "Usage"} <= set(schemas)
    alice = approve("alice")
    agent = alice.create()
    assert set(agent) == set(schemas["Agent"]["properties"])
    assert set(agent["usage"]) == set(schemas["Usage"]["properties"])
    assert set(FULL) == set(schemas["AgentCreate"]["properties"])
    assert set(FULL) | {"version"} == set(schemas["AgentReplace"]["properties"]) == set(schemas["AgentChanges"]["properties"])
    assert schemas["AgentCreate"]["required"] == ["name"] and "required" not in schemas["AgentChanges"]
    assert schemas["AgentCreate"]["properties"]["model"]["anyOf"][0]["enum"] == [
        "claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5"]
    session = report(alice, session_id=uuid.uuid4().hex, agent_id=agent["id"]).json()
    assert set(session) == set(schemas["Session"]["properties"])


def test_agent_options_tell_a_form_what_it_may_offer(hub, approve):
    response = hub.api(approve("alice").token, "GET", SERVICE + "api/agent-options")
    assert response.status_code == 200
    options = response.json()
    assert options["models"] == ["claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5"]
    assert "bypassPermissions" in options["permission_modes"] and options["statuses"] == ["draft", "active", "paused"]
    assert options["limits"]["name"] == 80 and options["limits"]["instructions"] == 20_000


# -- the other store ------------------------------------------------------------------------
def test_the_agents_api_on_the_firestore_store_with_configured_models(start_hub, firestore_emulator):  # noqa: F811
    hub = start_hub(OMA_STORE_URL=f"firestore://oma-test?prefix=agents{uuid.uuid4().hex[:8]}_",
                    FIRESTORE_EMULATOR_HOST=firestore_emulator, OMA_MODELS="claude-opus-4-5, gateway-model")
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    jun = Person(hub, "jun")
    hub.api(jun.token, "POST", SERVICE + "api/beta/applications", json={"name": "Jun", "purpose": "Research"})
    assert hub.api(admin_token, "POST", SERVICE + "api/beta/decisions",
                   json={"emails": [jun.email], "decision": "approve"}).status_code == 200
    created = jun.call("POST", json={**FULL, "model": "gateway-model"})
    assert created.status_code == 201, created.text
    agent = created.json()
    refused = jun.call("POST", json={"name": "Other", "model": "claude-sonnet-4-5"})
    assert refused.status_code == 400 and refused.json()["field"] == "model"
    assert "claude-opus-4-5, gateway-model" in refused.json()["error"]
    assert jun.call("POST", json={"name": "market RESEARCHER"}).json()["field"] == "name"
    assert hub.api(jun.token, "GET", created.headers["Location"]).json() == agent
    changed = jun.call("PATCH", f"/{agent['id']}", json={"name": "시장 조사원", "version": 1})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert re.fullmatch(r"agent-[0-9a-f]{6}", changed.json()["slug"])
    assert jun.call("PATCH", f"/{agent['id']}", json={"status": "paused", "version": 1}).status_code == 409
    report(jun, session_id=uuid.uuid4().hex, agent_id=agent["id"], turns=2, input_tokens=10, output_tokens=5,
           cost_usd=0.5)
    assert [(a["name"], a["usage"]["turns"], a["version"]) for a in jun.agents()] == [("시장 조사원", 2, 2)]
    assert jun.call("DELETE", f"/{agent['id']}").status_code == 204
    assert jun.agents() == []
