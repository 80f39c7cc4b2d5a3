"""The agents service on Google Firestore (the real emulator): the beta flow end to end."""

from __future__ import annotations

import uuid

from tests.hub.conftest import ADMIN, SERVICE, person
from tests.store.conftest import firestore_emulator  # noqa: F401 (fixture)


def test_beta_flow_with_the_firestore_store(start_hub, firestore_emulator):  # noqa: F811
    hub = start_hub(OMA_STORE_URL=f"firestore://oma-test?prefix=hub{uuid.uuid4().hex[:8]}_",
                    FIRESTORE_EMULATOR_HOST=firestore_emulator)
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    email = person("jun")
    jun = hub.sign_in(email)
    page = jun.post(SERVICE + "beta", data={"name": "Jun", "purpose": "Research digests"}, xsrf_path=SERVICE)
    assert 'data-status="pending"' in page.text
    decided = hub.api(admin_token, "POST", SERVICE + "api/beta/decisions", json={"emails": [email], "decision": "approve"})
    assert decided.status_code == 200 and decided.json()[0]["beta_status"] == "approved"
    events = sorted(m["event"] for m in hub.api(admin_token, "GET", SERVICE + "api/outbox").json() if email in m["to"])
    assert events == ["beta.applied.applicant", "beta.approved"]
    assert hub.api(hub.token_for(jun), "POST", f"/hub/api/users/{email}/server").status_code in (201, 202)
    hub.api(admin_token, "DELETE", f"/hub/api/users/{email}/server")
