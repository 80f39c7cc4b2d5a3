"""HTTP handlers of the agents service: beta pages, admin pages, and the REST API.

Every request is authenticated by JupyterHub (OAuth cookie for browsers,
``Authorization: token ...`` for user servers and scripts) and authorized
here, server side. Admin power follows the scopes of the credential presented
(``ADMIN_SCOPE``), never the person's admin flag: a user server's token acting
for an admin is not an admin here.
"""

from __future__ import annotations

import json
import logging
from dataclasses import fields, is_dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from jupyterhub.services.auth import HubOAuthenticated, UserNotAllowed
from pydantic import TypeAdapter, ValidationError
from tornado import web

from oma_contract import BETA_LIMITS, BetaStatus, Email, FieldInvalid
from oma_contract.problems import json_object

from ..store import Conflict, NotFound, Person
from .beta import BetaDesk, check_decision
from .hub_api import ADMIN_SCOPE, HubError
from .i18n import request_language, template_callables, translations
from .pages import decision_feedback

log = logging.getLogger("oh-my-agent.service")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# The admin's page lists people in this order; people who never applied are not on it.
DECIDED_OR_PENDING = (BetaStatus.PENDING, BetaStatus.APPROVED, BetaStatus.REJECTED)

def to_json(value: Any) -> Any:
    """Dataclasses and datetimes as JSON-ready values."""
    # Plain values first and dataclasses field by field (dataclasses.asdict deep-copies):
    # a list of a few hundred agents is converted on every request.
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if is_dataclass(value):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value)}
    return value


class ServiceHandler(HubOAuthenticated, web.RequestHandler):
    """The person (or service) behind a request, found once in ``prepare`` without blocking.

    HubAuthenticated looks the person up on HubAuth's one-thread pool and blocks
    the service's event loop on it; its cookie lookup calls ``check_xsrf_cookie``
    from that thread, so anything there that reads ``current_user`` waits on the
    pool it is running on, and the whole service hangs for good. Here the lookup
    is HubAuth's asynchronous one, awaited on the service's own loop, and
    ``current_user`` only reads what it found.
    """

    _hub_user: dict[str, Any] | None = None
    _looked_up = False  # True from the moment HubAuth starts looking the person up
    _xsrf_refusal = ""

    async def prepare(self) -> None:
        self._looked_up = True
        model = await self.hub_auth.get_user(self, sync=False)
        try:
            self._hub_user = self.check_hub_user(model) if model else None
        except UserNotAllowed:
            log.info("Refused %s %s: the credential does not grant access to this service", model.get("kind"),
                     model.get("name"))
            # Not a redirect to sign in again: the same credential would come back, and round it would go.
            raise web.HTTPError(403, "Your JupyterHub credential does not give access to the agents service: "
                                     "sign in again, or make a token that may access it.") from None
        if self._hub_user is None and self._xsrf_refusal:
            log.info("Refused %s %s: sign-in cookie without its XSRF token (%s)", self.request.method,
                     self.request.path, self._xsrf_refusal)
            raise web.HTTPError(403, "This request came with your sign-in cookie but without its XSRF token "
                                     f"({self._xsrf_refusal}). Reload the page and try again; scripts send the "
                                     "'_xsrf' cookie's value in an X-XSRFToken header, or a JupyterHub token in "
                                     "the Authorization header.")
        if self._hub_user is not None and self.request.method not in SAFE_METHODS:
            # Changes made with the sign-in cookie need its XSRF token, whatever HubAuth checked on
            # the way; token-authenticated calls (Authorization header) are exempt.
            self.check_xsrf_cookie()

    def get_current_user(self) -> dict[str, Any] | None:
        """Overrides HubAuthenticated.get_current_user, which blocks on HubAuth's pool: the user
        ``prepare`` found (None before it ran)."""
        return self._hub_user

    def check_xsrf_cookie(self) -> None:
        """Overrides HubAuthenticated.check_xsrf_cookie. Tornado calls it before ``prepare``, when it
        is not known yet whether a token (exempt) or the sign-in cookie came: then ``prepare`` checks
        instead. HubAuth calls it while it looks up a cookie's person: a failure there means the
        cookie does not sign the request in, and ``prepare`` says why."""
        if not self._looked_up:
            return
        try:
            self.hub_auth.check_xsrf_cookie(self)
        except web.HTTPError as err:
            self._xsrf_refusal = err.log_message or "XSRF check failed"
            raise

    @property
    def desk(self) -> BetaDesk:
        return self.settings["beta_desk"]

    @property
    def store(self):
        return self.settings["store"]

    @property
    def email(self) -> str:
        return self.current_user["name"].lower()

    @property
    def is_admin(self) -> bool:
        """Admin by the scopes of the credential presented: a hub admin's browser sign-in and
        personal tokens hold ADMIN_SCOPE, their server's token (role ``server``) does not."""
        return bool(self.current_user and ADMIN_SCOPE in self.current_user.get("scopes", ()))

    @property
    def language(self) -> str:
        return request_language(self)

    def url(self, path: str) -> str:
        return self.settings["service_prefix"] + path


