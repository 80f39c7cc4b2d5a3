"""The agents REST API of the service: CRUD, validation, ownership, sessions and usage.

Handler level: the service's application in the test's event loop with a real store, people's
tokens checked by a real JupyterHub (tests/service/conftest.py).
"""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest

from tests.service.client import Answer
from tests.service.conftest import SERVICE, RunningService
from tests.service.real_hub import Person
from tests.store.conftest import firestore_emulator  # noqa: F401 (fixture)

AGENTS = SERVICE + "api/agents"
FULL = {
    "name": "Market researcher", "description": "Weekly digests of the market", "instructions": "Answer in Korean.",
    "model": "claude-haiku-4-5", "permission_mode": "acceptEdits", "allowed_tools": ["Read", "Bash(ls:*)"],
    "disallowed_tools": ["WebFetch"], "max_turns": 20, "max_budget_usd": 2.5, "status": "active",
    "monthly_limit_usd": 30.0,
}
DEFAULTS = {"description": "", "instructions": "", "model": None, "permission_mode": "default", "allowed_tools": [],
            "disallowed_tools": [], "max_turns": None, "max_budget_usd": None, "monthly_limit_usd": None,
            "status": "draft"}
NO_USAGE = {"sessions": 0, "turns": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "last_used_at": None}


class Owner:
    """A person calling the agents API of a service with their own JupyterHub token."""

    def __init__(self, service: RunningService, someone: Person) -> None:
        self.service = service
        self.email = someone.email
        self.token = someone.token

    async def call(self, method: str, path: str = "", **kwargs) -> Answer:
        return await self.service.call(method, "api/agents" + path, token=self.token, **kwargs)

    async def create(self, **fields) -> dict:
        response = await self.call("POST", json={"name": f"Agent {uuid.uuid4().hex[:6]}", **fields})
        assert response.status_code == 201, response.text
        return response.json()

    async def agents(self) -> list[dict]:
        response = await self.call("GET")
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def owner(service, approve):
    """``await owner("alice")``: an approved person, calling the agents API."""

    async def approved(name: str = "alice") -> Owner:
        return Owner(service, await approve(name))

    return approved


# -- create, read, change, delete ---------------------------------------------------------
async def test_create_answers_201_with_location_and_the_whole_agent(service, owner):
    alice = await owner("alice")
    response = await alice.call("POST", json=FULL)
    assert response.status_code == 201, response.text
    agent = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", agent["id"])
    assert response.headers["Location"] == f"{AGENTS}/{agent['id']}"
    assert response.headers["ETag"] == '"1"'
    assert {k: agent[k] for k in FULL} == FULL
    assert agent["owner"] == alice.email and agent["version"] == 1 and agent["slug"] == "market-researcher"
    assert agent["usage"] == NO_USAGE
    assert agent["created_at"] and agent["updated_at"]
    fetched = await service.call("GET", response.headers["Location"], token=alice.token)
    assert fetched.status_code == 200 and fetched.json() == agent


