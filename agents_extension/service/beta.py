"""Beta access: applying, deciding, and keeping the store in step with the hub's beta group.

The beta group in JupyterHub is what lets a person start a server (the hub's
beta gate checks it), so it is the source of truth for access; the store
keeps the applications, the decisions and the e-mails. Admins may decide on
the "Beta applications" page or by editing the group in the JupyterHub admin
panel; `sync_with_group` carries panel edits into the store.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from email_hook.templates import compose

from ..store import BetaApplication, BetaDecision, Conflict, NotFound, Person, Store
from .hub_api import HubAPI

log = logging.getLogger("oh-my-agent.service")

PANEL = "jupyterhub-group"  # who decided, when the decision was made in the admin panel
FIELD_LIMITS = {"name": 120, "purpose": 2000, "organisation": 200}


class ApplicationInvalid(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_application(name: str, purpose: str, organisation: str) -> None:
    for field, value in (("name", name), ("purpose", purpose)):
        if not value.strip():
            raise ApplicationInvalid(field, f"Please fill in '{field}'.")
    for field, value in (("name", name), ("purpose", purpose), ("organisation", organisation)):
        if len(value) > FIELD_LIMITS[field]:
            raise ApplicationInvalid(field, f"'{field}' is too long: at most {FIELD_LIMITS[field]} characters.")


@dataclass
class BetaDesk:
    store: Store
    hub: HubAPI
    group: str
    hub_url: str
    admin_emails: list[str]
    admin_language: str = "en"

    def __post_init__(self) -> None:
        # Decisions from the page and from the panel sync must not interleave,
        # or one approval could be mailed twice.
        self._lock = asyncio.Lock()

    def _context(self, person: Person, note: str = "") -> dict:
        app = person.application
        return {
            "name": (app.name if app else "") or person.name or person.email,
            "email": person.email,
            "purpose": app.purpose if app else "",
            "organisation": app.organisation if app else "",
            "note": note,
            "hub_url": self.hub_url,
            "admin_url": f"{self.hub_url}/services/agents/admin/beta",
        }

    async def apply(self, email: str, name: str, purpose: str, organisation: str, language: str) -> Person:
        name, purpose, organisation = name.strip(), purpose.strip(), organisation.strip()
        check_application(name, purpose, organisation)
        application = BetaApplication(name=name, purpose=purpose, organisation=organisation,
                                      language=language, applied_at=datetime.now(timezone.utc))
        draft = Person(email=email, application=application)
        context = self._context(draft)
        messages = [compose("beta.applied.applicant", language, to=[email], context=context)]
        if self.admin_emails:
            messages.append(compose("beta.applied.admin", self.admin_language, to=list(self.admin_emails), context=context))
        person = await self.store.apply_for_beta(email, application, messages)
        log.info("Beta application from %s recorded; %d e-mail(s) queued", email, len(messages))
        return person

    async def decide(self, emails: list[str], status: str, note: str, by: str) -> list[Person]:
        """Approve or reject several people; approval takes effect in the hub first."""
        if status not in ("approved", "rejected"):
            raise ValueError("decision must be 'approve' or 'reject'")
        async with self._lock:
            known = []
            for email in emails:
                if await self.store.get_person(email) is None:
                    raise NotFound(email)
                known.append(email)
            if status == "approved":
                await self.hub.add_to_group(self.group, known)
            else:
                members = await self.hub.group_members(self.group)
                leaving = [e for e in known if e in members]
                if leaving:
                    await self.hub.remove_from_group(self.group, leaving)
            decided = []
            for email in known:
                decided.append(await self._record(email, status, note, by, mail=True))
            return decided

    async def _record(self, email: str, status: str, note: str, by: str, *, mail: bool) -> Person:
        person = await self.store.get_person(email) or Person(email=email)
        messages = []
        if mail:
            language = person.application.language if person.application else "en"
            event = "beta.approved" if status == "approved" else "beta.rejected"
            messages.append(compose(event, language, to=[email], context=self._context(person, note)))
        decision = BetaDecision(status=status, by=by, note=note, at=datetime.now(timezone.utc))
        stored = await self.store.decide_beta(email, decision, messages)
        log.info("%s %s for the beta (by %s)", email, status, by)
        return stored

    async def sync_with_group(self) -> None:
        """Carry admin-panel edits of the beta group into the store.

        Added to the group: approved, with the approval e-mail. Removed from
        it: access revoked (recorded as rejected, without an e-mail: the admin
        who removed them decides what to tell them)."""
        async with self._lock:
            members = await self.hub.group_members(self.group)
            approved = {p.email for p in await self.store.list_people("approved")}
            for email in sorted(members - approved):
                if await self.store.get_person(email) is None:
                    await self.store.record_sign_in(email)
                await self._record(email, "approved", "", PANEL, mail=True)
            for email in sorted(approved - members):
                await self._record(email, "rejected", "Removed from the beta group in the admin panel.", PANEL, mail=False)

    async def keep_in_sync(self, interval: float, stop: asyncio.Event | None = None) -> None:
        """Sync every ``interval`` seconds until ``stop`` is set (a round under way is finished)."""
        stop = stop or asyncio.Event()
        group_exists = False
        while not stop.is_set():
            try:
                if not group_exists:
                    await self.hub.ensure_group(self.group)
                    group_exists = True
                await self.sync_with_group()
            except Exception:
                log.exception("Could not bring the beta group and the store in step; trying again")
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass


__all__ = ["ApplicationInvalid", "BetaDesk", "Conflict", "NotFound", "check_application"]