class PageHandler(ServiceHandler):
    def render_page(self, template: str, **context: Any) -> None:
        """Render one of the service's pages (templates/, on the service's own layout.html)."""
        language = self.language
        page = self.settings["templates"].get_template(template).render(
            **template_callables(language), lang=language, user=self.current_user, is_admin=self.is_admin,
            hub_url="/hub/", static_url=self.static_url, xsrf_form_html=self.xsrf_form_html, url=self.url,
            beta_admin_url=self.url("admin/beta"), outbox_url=self.url("admin/outbox"),
            usage_url=self.url("admin/usage"), limits=BETA_LIMITS, **context,
        )
        self.set_header("Content-Language", language)
        self.finish(page)

    def require_admin(self) -> None:
        if not self.is_admin:
            raise web.HTTPError(403, "Only JupyterHub admins may see this page.")

    def form_values(self, name: str) -> list[str]:
        """A form field's values as sent: tornado's get_body_argument turns control characters
        into spaces, which would store what the person never typed instead of refusing it."""
        try:
            return [value.decode("utf-8") for value in self.request.body_arguments.get(name, [])]
        except UnicodeDecodeError:
            raise web.HTTPError(400, f"The form field '{name}' is not UTF-8 text: send the form from the page again.") from None

    def form_value(self, name: str) -> str:
        values = self.form_values(name)
        return values[-1] if values else ""


class ApplyPage(PageHandler):
    @web.authenticated
    async def get(self) -> None:
        person = await self.store.record_sign_in(self.email)
        self.render_page("beta_apply.html", person=person, error=None, form={})

    @web.authenticated
    async def post(self) -> None:
        form = {k: self.form_value(k) for k in ("name", "purpose", "organisation")}
        error = None
        try:
            await self.desk.apply(self.email, form, self.language)
        except FieldInvalid as err:
            error = str(err)
            self.set_status(400)
        except Conflict:
            error = None  # already pending or approved: the page shows the status
        person = await self.store.get_person(self.email)
        self.render_page("beta_apply.html", person=person, error=error, form=form)


class AdminBetaPage(PageHandler):
    @web.authenticated
    async def get(self) -> None:
        self.require_admin()
        await self._show()

    async def _show(self, message: str = "", error: str = "", **feedback: Any) -> None:
        groups = {status: await self.store.list_people(status) for status in DECIDED_OR_PENDING}
        self.render_page("admin_beta.html", groups=groups, message=message, error=error,
                         smtp=self.settings["smtp_configured"], **feedback)

    @web.authenticated
    async def post(self) -> None:
        self.require_admin()
        _ = translations(self.language).gettext
        try:
            emails, status, note = check_decision({"emails": self.form_values("email"), "decision": self.form_value("action"),
                                                   "note": self.form_value("note")})
        except FieldInvalid as err:
            self.set_status(400)
            return await self._show(error=_("Select at least one person.") if err.field == "emails" and not self.form_values("email") else str(err))
        decided_at = datetime.now(timezone.utc)  # the page watches the outbox for the e-mails queued from now
        try:
            outcome = await self.desk.decide(emails, status, note, self.email)
        except NotFound as err:
            self.set_status(404)
            return await self._show(error=f"No application from {err}.")
        except HubError as err:
            self.set_status(502)
            return await self._show(error=str(err))
        await self._show(message=decision_feedback(outcome, self.settings["smtp_configured"], _),
                         mailed=outcome.mailed, decided_at=decided_at.isoformat())


class OutboxPage(PageHandler):
    @web.authenticated
    async def get(self) -> None:
        self.require_admin()
        messages = await self.store.list_outbox(200)
        self.render_page("outbox.html", messages=messages, smtp=self.settings["smtp_configured"])