async def test_list_get_replace_change_and_delete(owner):
    alice = await owner("alice")
    first = await alice.create(**FULL)
    second = await alice.create(name="Writer", instructions="Short sentences.")
    assert second == {**second, **DEFAULTS, "instructions": "Short sentences.", "version": 1}
    assert [a["id"] for a in await alice.agents()] == [first["id"], second["id"]]

    # PUT replaces every editable field: the ones left out go back to their defaults
    replaced = await alice.call("PUT", f"/{first['id']}", json={"name": "Market researcher", "model": "claude-opus-4-5"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json() == {**first, **DEFAULTS, "model": "claude-opus-4-5", "version": 2,
                               "updated_at": replaced.json()["updated_at"]}
    assert replaced.headers["ETag"] == '"2"'

    # PATCH changes only what it is given
    patched = await alice.call("PATCH", f"/{first['id']}", json={"status": "paused", "max_turns": 5})
    assert patched.status_code == 200, patched.text
    assert patched.json() == {**replaced.json(), "status": "paused", "max_turns": 5, "version": 3,
                              "updated_at": patched.json()["updated_at"]}
    assert (await alice.call("GET", f"/{first['id']}")).json() == patched.json()

    assert (await alice.call("DELETE", f"/{first['id']}")).status_code == 204
    assert (await alice.call("GET", f"/{first['id']}")).status_code == 404
    assert (await alice.call("DELETE", f"/{first['id']}")).status_code == 404
    assert [a["id"] for a in await alice.agents()] == [second["id"]]


async def test_the_version_grows_with_every_change(owner):
    alice = await owner("alice")
    agent = await alice.create()
    versions = [agent["version"]]
    for body in ({"description": "a"}, {"description": "b"}, {"status": "active"}):
        versions.append((await alice.call("PATCH", f"/{agent['id']}", json=body)).json()["version"])
    versions.append((await alice.call("PUT", f"/{agent['id']}", json={"name": agent["name"]})).json()["version"])
    assert versions == [1, 2, 3, 4, 5]
    # an empty change changes nothing, so the version stays
    assert (await alice.call("PATCH", f"/{agent['id']}", json={})).json()["version"] == 5


async def test_a_stale_version_is_refused_with_409_and_changes_nothing(owner):
    alice = await owner("alice")
    agent = await alice.create()
    path = f"/{agent['id']}"
    current = (await alice.call("PATCH", path, json={"description": "v2", "version": 1})).json()
    assert current["version"] == 2
    stale_attempts = [
        await alice.call("PATCH", path, json={"description": "lost", "version": 1}),
        await alice.call("PUT", path, json={"name": "Lost", "version": 1}),
        await alice.call("PATCH", path, json={"description": "lost"}, headers={"If-Match": '"1"'}),
        await alice.call("PUT", path, json={"name": "Lost"}, headers={"If-Match": 'W/"1"'}),
    ]
    for response in stale_attempts:
        assert response.status_code == 409, response.text
        assert "version 2" in response.json()["error"] and "Reload" in response.json()["error"]
    assert (await alice.call("GET", path)).json() == current
    fresh = await alice.call("PATCH", path, json={"description": "v3"}, headers={"If-Match": '"2"'})
    assert fresh.status_code == 200 and fresh.json()["version"] == 3
    disagree = await alice.call("PATCH", path, json={"description": "x", "version": 3}, headers={"If-Match": '"2"'})
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
    ("monthly_limit_usd", {"monthly_limit_usd": -0.5}),
    ("monthly_limit_usd", {"monthly_limit_usd": "5"}),
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


@pytest.fixture
async def validated(owner):
    """A person with one agent, and their agent list as it must stay through every refused request."""
    someone = await owner("val")
    await someone.create(**FULL)
    return someone, await someone.agents()


@pytest.mark.parametrize(("field", "bad"), BAD_INPUT, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_INPUT)])
async def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(validated, field, bad):
    someone, before = validated
    agent_path = f"/{before[0]['id']}"
    attempts = {
        "create": await someone.call("POST", json={**FULL, "name": "Another", **bad}),
        "replace": await someone.call("PUT", agent_path, json={**FULL, **bad}),
        "change": await someone.call("PATCH", agent_path, json=bad),
    }
    for what, response in attempts.items():
        assert response.status_code == 400, (what, response.text)
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json()["field"] == field, (what, response.json())
        assert field in response.json()["error"]
    assert await someone.agents() == before


def test_every_editable_field_is_in_the_bad_input_table():
    assert {field for field, _ in BAD_INPUT} >= set(FULL)


