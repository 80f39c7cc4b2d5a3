"""The agents service as a traitlets Application: its settings, and how it starts and stops.

It opens the store, serves the pages and API, keeps the beta group in step,
and runs the e-mail component, which composes the beta e-mails into the
outbox and (when SMTP is configured) delivers it. Every setting is a trait
with help text whose default comes from its environment variable (the hub
sets them, see hub_config/platform.py); ``python -m agents_extension.service
--help-all`` lists them, the e-mail component's included.

The e-mail component is named by ``mailer_class``, not imported: the service
needs something that composes an event's e-mail and delivers the outbox (see
`Mailer`), and email_hook's OutboxSender is that, but the service does not
depend on the package that provides it (the layers: both sit on the store,
neither on the other).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any, Mapping, Protocol
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler
from tornado import web
from traitlets import CaselessStrEnum, Float, Integer, List, Type, Unicode, default, validate
from traitlets.config import Application, LoggingConfigurable

from oma_contract import DEFAULT_MODELS, Language
from oma_contract.environment import DocumentedEnvironment, SettingInvalid, from_environment

from ..store import OutboxMessage, Store, open_store
from ..store.recipes import MAX_NOTEBOOK_BYTES
from . import agents_api as agents
from . import gallery
from . import handlers as h
from . import usage_api
from .usage_page import UsagePage
from .beta import BetaDesk
from .hub_api import HubAPI
from .openapi import openapi_document
from .pages import STATIC, page_environment
from .stopping import ServiceApplication, StopRequest, stop_tasks

LOG_FORMAT = "[%(levelname).1s %(asctime)s agents] %(message)s"


class Mailer(Protocol):
    """What the service needs of its e-mail component (``mailer_class``)."""

    configured: bool  # whether it delivers (an SMTP server is set), else e-mail stays in the outbox

    def compose(self, event: str, language: str | None, *, to: list[str], context: Mapping[str, Any]) -> OutboxMessage:
        """An event's e-mail as a pending outbox message, for the store to keep with the event."""

    async def run_forever(self) -> None:
        """Deliver the outbox until stop()."""

    def stop(self) -> None:
        """Make run_forever return after the message being sent, if any."""


def make_app(store: Store, desk: BetaDesk, prefix: str, *, smtp_configured: bool, models: tuple[str, ...],
             recipe_max_bytes: int = gallery.DEFAULT_MAX_BYTES) -> web.Application:
    """The service's tornado application: its pages and API under `prefix`."""
    routes = [
        (r"oauth_callback", HubOAuthCallbackHandler),
        (r"beta/?", h.ApplyPage),
        (r"admin/beta/?", h.AdminBetaPage),
        (r"admin/outbox/?", h.OutboxPage),
        (r"admin/usage/?", UsagePage),
        (r"api/me", h.MeAPI),
        (r"api/beta/applications", h.ApplicationsAPI),
        (r"api/beta/applications/([^/]+)", h.ApplicationAPI),
        (r"api/beta/people/([^/]+)", h.PersonAPI),
        (r"api/beta/decisions", h.DecisionsAPI),
        (r"api/outbox", h.OutboxAPI),
        (r"api/agents/?", agents.AgentsAPI),
        (r"api/agents/([^/]+)", agents.AgentAPI),
        (r"api/agents/([^/]+)/sessions", agents.AgentSessionsAPI),
        (r"api/agent-options", agents.AgentOptionsAPI),
        (r"api/sessions", agents.SessionsAPI),
        *usage_api.ROUTES,
        (r"api/openapi.json", h.OpenAPIDocument),
        (r"recipes/?", gallery.GalleryListPage),
        (r"recipes/([^/]+)", gallery.RecipePage),
        (r"api/recipes/?", gallery.RecipesAPI),
        (r"api/recipes/([^/]+)", gallery.RecipeAPI),
        (r"api/recipes/([^/]+)/notebook", gallery.RecipeNotebookAPI),
        (r"api/recipes/([^/]+)/imports", gallery.RecipeImportsAPI),
        (r"api/recipes/([^/]+)/runs", gallery.RecipeRunsAPI),
    ]
    return ServiceApplication(
        [(prefix + pattern, handler) for pattern, handler in routes] + [(prefix.rstrip("/") + "/?", web.RedirectHandler, {"url": prefix + "beta"})],
        store=store, beta_desk=desk, service_prefix=prefix, templates=page_environment(),
        openapi=openapi_document(prefix, models), smtp_configured=smtp_configured, models=models,
        recipe_max_bytes=recipe_max_bytes,
        cookie_secret=os.urandom(32), xsrf_cookies=True, static_path=str(STATIC), static_url_prefix=prefix + "static/",
    )