# -- REST API ------------------------------------------------------------------------
class APIHandler(ServiceHandler):
    """JSON in and out; errors are JSON ``{"error": ..., "field": ...}``."""

    async def prepare(self) -> None:
        await super().prepare()
        if self.current_user is None:
            raise web.HTTPError(403, "Sign in to JupyterHub, or send a JupyterHub token in the Authorization header.")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = getattr(exc, "log_message", None) or self._reason
        body: dict[str, Any] = {"error": message}
        if getattr(exc, "field", None):
            body["field"] = exc.field
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def body(self) -> dict[str, Any]:
        try:
            return json_object(self.request.body)
        except FieldInvalid as err:
            raise web.HTTPError(400, str(err)) from None

    def send(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(to_json(value)))

    def require_admin(self) -> None:
        if not self.is_admin:
            raise web.HTTPError(403, "This needs JupyterHub admin rights.")


class FieldError(web.HTTPError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(400, message)
        self.field = field


def person_json(person: Person | None, email: str) -> dict[str, Any]:
    if person is None:
        return {"email": email, "beta_status": "none", "application": None, "decision": None}
    return to_json({"email": person.email, "beta_status": person.beta_status,
                    "application": person.application, "decision": person.decision})


class MeAPI(APIHandler):
    async def get(self) -> None:
        person = await self.store.get_person(self.email)
        self.send({**person_json(person, self.email), "admin": self.is_admin})


class ApplicationsAPI(APIHandler):
    async def get(self) -> None:
        self.require_admin()
        status = self.get_query_argument("status", None)
        if status is not None and status not in tuple(BetaStatus):
            raise FieldError("status", f"status must be one of {', '.join(BetaStatus)}.")
        people = await self.store.list_people(status)
        self.send([person_json(p, p.email) for p in people])

    async def post(self) -> None:
        data = self.body()
        try:
            person = await self.desk.apply(self.email, data, self.language)
        except FieldInvalid as err:
            raise FieldError(err.field, str(err)) from None
        except Conflict:
            raise web.HTTPError(409, "You already have a pending or approved application.") from None
        self.set_header("Location", self.url(f"api/beta/applications/{quote(self.email)}"))
        self.send(person_json(person, self.email), 201)


_EMAIL = TypeAdapter(Email)


def email_in_url(email: str) -> str:
    """The e-mail address a URL names, lowercased; a 400 naming ``email`` if it is none."""
    try:
        return _EMAIL.validate_python(email).lower()
    except ValidationError:
        raise FieldError("email", "The address in the URL is not an e-mail address: it holds control or "
                                  "invisible characters, or is empty.") from None


class ApplicationAPI(APIHandler):
    async def get(self, email: str) -> None:
        email = email_in_url(email)
        if email != self.email and not self.is_admin:
            raise web.HTTPError(404, "No such application.")
        person = await self.store.get_person(email)
        if person is None or person.application is None:
            raise web.HTTPError(404, "No such application.")
        self.send(person_json(person, email))


class PersonAPI(APIHandler):
    """Where anyone stands, for admins: a person who never applied is ``none``, not a 404 (the hub's pages
    ask on every visit of someone not approved, and a 404 would be logged as a warning each time)."""

    async def get(self, email: str) -> None:
        self.require_admin()
        email = email_in_url(email)
        self.send(person_json(await self.store.get_person(email), email))


class DecisionsAPI(APIHandler):
    async def post(self) -> None:
        self.require_admin()
        data = self.body()
        try:
            emails, status, note = check_decision(data)
        except FieldInvalid as err:
            raise FieldError(err.field, str(err)) from None
        decided_at = datetime.now(timezone.utc)  # the page watches the outbox for the e-mails queued from now
        try:
            outcome = await self.desk.decide(emails, status, note, self.email)
        except NotFound as err:
            raise web.HTTPError(404, f"No person {err} has signed in or applied.") from None
        except HubError as err:
            raise web.HTTPError(502, str(err)) from None
        self.send([person_json(p, p.email) for p in outcome.people])


class OutboxAPI(APIHandler):
    async def get(self) -> None:
        self.require_admin()
        limit = self.get_query_argument("limit", "100")
        # ASCII digits only: str.isdigit also takes "²", which int() refuses; five at most, as the limit has.
        if not (limit.isascii() and limit.isdigit() and len(limit) <= 5) or not 1 <= int(limit) <= 10_000:
            raise FieldError("limit", "limit must be a whole number of messages from 1 to 10000.")
        self.send(await self.store.list_outbox(int(limit)))


class OpenAPIDocument(web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(self.settings["openapi"]))
