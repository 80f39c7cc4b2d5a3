"""Where a person stands with the beta, for the hub's pages: not applied, waiting, approved or rejected.

The agents service keeps the applications (the hub never opens the store), so the hub's pages ask it,
with a token of the hub's own (the ``hub-pages`` service: it may read the service's applications, and
lives only in the hub's memory). Whether a person may start a server stays the beta gate's rule (the
beta group, beta_gate.py); this only says what to show the others.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from oma_contract.beta import BetaStatus
from oma_contract.scopes import ADMIN_SCOPE

log = logging.getLogger("oh-my-agent.standing")
PAGES_SERVICE = "hub-pages"
LOOKUP_SECONDS = 3.0  # a page waits at most this long for the service; then it says it could not look


@dataclass(frozen=True)
class Standing:
    """A person's beta application as their pages show it. ``known`` is false when the service could
    not be asked: the page then links to the beta page instead of guessing."""

    status: BetaStatus = BetaStatus.NONE
    applied_at: datetime | None = None
    decided_at: datetime | None = None
    note: str = ""
    known: bool = True


def standing_from_json(person: dict) -> Standing:
    application = person.get("application") or {}
    decision = person.get("decision") or {}

    def when(value):
        return datetime.fromisoformat(value) if value else None

    return Standing(status=BetaStatus(person.get("beta_status", "none")), applied_at=when(application.get("applied_at")),
                    decided_at=when(decision.get("at")), note=decision.get("note") or "")


class StandingLookup:
    """What a page's template calls (``beta_standing.fetch()``, awaited by Jinja's async rendering) for
    the person signed in."""

    def __init__(self, user, *, service: str, token: str) -> None:
        self.user = user
        self.service = service
        self.token = token

    async def fetch(self) -> Standing:
        if self.user is None:
            return Standing()
        service = self.user.settings.get("services", {}).get(self.service)
        if service is None or not service.url:
            return Standing(known=False)
        url = f"{service.url.rstrip('/')}{service.prefix.rstrip('/')}/api/beta/people/{quote(self.user.name, safe='')}"
        try:
            response = await AsyncHTTPClient().fetch(url, headers={"Authorization": f"token {self.token}"},
                                                     request_timeout=LOOKUP_SECONDS)
        except HTTPClientError as error:
            log.warning("Could not read %s's beta application from the agents service: %s", self.user.name, error)
            return Standing(known=False)
        except OSError as error:
            log.warning("Could not reach the agents service for %s's beta application: %s", self.user.name, error)
            return Standing(known=False)
        return standing_from_json(json.loads(response.body))


def pages_service(agents_service: str) -> tuple[dict, dict, str]:
    """The hub's pages as a JupyterHub service without a server (its entry and its role) and their token,
    made afresh at each start: reading applications is an admin's right in the agents service."""
    token = secrets.token_hex(32)
    entry = {"name": PAGES_SERVICE, "api_token": token, "display": False}
    role = {"name": PAGES_SERVICE, "description": "The hub's pages read where a person stands with the beta",
            "services": [PAGES_SERVICE], "scopes": [f"access:services!service={agents_service}", ADMIN_SCOPE]}
    return entry, role, token