class AgentsServiceApp(DocumentedEnvironment, Application):
    """The agents service: beta access, agents and their sessions, the outbox."""

    name = "agents-service"
    description = "The oh-my-agent agents service, started by JupyterHub as its service 'agents'."

    # -- where it runs (JupyterHub sets these for a managed service; the chart for the Deployment) --
    # What the hub decides and passes has no default here: the hub's settings are its only defaults.
    service_prefix = Unicode(
        config=True,
        help="The URL path the service answers under (JupyterHub sets it for its services).",
    ).tag(env="JUPYTERHUB_SERVICE_PREFIX")

    @default("service_prefix")
    def _service_prefix_default(self):
        return from_environment(self, "service_prefix", "")

    service_url = Unicode(
        config=True,
        help="Where the service listens, as http://HOST:PORT (JupyterHub sets it from the service's url).",
    ).tag(env="JUPYTERHUB_SERVICE_URL")

    @default("service_url")
    def _service_url_default(self):
        return from_environment(self, "service_url", "")

    hub_api_url = Unicode(
        config=True,
        help="JupyterHub's REST API, which the service calls to change the beta group and stop servers "
        "(JupyterHub sets it).",
    ).tag(env="JUPYTERHUB_API_URL")

    @default("hub_api_url")
    def _hub_api_url_default(self):
        return from_environment(self, "hub_api_url", "")

    hub_api_token = Unicode(
        config=True,
        help="The service's token for JupyterHub's API (JupyterHub sets it; the chart from a Secret). Never logged.",
    ).tag(env="JUPYTERHUB_API_TOKEN")

    @default("hub_api_token")
    def _hub_api_token_default(self):
        return from_environment(self, "hub_api_token", "")

    public_url = Unicode(
        config=True,
        help="The hub's address as people see it, for the links in e-mails (the hub passes its own public_url).",
    ).tag(env="OMA_PUBLIC_URL")

    @default("public_url")
    def _public_url_default(self):
        return from_environment(self, "public_url", "")

    # -- what it keeps and decides ------------------------------------------------------------
    store_url = Unicode(
        config=True,
        help="The store: sqlite:///ABSOLUTE/PATH.db or firestore://PROJECT_ID[?database=NAME][&prefix=PREFIX] "
        "(the hub passes its own).",
    ).tag(env="OMA_STORE_URL")

    @default("store_url")
    def _store_url_default(self):
        return from_environment(self, "store_url", "")

    admin_emails = List(
        Unicode(),
        config=True,
        help="E-mail addresses of the admins, separated by commas: who gets the notices of new beta applications "
        "(the hub passes its own admin_emails).",
    ).tag(env="OMA_ADMIN_EMAILS")

    @default("admin_emails")
    def _admin_emails_default(self):
        return [e.lower() for e in from_environment(self, "admin_emails", [])]

    admin_mail_language = CaselessStrEnum(
        [language.value for language in Language],
        config=True,
        help="The language of the admins' notices: en or ko.",
    ).tag(env="OMA_ADMIN_MAIL_LANGUAGE")

    @default("admin_mail_language")
    def _admin_mail_language_default(self):
        return from_environment(self, "admin_mail_language", "en")

    beta_group = Unicode(
        config=True,
        help="The JupyterHub group of the people approved for the beta (the hub passes its own beta_group).",
    ).tag(env="OMA_BETA_GROUP")

    @default("beta_group")
    def _beta_group_default(self):
        return from_environment(self, "beta_group", "")

    group_sync_seconds = Float(
        config=True,
        help="How often edits of the beta group in JupyterHub's admin panel are carried into the store, in seconds.",
    ).tag(env="OMA_GROUP_SYNC_SECONDS")

    @default("group_sync_seconds")
    def _group_sync_seconds_default(self):
        return from_environment(self, "group_sync_seconds", 5.0)

    group_full_sync_seconds = Float(
        config=True,
        help="How often the group sync reads every approved person, not only the changes since its last round "
        "(which heals an approval made behind the store's back), in seconds.",
    ).tag(env="OMA_GROUP_FULL_SYNC_SECONDS")

    @default("group_full_sync_seconds")
    def _group_full_sync_seconds_default(self):
        return from_environment(self, "group_full_sync_seconds", 3600.0)

    models = List(
        Unicode(),
        config=True,
        help="The models people may give their agents, separated by commas.",
    ).tag(env="OMA_MODELS")

    @default("models")
    def _models_default(self):
        return from_environment(self, "models", list(DEFAULT_MODELS))

    stop_grace_seconds = Float(
        config=True,
        help="On SIGTERM or SIGINT, how long requests in flight and an e-mail being delivered may take "
        "to finish before the service exits, in seconds.",
    ).tag(env="OMA_STOP_GRACE_SECONDS")

    @default("stop_grace_seconds")
    def _stop_grace_seconds_default(self):
        return from_environment(self, "stop_grace_seconds", 5.0)

    recipe_max_bytes = Integer(
        config=True,
        help="The largest notebook a recipe may hold, in bytes as shared (after its outputs are kept or cleared); "
        "at most 900000 (a Firestore document holds 1 MiB).",
    ).tag(env="OMA_RECIPE_MAX_BYTES")

    @default("recipe_max_bytes")
    def _recipe_max_bytes_default(self):
        return from_environment(self, "recipe_max_bytes", gallery.DEFAULT_MAX_BYTES)

    @validate("recipe_max_bytes")
    def _recipe_max_bytes_fits(self, proposal):
        if not 1_000 <= proposal["value"] <= MAX_NOTEBOOK_BYTES:
            raise SettingInvalid(f"OMA_RECIPE_MAX_BYTES must be from 1000 to {MAX_NOTEBOOK_BYTES} bytes, "
                                 f"not {proposal['value']}")
        return proposal["value"]

    mailer_class = Type(
        default_value="email_hook.sender.OutboxSender",
        klass=LoggingConfigurable,
        config=True,
        help="The e-mail component: composes each beta event's e-mail into the outbox and delivers the "
        "outbox (see app.Mailer). Its settings are read from this service's configuration.",
    )

    @validate("models")
    def _distinct_models(self, proposal):
        return list(dict.fromkeys(m.strip() for m in proposal["value"] if m.strip())) or list(DEFAULT_MODELS)

    @property
    def classes(self):
        """The configurable classes (for --help-all and config files): the service and its e-mail component."""
        return [type(self), self.mailer_class]

    @default("log")
    def _log_default(self):
        """Overrides Application's logger of its own: the service's messages, its modules', tornado's and
        the e-mail component's (a child: it logs here) go through one handler, in one format (serve)."""
        return logging.getLogger("oh-my-agent.service")

    @default("log_level")
    def _log_level_default(self):
        return logging.INFO

    def start(self) -> None:
        try:
            asyncio.run(self.serve())
        except KeyboardInterrupt:  # a signal before the handlers were installed (while starting): nothing to clean
            pass
        except SettingInvalid as error:  # a variable the hub or the chart set wrong: say which, no traceback
            raise SystemExit(f"agents service: {error}") from None

    async def serve(self) -> None:
        """Run until SIGTERM or SIGINT, then stop cleanly (see stopping.py)."""
        logging.basicConfig(level=self.log_level, format=LOG_FORMAT)
        # What the hub decides and passes (hub_config/platform.py, the chart's settings): the service
        # has no default of its own for these, so the two can never disagree.
        for setting in ("service_prefix", "service_url", "store_url", "hub_api_url", "hub_api_token", "public_url",
                        "beta_group"):
            if not getattr(self, setting):
                raise SystemExit(f"agents service: {setting} is not set: set {self.class_traits()[setting].metadata['env']} "
                                 "(the hub sets it for the services it starts).")
        stop = StopRequest()
        stop.install()
        store = open_store(self.store_url)
        mailer: Mailer = self.mailer_class(parent=self, store=store)
        desk = BetaDesk(store=store, hub=HubAPI(self.hub_api_url, self.hub_api_token), group=self.beta_group,
                        hub_url=self.public_url.rstrip("/"), admin_emails=list(self.admin_emails),
                        compose_email=mailer.compose, admin_language=self.admin_mail_language,
                        full_sync_seconds=self.group_full_sync_seconds)
        app = make_app(store, desk, self.service_prefix, smtp_configured=mailer.configured, models=tuple(self.models),
                       recipe_max_bytes=self.recipe_max_bytes)
        url = urlparse(self.service_url)
        server = app.listen(url.port or 80, url.hostname or "127.0.0.1")
        self.log.info("Agents service at %s (store %s, e-mail %s)", self.service_prefix, store.__class__.__name__,
                      "via SMTP" if mailer.configured else "kept in the outbox")
        loops_stop = asyncio.Event()
        tasks = {
            "group sync": asyncio.create_task(desk.keep_in_sync(self.group_sync_seconds, loops_stop)),
            "outbox sender": asyncio.create_task(mailer.run_forever()),
        }

        signal_name = await stop.wait()
        grace = self.stop_grace_seconds
        deadline = stop.at + grace
        server.stop()  # no new connections; the ones open finish their requests
        loops_stop.set()
        mailer.stop()  # after the message being sent, if any: it is then sent once, or still pending
        drained = await app.drained(max(deadline - time.monotonic(), 0.0))
        cancelled = await stop_tasks(tasks, deadline)
        await server.close_all_connections()
        await store.close()
        unfinished = [] if drained else [f"{app.in_flight} request(s) cut off"]
        unfinished += [f"{name} cancelled" for name in cancelled]
        self.log.info("Agents service stopped on %s in %.1f s%s", signal_name, time.monotonic() - stop.at,
                      f" ({', '.join(unfinished)}, after the {grace:g} s grace period)" if unfinished else "")


main = AgentsServiceApp.launch_instance
