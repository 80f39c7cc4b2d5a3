"""HTTP handlers of the agents service: beta pages, admin pages, and the REST API.

Every request is authenticated by JupyterHub (OAuth cookie for browsers,
``Authorization: token ...`` for user servers and scripts) and authorized
here, server side.
"""

from __future__ import annotations

import json
from dataclasses import fields, is_dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web

from ..store import Conflict, NotFound, Person
from .beta import ApplicationInvalid, BetaDesk
from .hub_api import HubError
from .i18n import pick_language, translator

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
        return bool(self.current_user and self.current_user.get("admin"))

    @property
    def language(self) -> str:
        return pick_language(self.request.headers.get("Accept-Language"))

    def url(self, path: str) -> str:
        return self.settings["service_prefix"] + path


class PageHandler(ServiceHandler):
    def render_page(self, template: str, **context: Any) -> None:
        language = self.language
        page = self.settings["templates"].get_template(template).render(
            t=translator(language), lang=language, user=self.current_user, base_url="/hub/", prefix="/",
            static_url=lambda path, **_: f"/hub/static/{path}", logo_url="/hub/logo",
            login_url="/hub/login", logout_url="/hub/logout", no_spawner_check=True,
            parsed_scopes={"admin-ui"} if self.is_admin else set(), xsrf_token=self.xsrf_token.decode(),
            xsrf_form_html=self.xsrf_form_html, url=self.url, services=[],
            beta_admin_url=self.url("admin/beta"), outbox_url=self.url("admin/outbox"), **context,
        )
        self.set_header("Content-Language", language)
        self.finish(page)

    def require_admin(self) -> None:
        if not self.is_admin:
            raise web.HTTPError(403, "Only JupyterHub admins may see this page.")


class ApplyPage(PageHandler):
    @web.authenticated
    async def get(self) -> None:
        person = await self.store.record_sign_in(self.email)
        self.render_page("beta_apply.html", person=person, error=None, form={})

    @web.authenticated
    async def post(self) -> None:
        form = {k: self.get_body_argument(k, "") for k in ("name", "purpose", "organisation")}
        error = None
        try:
            await self.desk.apply(self.email, form["name"], form["purpose"], form["organisation"], self.language)
        except ApplicationInvalid as err:
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

    async def _show(self, message: str = "", error: str = "") -> None:
        groups = {status: await self.store.list_people(status) for status in ("pending", "approved", "rejected")}
        self.render_page("admin_beta.html", groups=groups, message=message, error=error)

    @web.authenticated
    async def post(self) -> None:
        self.require_admin()
        emails = [e.lower() for e in self.get_body_arguments("email")]
        action = self.get_body_argument("action", "")
        note = self.get_body_argument("note", "").strip()
        t = translator(self.language)
        if not emails:
            self.set_status(400)
            return await self._show(error=t("admin.pick"))
        if action not in ("approve", "reject"):
            raise web.HTTPError(400, "The action must be approve or reject.")
        try:
            done = await self.desk.decide(emails, "approved" if action == "approve" else "rejected", note, self.email)
        except NotFound as err:
            self.set_status(404)
            return await self._show(error=f"No application from {err}.")
        except HubError as err:
            self.set_status(502)
            return await self._show(error=str(err))
        await self._show(message=t("admin.done", count=len(done)))


class OutboxPage(PageHandler):
    @web.authenticated
    async def get(self) -> None:
        self.require_admin()
        messages = await self.store.list_outbox(200)
        self.render_page("outbox.html", messages=messages, smtp=self.settings["smtp_configured"])


# -- REST API ------------------------------------------------------------------------
class APIHandler(ServiceHandler):
    """JSON in and out; errors are JSON ``{"error": ..., "field": ...}``."""

    def prepare(self) -> None:
        if self.current_user is None:
            raise web.HTTPError(403, "Sign in to JupyterHub, or send a JupyterHub token in the Authorization header.")

    def check_xsrf_cookie(self) -> None:
        """Extends the hub's XSRF rule, which spares token-authenticated calls: tornado
        checks XSRF before prepare(), so authenticate first to know whether a token came."""
        _ = self.current_user
        return super().check_xsrf_cookie()

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
            data = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "The request body must be JSON.") from None
        if not isinstance(data, dict):
            raise web.HTTPError(400, "The request body must be a JSON object.")
        return data

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
        if status not in (None, "none", "pending", "approved", "rejected"):
            raise FieldError("status", "status must be one of none, pending, approved, rejected.")
        people = await self.store.list_people(status)
        self.send([person_json(p, p.email) for p in people])

    async def post(self) -> None:
        data = self.body()
        values = {}
        for field in ("name", "purpose", "organisation"):  # check_application says which are required
            value = data.get(field, "")
            if not isinstance(value, str):
                raise FieldError(field, f"'{field}' must be text.")
            values[field] = value
        language = data.get("language") or self.language
        if language not in ("en", "ko"):
            raise FieldError("language", "language must be 'en' or 'ko'.")
        try:
            person = await self.desk.apply(self.email, values["name"], values["purpose"], values["organisation"], language)
        except ApplicationInvalid as err:
            raise FieldError(err.field, str(err)) from None
        except Conflict:
            raise web.HTTPError(409, "You already have a pending or approved application.") from None
        self.set_header("Location", self.url(f"api/beta/applications/{quote(self.email)}"))
        self.send(person_json(person, self.email), 201)


class ApplicationAPI(APIHandler):
    async def get(self, email: str) -> None:
        email = email.lower()
        if email != self.email and not self.is_admin:
            raise web.HTTPError(404, "No such application.")
        person = await self.store.get_person(email)
        if person is None or person.application is None:
            raise web.HTTPError(404, "No such application.")
        self.send(person_json(person, email))


class DecisionsAPI(APIHandler):
    async def post(self) -> None:
        self.require_admin()
        data = self.body()
        emails = data.get("emails")
        if not isinstance(emails, list) or not emails or not all(isinstance(e, str) and e for e in emails):
            raise FieldError("emails", "emails must be a non-empty list of e-mail addresses.")
        decision = data.get("decision")
        if decision not in ("approve", "reject"):
            raise FieldError("decision", "decision must be 'approve' or 'reject'.")
        note = data.get("note", "")
        if not isinstance(note, str) or len(note) > 2000:
            raise FieldError("note", "note must be text of at most 2000 characters.")
        try:
            people = await self.desk.decide([e.lower() for e in emails],
                                            "approved" if decision == "approve" else "rejected", note.strip(), self.email)
        except NotFound as err:
            raise web.HTTPError(404, f"No person {err} has signed in or applied.") from None
        except HubError as err:
            raise web.HTTPError(502, str(err)) from None
        self.send([person_json(p, p.email) for p in people])


class OutboxAPI(APIHandler):
    async def get(self) -> None:
        self.require_admin()
        self.send(await self.store.list_outbox(int(self.get_query_argument("limit", "100"))))


class OpenAPIDocument(web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(self.settings["openapi"]))
