"""Beta access: applying, deciding, and keeping the store in step with the hub's beta group.

The beta group in JupyterHub is what lets a person start a server (the hub's
beta gate checks it), so it is the source of truth for access; the store
keeps the applications, the decisions and the e-mails. Admins may decide on
the "Beta applications" page or by editing the group in the JupyterHub admin
panel; `sync_with_group` carries panel edits into the store. Revoking access, by
either route, also stops the person's running server: the beta gate only
refuses new spawns.

The sync runs every few seconds, so what it reads from the store must not grow
with the number of people: it keeps who is approved in memory and asks the
store only for the people whose beta status changed since its last round
(`Store.beta_changes_since`). The group's members come from the hub's API
(one request a round: the hub has no feed of group changes, and the request
costs the hub one query of its own database, not a store read). A full read
of the approved people still runs at start and every `full_sync_seconds`
(an hour by default) to heal any drift between the two.

E-mail goes out only for real changes: deciding what a person already has
changes nothing and mails nothing (the store makes sure of it, so concurrent
approvals send one mail), and rejecting someone who never applied mails nothing.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from oma_contract import BetaApplicationForm, BetaDecisionForm, BetaStatus, FieldInvalid, Language

from ..store import BetaApplication, BetaDecision, Conflict, NotFound, OutboxMessage, Person, Store
from .hub_api import HubAPI

log = logging.getLogger("oh-my-agent.service")

PANEL = "jupyterhub-group"  # who decided, when the decision was made in the admin panel


def check_application(form: Any) -> BetaApplicationForm:
    """An application as sent (a mapping of its fields), from the page's form or the API's JSON alike."""
    return BetaApplicationForm.check(form)


def check_decision(form: Any) -> tuple[list[str], str, str]:
    """Who (lower-cased, each once), which status and the note of a decision (a mapping of its fields),
    from the admin page's form or the API's JSON alike."""
    decision = BetaDecisionForm.check(form)
    return list(dict.fromkeys(e.lower() for e in decision.emails)), decision.decision.status.value, decision.note


@dataclass
class Outcome:
    """What a batch of decisions did, for the page to say it."""

    people: list[Person] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # whose status changed
    unchanged: list[str] = field(default_factory=list)  # who already had it: nothing stored, nothing mailed
    mailed: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)  # access taken away: their running server was stopped


@dataclass
class BetaDesk:
    store: Store
    hub: HubAPI
    group: str
    hub_url: str
    admin_emails: list[str]
    # Renders an event's e-mail as an outbox message (the e-mail component's compose, see app.Mailer):
    # compose_email(event, language, to=[...], context={...}) -> OutboxMessage
    compose_email: Callable[..., OutboxMessage]
    admin_language: str = "en"
    full_sync_seconds: float = 3600.0  # how often the sync reads every approved person, not only changes

    def __post_init__(self) -> None:
        # Decisions from the page and from the panel sync must not interleave,
        # or one approval could be mailed twice.
        self._lock = asyncio.Lock()
        # Who the store has approved as of _cursor; None until the first full read.
        self._approved: set[str] | None = None
        self._cursor = ""
        self._fully_read_at = -math.inf

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

    async def apply(self, email: str, form: Any, language: Language) -> Person:
        """Record an application (``form``: its fields; ``language``: the one to write to the person in
        when the form names none) and queue its e-mails."""
        sent = check_application(form)
        language = Language(sent.language or language).value
        application = BetaApplication(name=sent.name, purpose=sent.purpose, organisation=sent.organisation,
                                      language=language, applied_at=datetime.now(timezone.utc))
        draft = Person(email=email, application=application)
        context = self._context(draft)
        messages = [self.compose_email("beta.applied.applicant", language, to=[email], context=context)]
        if self.admin_emails:
            messages.append(self.compose_email("beta.applied.admin", self.admin_language, to=list(self.admin_emails), context=context))
        person = await self.store.apply_for_beta(email, application, messages)
        log.info("Beta application from %s recorded; %d e-mail(s) queued", email, len(messages))
        return person

    async def decide(self, emails: list[str], status: str, note: str, by: str) -> Outcome:
        """Approve or reject several people; approval takes effect in the hub first, and a
        revocation stops the person's running server."""
        if status not in (BetaStatus.APPROVED, BetaStatus.REJECTED):
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
            outcome = Outcome()
            for email in known:
                await self._record(outcome, email, status, note, by, mail=True)
            return outcome

    async def _record(self, outcome: Outcome, email: str, status: str, note: str, by: str, *, mail: bool) -> None:
        person = await self.store.get_person(email) or Person(email=email)
        messages = []
        # Someone who never applied has nothing to hear back about when refused.
        if mail and (status == "approved" or person.application is not None):
            language = person.application.language if person.application else "en"
            event = "beta.approved" if status == "approved" else "beta.rejected"
            messages.append(self.compose_email(event, language, to=[email], context=self._context(person, note)))
        revoking = status == "rejected" and person.beta_status == "approved"
        if revoking:
            # The beta gate refuses new spawns only: a server already running would keep answering.
            # Stopped before the revocation is recorded, so a failure leaves it to be tried again.
            await self.hub.stop_server(email)
            log.info("Stopped the server of %s, whose beta access is being revoked (by %s)", email, by)
        decision = BetaDecision(status=status, by=by, note=note, at=datetime.now(timezone.utc))
        stored = await self.store.decide_beta(email, decision, messages)
        outcome.people.append(stored)
        if stored.decision != decision:  # the store kept what they already had
            outcome.unchanged.append(email)
            log.info("%s was already %s for the beta: nothing changed, no e-mail (by %s)", email, status, by)
            return
        outcome.changed.append(email)
        if messages:
            outcome.mailed.append(email)
        if revoking:
            outcome.revoked.append(email)
        log.info("%s %s for the beta (by %s); %d e-mail(s) queued", email, status, by, len(messages))

    async def sync_with_group(self) -> None:
        """Carry admin-panel edits of the beta group into the store.

        Added to the group: approved, with the approval e-mail. Removed from
        it: access revoked (recorded as rejected, without an e-mail: the admin
        who removed them decides what to tell them), and their running server stopped."""
        async with self._lock:
            members = await self.hub.group_members(self.group)
            approved = await self._approved_in_store()
            outcome = Outcome()
            for email in sorted(members - approved):
                if await self.store.get_person(email) is None:
                    await self.store.record_sign_in(email)
                await self._record(outcome, email, "approved", "", PANEL, mail=True)
            for email in sorted(approved - members):
                await self._record(outcome, email, "rejected", "Removed from the beta group in the admin panel.", PANEL,
                                   mail=False)

    async def _approved_in_store(self) -> set[str]:
        """Who the store has approved: read in full at the first round and every
        ``full_sync_seconds``, otherwise the last answer brought up to date with the changes since."""
        if self._approved is None or time.monotonic() - self._fully_read_at >= self.full_sync_seconds:
            # The cursor first: a change made while the list is read is then read again next round, never missed.
            cursor = await self.store.beta_changes_cursor()
            self._approved = {p.email for p in await self.store.list_people("approved")}
            self._cursor, self._fully_read_at = cursor, time.monotonic()
            log.info("Beta-group sync: read all %d approved people from the store (in full every %g s, "
                     "else only changes)", len(self._approved), self.full_sync_seconds)
        else:
            changes = await self.store.beta_changes_since(self._cursor)
            for person in changes.people:
                if person.beta_status == "approved":
                    self._approved.add(person.email)
                else:
                    self._approved.discard(person.email)
            self._cursor = changes.cursor
        return set(self._approved)

    async def keep_in_sync(self, interval: float, stop: asyncio.Event | None = None) -> None:
        """Sync every ``interval`` seconds until ``stop`` is set (a round under way is finished).

        The group itself comes from the hub's configuration (load_groups): the service may not create groups."""
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.sync_with_group()
            except Exception:
                log.exception("Could not bring the beta group and the store in step; trying again")
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass


__all__ = ["BetaDesk", "Conflict", "FieldInvalid", "NotFound", "Outcome", "check_application", "check_decision"]