@pytest.mark.parametrize(("body", "words"), [
    (b"{not json", "must be JSON"), (b"[1, 2]", "JSON object"), (b'"agent"', "JSON object"), (b"null", "JSON object"),
])
async def test_a_body_that_is_not_a_json_object_is_a_400(validated, body, words):
    someone, before = validated
    for method, path in (("POST", ""), ("PUT", f"/{before[0]['id']}"), ("PATCH", f"/{before[0]['id']}")):
        response = await someone.call(method, path, body=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400 and words in response.json()["error"], (method, response.text)
    assert await someone.agents() == before


async def test_a_name_is_required_to_create_and_replace(validated):
    someone, before = validated
    for method, path in (("POST", ""), ("PUT", f"/{before[0]['id']}")):
        response = await someone.call(method, path, json={"description": "no name"})
        assert response.status_code == 400 and response.json()["field"] == "name"
        assert "required" in response.json()["error"]
    assert await someone.agents() == before


async def test_a_version_cannot_be_chosen_on_create(validated):
    someone, before = validated
    response = await someone.call("POST", json={"name": "Versioned", "version": 7})
    assert response.status_code == 400 and response.json()["field"] == "version"
    assert await someone.agents() == before


async def test_a_duplicate_name_is_a_400_on_name_ignoring_case(owner):
    alice = await owner("alice")
    researcher = await alice.create(name="Researcher")
    writer = await alice.create(name="Writer")
    before = await alice.agents()
    for response in (await alice.call("POST", json={"name": "  researcher "}),
                     await alice.call("POST", json={"name": "RESEARCHER"}),
                     await alice.call("PATCH", f"/{writer['id']}", json={"name": "researcher"}),
                     await alice.call("PUT", f"/{writer['id']}", json={"name": "ReSearcher"})):
        assert response.status_code == 400, response.text
        assert response.json()["field"] == "name" and "already have an agent named" in response.json()["error"]
    assert await alice.agents() == before
    # renaming an agent to its own name in other letters is no clash
    assert (await alice.call("PATCH", f"/{researcher['id']}", json={"name": "RESEARCHER"})).status_code == 200
    # and another person may use the same name
    assert (await (await owner("bob")).create(name="Researcher"))["slug"] == "researcher"


async def test_slugs_come_from_names_korean_names_included_and_clashes_get_a_number(owner):
    alice = await owner("alice")
    assert (await alice.create(name="Market Researcher"))["slug"] == "market-researcher"
    assert (await alice.create(name="market researcher!"))["slug"] == "market-researcher-2"  # another name, the same folder name
    assert (await alice.create(name="Market-Researcher"))["slug"] == "market-researcher-3"
    korean = await alice.create(name="시장 조사원")
    assert re.fullmatch(r"agent-[0-9a-f]{6}", korean["slug"])
    assert (await alice.create(name="Café Olé"))["slug"] == "cafe-ole"

    # a rename gives a new folder name; a change of letter case only keeps it
    renamed = (await alice.call("PATCH", f"/{korean['id']}", json={"name": "Data Analyst"})).json()
    assert renamed["slug"] == "data-analyst"
    assert (await alice.call("PATCH", f"/{korean['id']}", json={"name": "DATA analyst"})).json()["slug"] == "data-analyst"
    assert (await alice.call("PUT", f"/{korean['id']}", json={"name": "Cafe Ole"})).json()["slug"] == "cafe-ole-2"
    assert (await alice.call("PATCH", f"/{korean['id']}", json={"description": "x"})).json()["slug"] == "cafe-ole-2"


async def test_simultaneous_creates_get_one_name_each_and_distinct_folder_names(owner):
    alice = await owner("alice")
    same_name = await asyncio.gather(*(alice.call("POST", json={"name": "Racer"}) for _ in range(6)))
    same_slug = await asyncio.gather(*(alice.call("POST", json={"name": "Racer" + "!" * (n + 1)}) for n in range(6)))
    assert sorted(r.status_code for r in same_name) == [201] + [400] * 5
    assert all(r.json()["field"] == "name" for r in same_name if r.status_code == 400)
    assert [r.status_code for r in same_slug] == [201] * 6
    assert sorted(a["slug"] for a in await alice.agents()) == ["racer"] + [f"racer-{n}" for n in range(2, 8)]


# -- ownership -------------------------------------------------------------------------------
async def test_another_persons_agent_is_a_404_like_one_that_does_not_exist(service, owner):
    alice, bob = await owner("alice"), await owner("bob")
    agent = await alice.create(name="Secret plans", description="nobody else's")
    missing = uuid.uuid4().hex
    attempts = {
        "get": lambda i: bob.call("GET", f"/{i}"),
        "put": lambda i: bob.call("PUT", f"/{i}", json={"name": "Taken over"}),
        "patch": lambda i: bob.call("PATCH", f"/{i}", json={"status": "paused"}),
        "delete": lambda i: bob.call("DELETE", f"/{i}"),
        "sessions": lambda i: bob.call("GET", f"/{i}/sessions"),
        "report session": lambda i: service.call("POST", "api/sessions", token=bob.token,
                                                 json={"session_id": uuid.uuid4().hex, "agent_id": i, "turns": 9}),
    }
    for what, attempt in attempts.items():
        theirs, nobodys = await attempt(agent["id"]), await attempt(missing)
        assert theirs.status_code == nobodys.status_code == 404, (what, theirs.text)
        assert theirs.json() == nobodys.json() and set(theirs.json()) == {"error"}, what
        for secret in (alice.email, "Secret plans", "nobody else's", alice.email.split("@")[0]):
            assert secret not in theirs.text, what
    assert (await alice.call("GET", f"/{agent['id']}")).json() == agent
    assert (await alice.call("GET", f"/{agent['id']}/sessions")).json() == []
    assert agent["id"] not in [a["id"] for a in await bob.agents()]


async def test_admins_list_everyones_agents_but_change_only_their_own(service, owner, admin):
    alice, bob = await owner("alice"), await owner("bob")
    alices, bobs = await alice.create(), await bob.create()
    everyone = await service.call("GET", "api/agents?all=1", token=admin.token)
    assert everyone.status_code == 200
    listed = {a["id"]: a for a in everyone.json()}
    assert listed[alices["id"]]["owner"] == alice.email and listed[bobs["id"]]["owner"] == bob.email
    assert listed[alices["id"]]["usage"] == NO_USAGE
    own = (await service.call("GET", "api/agents", token=admin.token)).json()
    assert alices["id"] not in [a["id"] for a in own]
    for method, body in (("GET", None), ("PATCH", {"status": "paused"}), ("DELETE", None)):
        assert (await service.call(method, f"api/agents/{alices['id']}", token=admin.token, json=body)).status_code == 404
    assert (await alice.call("GET", f"/{alices['id']}")).json() == alices


async def test_listing_everyones_agents_is_refused_to_non_admins(owner):
    alice = await owner("alice")
    refused = await alice.call("GET", "?all=1")
    assert refused.status_code == 403 and "admins" in refused.json()["error"]
    assert (await alice.call("GET", "?all=0")).status_code == 200
    assert (await alice.call("GET", "?all=maybe")).json()["field"] == "all"


async def test_people_not_approved_for_the_beta_cannot_create_agents(service, person, admin):
    stranger = Owner(service, person("stranger"))
    applicant = Owner(service, person("applicant"))
    await service.call("POST", "api/beta/applications", token=applicant.token, json={"name": "A", "purpose": "Agents"})
    for someone in (stranger, applicant):
        response = await someone.call("POST", json={"name": "Mine"})
        assert response.status_code == 403
        assert "approved for the beta" in response.json()["error"] and SERVICE + "beta" in response.json()["error"]
        assert await someone.agents() == []
    # admins need no application
    made = await service.call("POST", "api/agents", token=admin.token, json={"name": f"Admin's {uuid.uuid4().hex[:6]}"})
    assert made.status_code == 201


async def test_the_api_wants_a_jupyterhub_token(service):
    assert (await service.call("GET", "api/agents")).status_code == 403
    assert (await service.call("POST", "api/agents", json={"name": "x"}, token="nope")).status_code == 403


# -- sessions and usage ---------------------------------------------------------------------
async def report(service: RunningService, someone: Owner, **fields) -> Answer:
    return await service.call("POST", "api/sessions", token=someone.token, json=fields)


async def test_sessions_are_upserted_by_id_and_add_up_to_the_agents_usage(service, owner):
    alice = await owner("alice")
    agent, other = await alice.create(), await alice.create()
    first, second = uuid.uuid4().hex, str(uuid.uuid4())
    recorded = await report(service, alice, session_id=first, agent_id=agent["id"], notebook="Report.ipynb", turns=1,
                            input_tokens=100, output_tokens=20, cost_usd=0.01)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json() | {"created_at": None, "updated_at": None} == {
        "session_id": first, "owner": alice.email, "agent_id": agent["id"], "notebook": "Report.ipynb", "turns": 1,
        "input_tokens": 100, "output_tokens": 20, "cost_usd": 0.01, "status": "active",
        "created_at": None, "updated_at": None}
    # the same session later: its totals so far replace the earlier ones
    later = (await report(service, alice, session_id=first, agent_id=agent["id"], notebook="Report.ipynb", turns=3,
                          input_tokens=450, output_tokens=90, cost_usd=0.05, status="inactive")).json()
    assert later["created_at"] == recorded.json()["created_at"] and later["turns"] == 3
    await report(service, alice, session_id=second, agent_id=agent["id"], notebook="Other.ipynb", turns=2,
                 input_tokens=50, output_tokens=10, cost_usd=0.02, status="closed")
    await report(service, alice, session_id=uuid.uuid4().hex, agent_id=other["id"], turns=7)

    usage = (await alice.call("GET", f"/{agent['id']}")).json()["usage"]
    last_used_at = usage.pop("last_used_at")
    assert usage == {"sessions": 2, "turns": 5, "input_tokens": 500, "output_tokens": 100,
                     "cost_usd": pytest.approx(0.07)}
    assert last_used_at is not None
    listed = {a["id"]: a["usage"] for a in await alice.agents()}
    assert listed[agent["id"]]["sessions"] == 2 and listed[other["id"]]["turns"] == 7
    sessions = (await alice.call("GET", f"/{agent['id']}/sessions")).json()
    assert sorted(s["session_id"] for s in sessions) == sorted([first, second])
    assert {s["session_id"]: s["status"] for s in sessions} == {first: "inactive", second: "closed"}


async def test_a_session_report_for_someone_elses_or_no_agent_is_a_404_and_bad_reports_a_400(service, owner):
    alice, bob = await owner("alice"), await owner("bob")
    agent = await alice.create()
    assert (await report(service, bob, session_id=uuid.uuid4().hex, agent_id=agent["id"], turns=1)).status_code == 404
    assert (await report(service, alice, session_id=uuid.uuid4().hex, agent_id=uuid.uuid4().hex)).status_code == 404
    for field, value in (("turns", -1), ("cost_usd", "free"), ("status", "open"), ("session_id", "a/b"), ("tokens", 1)):
        response = await report(service, alice, **{"session_id": uuid.uuid4().hex, "agent_id": agent["id"], field: value})
        assert response.status_code == 400 and response.json()["field"] == field, response.text
    assert (await alice.call("GET", f"/{agent['id']}")).json()["usage"] == NO_USAGE


async def test_a_report_cannot_take_over_another_persons_or_another_agents_session(service, owner):
    alice, bob = await owner("alice"), await owner("bob")
    alices, bobs = await alice.create(), await bob.create()
    session_id = uuid.uuid4().hex
    assert (await report(service, alice, session_id=session_id, agent_id=alices["id"], notebook="Mine.ipynb", turns=4,
                         input_tokens=400, output_tokens=40, cost_usd=0.4)).status_code == 200
    before = (await alice.call("GET", f"/{alices['id']}/sessions")).json()
    usage = (await alice.call("GET", f"/{alices['id']}")).json()["usage"]
    # Bob reports Alice's session id under his own agent; Alice under another agent of hers
    taken = await report(service, bob, session_id=session_id, agent_id=bobs["id"], turns=0, cost_usd=0)
    assert taken.status_code == 404 and "session" in taken.json()["error"]
    sibling = await alice.create()
    moved = await report(service, alice, session_id=session_id, agent_id=sibling["id"], turns=0)
    assert moved.status_code == 404
    assert (await alice.call("GET", f"/{alices['id']}/sessions")).json() == before
    assert (await alice.call("GET", f"/{alices['id']}")).json()["usage"] == usage
    assert (await bob.call("GET", f"/{bobs['id']}/sessions")).json() == []
    assert (await alice.call("GET", f"/{sibling['id']}/sessions")).json() == []
    # the rightful reporter still updates it
    again = await report(service, alice, session_id=session_id, agent_id=alices["id"], notebook="Mine.ipynb", turns=5)
    assert again.status_code == 200 and again.json()["turns"] == 5


async def test_a_paused_agent_says_so_in_its_json(owner):
    alice = await owner("alice")
    agent = await alice.create(status="paused")
    assert (await alice.call("GET", f"/{agent['id']}")).json()["status"] == "paused"
    assert (await alice.call("PATCH", f"/{agent['id']}", json={"status": "active"})).json()["status"] == "active"


# -- documents ------------------------------------------------------------------------------
async def test_the_openapi_document_describes_the_agents_api(service, owner):
    document = (await service.call("GET", "api/openapi.json")).json()
    assert {"/api/agents", "/api/agents/{agent_id}", "/api/agents/{agent_id}/sessions", "/api/sessions"} <= set(
        document["paths"])
    assert set(document["paths"]["/api/agents/{agent_id}"]) >= {"get", "put", "patch", "delete"}
    schemas = document["components"]["schemas"]
    assert {"Agent", "AgentCreate", "AgentReplace", "AgentChanges", "SessionReport", "Session", "Usage"} <= set(schemas)
    alice = await owner("alice")
    agent = await alice.create()
    assert set(agent) == set(schemas["Agent"]["properties"])
    assert set(agent["usage"]) == set(schemas["Usage"]["properties"])
    assert set(FULL) == set(schemas["AgentCreate"]["properties"])
    assert set(FULL) | {"version"} == set(schemas["AgentReplace"]["properties"]) == set(schemas["AgentChanges"]["properties"])
    assert schemas["AgentCreate"]["required"] == ["name"] and "required" not in schemas["AgentChanges"]
    assert schemas["AgentCreate"]["properties"]["model"]["anyOf"][0]["enum"] == [
        "claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5"]
    session = (await report(service, alice, session_id=uuid.uuid4().hex, agent_id=agent["id"])).json()
    assert set(session) == set(schemas["Session"]["properties"])


async def test_agent_options_tell_a_form_what_it_may_offer(service, owner):
    response = await service.call("GET", "api/agent-options", token=(await owner("alice")).token)
    assert response.status_code == 200
    options = response.json()
    assert options["models"] == ["claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5"]
    assert "bypassPermissions" in options["permission_modes"] and options["statuses"] == ["draft", "active", "paused"]
    assert options["limits"]["name"] == 80 and options["limits"]["instructions"] == 20_000


# -- the other store ------------------------------------------------------------------------
async def test_the_agents_api_on_the_firestore_store_with_configured_models(start_service, firestore_emulator,
                                                                           person, admin):
    service = await start_service(store_url=f"firestore://oma-test?prefix=agents{uuid.uuid4().hex[:8]}_",
                                  models="claude-opus-4-5, gateway-model")
    jun = Owner(service, person("jun"))
    await service.call("POST", "api/beta/applications", token=jun.token, json={"name": "Jun", "purpose": "Research"})
    decided = await service.call("POST", "api/beta/decisions", token=admin.token,
                                 json={"emails": [jun.email], "decision": "approve"})
    assert decided.status_code == 200
    created = await jun.call("POST", json={**FULL, "model": "gateway-model"})
    assert created.status_code == 201, created.text
    agent = created.json()
    refused = await jun.call("POST", json={"name": "Other", "model": "claude-sonnet-4-5"})
    assert refused.status_code == 400 and refused.json()["field"] == "model"
    assert "claude-opus-4-5, gateway-model" in refused.json()["error"]
    assert (await jun.call("POST", json={"name": "market RESEARCHER"})).json()["field"] == "name"
    assert (await jun.call("GET", f"/{agent['id']}")).json() == agent
    changed = await jun.call("PATCH", f"/{agent['id']}", json={"name": "시장 조사원", "version": 1})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert re.fullmatch(r"agent-[0-9a-f]{6}", changed.json()["slug"])
    assert (await jun.call("PATCH", f"/{agent['id']}", json={"status": "paused", "version": 1})).status_code == 409
    await report(service, jun, session_id=uuid.uuid4().hex, agent_id=agent["id"], turns=2, input_tokens=10,
                 output_tokens=5, cost_usd=0.5)
    assert [(a["name"], a["usage"]["turns"], a["version"]) for a in await jun.agents()] == [("시장 조사원", 2, 2)]
    assert (await jun.call("DELETE", f"/{agent['id']}")).status_code == 204
    assert await jun.agents() == []
