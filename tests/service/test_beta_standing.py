"""Where anyone stands with the beta, as the hub's pages ask it (GET api/beta/people/{email}): admins
only, and a person who never applied is "none" (a 200), not a 404 that the service would log as a
warning on every visit of their home page."""

from __future__ import annotations

from tests.service.conftest import ADMIN, RunningService
from tests.service.real_hub import Person


async def standing(service: RunningService, who: Person, email: str):
    return await service.call("GET", f"api/beta/people/{email}", token=who.token)


async def test_admins_read_where_anyone_stands_and_never_applied_is_none(service, person, admin):
    alice = person("alice")
    never = await standing(service, admin, alice.email)
    assert never.status_code == 200, never.text
    assert never.json()["beta_status"] == "none" and never.json()["application"] is None

    applied = await service.call("POST", "api/beta/applications", token=alice.token,
                                 json={"name": "Alice", "purpose": "Weekly reports"})
    assert applied.status_code == 201, applied.text
    pending = (await standing(service, admin, alice.email.upper())).json()
    assert pending["email"] == alice.email and pending["beta_status"] == "pending"
    assert pending["application"]["applied_at"]


async def test_only_admins_read_where_others_stand(service, person):
    alice = person("alice")
    assert (await standing(service, alice, ADMIN)).status_code == 403
    assert (await standing(service, alice, alice.email)).status_code == 403  # their own: api/me


async def test_an_address_with_control_characters_is_a_400_naming_it(service, admin):
    refused = await standing(service, admin, "alice%00@example.org")
    assert refused.status_code == 400 and refused.json()["field"] == "email"


async def test_the_beta_page_is_titled_by_where_the_person_stands(service, person, admin):
    alice = person("alice")
    assert "<h1>Apply for the beta</h1>" in (await service.call("GET", "beta", token=alice.token)).text
    await service.call("POST", "api/beta/applications", token=alice.token, json={"name": "Alice", "purpose": "p"})
    assert "<h1>Your beta application</h1>" in (await service.call("GET", "beta", token=alice.token)).text
    decided = await service.call("POST", "api/beta/decisions", token=admin.token,
                                 json={"emails": [alice.email], "decision": "approve"})
    assert decided.status_code == 200, decided.text
    page = (await service.call("GET", "beta", token=alice.token)).text
    assert "<h1>Your beta access</h1>" in page and "<title>Your beta access" in page
    assert "Apply for the beta" not in page
