"""What the hub's pages show of a person's beta application (hub_config/standing.py), from what the
agents service answers, or when it cannot be asked."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

from oma_contract.beta import BetaStatus
from tests.network import free_port
from hub_config.standing import Standing, StandingLookup, pages_service, standing_from_json


def test_a_rejected_application_keeps_its_dates_and_the_admins_note():
    standing = standing_from_json({
        "email": "a@example.org", "beta_status": "rejected",
        "application": {"name": "A", "purpose": "p", "applied_at": "2026-12-01T09:30:00+00:00"},
        "decision": {"status": "rejected", "by": "admin@example.org", "note": "Full", "at": "2026-12-02T10:00:00+00:00"},
    })
    assert standing == Standing(status=BetaStatus.REJECTED, applied_at=datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc),
                                decided_at=datetime(2026, 12, 2, 10, tzinfo=timezone.utc), note="Full")


def test_someone_who_never_applied_is_none():
    assert standing_from_json({"email": "a@example.org", "beta_status": "none", "application": None,
                               "decision": None}) == Standing()


async def test_when_the_service_cannot_be_reached_the_page_says_it_could_not_look():
    service = SimpleNamespace(url=f"http://127.0.0.1:{free_port()}", prefix="/services/agents/")
    user = SimpleNamespace(name="a@example.org", settings={"services": {"agents": service}})
    assert (await StandingLookup(user, service="agents", token="t").fetch()) == Standing(known=False)
    assert (await StandingLookup(None, service="agents", token="t").fetch()) == Standing()


def test_the_pages_token_is_new_at_each_start_and_may_only_reach_the_agents_service():
    (entry, role, token), (_, _, other) = pages_service("agents"), pages_service("agents")
    assert token != other and len(token) == 64 and entry["api_token"] == token and "url" not in entry
    assert role["services"] == [entry["name"]]
    assert set(role["scopes"]) == {"access:services!service=agents", "admin-ui"}
