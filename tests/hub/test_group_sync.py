"""The beta-group sync reads only beta changes between its full reads, and a full read heals drift.

A person set to approved in the store without the store's change stamp (as a
restored backup or a hand edit would) is a change the sync's rounds cannot
see: it stays until the next full read, which finds them approved in the
store but not in the hub's group, and revokes them as the admin panel would.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.hub.conftest import ADMIN, SERVICE, Hub, person
from tests.polling import wait_for


def approve_behind_the_stores_back(hub: Hub, email: str) -> None:
    """Approve in the store's file directly: no beta change stamp, no hub group, no e-mail."""
    with sqlite3.connect(Path(hub.env["OMA_DATA_DIR"]) / "oh-my-agent.sqlite") as db:
        assert db.execute("UPDATE people SET beta_status = 'approved' WHERE email = ?", (email,)).rowcount == 1


def beta_status(hub: Hub, admin_token: str, email: str) -> str:
    return hub.api(admin_token, "GET", SERVICE + f"api/beta/applications/{email}").json()["beta_status"]


def full_reads(hub: Hub) -> int:
    """How many full reads the service has logged (the whole log: Hub.logs() is its tail)."""
    return hub.log_path.read_text().count("Beta-group sync: read all")


def test_an_unstamped_approval_is_unseen_by_the_rounds_and_revoked_at_the_next_full_read(start_hub):
    hub = start_hub(OMA_GROUP_FULL_SYNC_SECONDS="5")  # rounds every 0.5 s (the suite's hubs), a full read every 5 s
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    email = person("fay")
    fay = hub.sign_in(email)
    applied = fay.post(SERVICE + "beta", data={"name": "Fay", "purpose": "Weekly digests"}, xsrf_path=SERVICE)
    assert 'data-status="pending"' in applied.text
    # Right after a full read, so the next is 5 s away.
    reads = full_reads(hub)
    wait_for(lambda: full_reads(hub) > reads, timeout=15, interval=0.05)
    approve_behind_the_stores_back(hub, email)

    time.sleep(2)  # four rounds: none of them reads the unstamped change
    assert beta_status(hub, admin_token, email) == "approved"
    assert full_reads(hub) == reads + 1
    wait_for(lambda: beta_status(hub, admin_token, email) == "rejected", timeout=15)
    assert full_reads(hub) == reads + 2
    decision = hub.api(admin_token, "GET", SERVICE + f"api/beta/applications/{email}").json()["decision"]
    assert decision["by"] == "jupyterhub-group"
