"""Starts the agents service: opens the store, serves the pages and API, keeps the
beta group in step, and (when SMTP is configured) delivers the outbox."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from urllib.parse import urlparse

import jinja2
from jupyterhub.services.auth import HubOAuthCallbackHandler
from tornado import web

from ..store import Store, open_store
from . import agents_api as agents
from . import handlers as h
from .agent_fields import models_setting
from .beta import BetaDesk
from .hub_api import HubAPI
from .openapi import openapi_document
from .stopping import ServiceApplication, StopRequest, stop_tasks

log = logging.getLogger("oh-my-agent.service")
HERE = Path(__file__).resolve().parent
PLATFORM_TEMPLATES = HERE.parent.parent / "hub_config" / "templates"


def _hub_templates() -> Path:
    """JupyterHub's own templates (installed under <prefix>/share/jupyterhub/templates)."""
    from jupyterhub._data import DATA_FILES_PATH

    return Path(DATA_FILES_PATH) / "templates"


def template_environment() -> jinja2.Environment:
    hub = str(_hub_templates())
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(str(HERE / "templates")),
        jinja2.FileSystemLoader(str(PLATFORM_TEMPLATES)),
        jinja2.PrefixLoader({"templates": jinja2.FileSystemLoader(hub)}),
        jinja2.FileSystemLoader(hub),
    ])
    # The i18n extension: the pages' words come from the gettext catalog (i18n.template_callables).
    return jinja2.Environment(loader=loader, autoescape=True, extensions=["jinja2.ext.i18n"])


def make_app(store: Store, desk: BetaDesk, prefix: str, *, smtp_configured: bool, models: tuple[str, ...]) -> web.Application:
    routes = [
        (r"oauth_callback", HubOAuthCallbackHandler),
        (r"beta/?", h.ApplyPage),
        (r"admin/beta/?", h.AdminBetaPage),
        (r"admin/outbox/?", h.OutboxPage),
        (r"api/me", h.MeAPI),
        (r"api/beta/applications", h.ApplicationsAPI),
        (r"api/beta/applications/([^/]+)", h.ApplicationAPI),
        (r"api/beta/decisions", h.DecisionsAPI),
        (r"api/outbox", h.OutboxAPI),
        (r"api/agents/?", agents.AgentsAPI),
        (r"api/agents/([^/]+)", agents.AgentAPI),
        (r"api/agents/([^/]+)/sessions", agents.AgentSessionsAPI),
        (r"api/agent-options", agents.AgentOptionsAPI),
        (r"api/sessions", agents.SessionsAPI),
        (r"api/openapi.json", h.OpenAPIDocument),
    ]
    return ServiceApplication(
        [(prefix + pattern, handler) for pattern, handler in routes] + [(prefix.rstrip("/") + "/?", web.RedirectHandler, {"url": prefix + "beta"})],
        store=store, beta_desk=desk, service_prefix=prefix, templates=template_environment(),
        openapi=openapi_document(prefix, models), smtp_configured=smtp_configured, models=models,
        cookie_secret=os.urandom(32), xsrf_cookies=True,
    )


async def serve() -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly (see stopping.py)."""
    logging.basicConfig(level=logging.INFO, format="[%(levelname).1s %(asctime)s agents] %(message)s")
    stop = StopRequest()
    stop.install()
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/agents/")
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    grace = float(os.environ.get("OMA_STOP_GRACE_SECONDS", "5"))
    store = open_store(os.environ["OMA_STORE_URL"])
    hub = HubAPI(os.environ["JUPYTERHUB_API_URL"], os.environ["JUPYTERHUB_API_TOKEN"])
    public_url = os.environ.get("OMA_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    admins = [e.strip().lower() for e in os.environ.get("OMA_ADMIN_EMAILS", "").split(",") if e.strip()]
    desk = BetaDesk(store=store, hub=hub, group=os.environ.get("OMA_BETA_GROUP", "beta"), hub_url=public_url,
                    admin_emails=admins, admin_language=os.environ.get("OMA_ADMIN_MAIL_LANGUAGE", "en"),
                    full_sync_seconds=float(os.environ.get("OMA_GROUP_FULL_SYNC_SECONDS", "3600")))
    smtp_configured = bool(os.environ.get("OMA_SMTP_HOST"))
    app = make_app(store, desk, prefix, smtp_configured=smtp_configured, models=models_setting(os.environ.get("OMA_MODELS")))
    server = app.listen(url.port or 80, url.hostname or "127.0.0.1")
    log.info("Agents service at %s (store %s, e-mail %s)", prefix, store.__class__.__name__,
             "via SMTP" if smtp_configured else "kept in the outbox")
    loops_stop = asyncio.Event()
    tasks = {"group sync": asyncio.create_task(
        desk.keep_in_sync(float(os.environ.get("OMA_GROUP_SYNC_SECONDS", "5")), loops_stop))}
    sender = None
    if smtp_configured:
        from email_hook.sender import OutboxSender

        sender = OutboxSender.from_environment(store)
        tasks["outbox sender"] = asyncio.create_task(
            sender.run_forever(float(os.environ.get("OMA_MAIL_INTERVAL_SECONDS", "10"))))

    signal_name = await stop.wait()
    deadline = stop.at + grace
    server.stop()  # no new connections; the ones open finish their requests
    loops_stop.set()
    if sender is not None:
        sender.stop()  # after the message being sent, if any: it is then sent once, or still pending
    drained = await app.drained(max(deadline - time.monotonic(), 0.0))
    cancelled = await stop_tasks(tasks, deadline)
    await server.close_all_connections()
    await store.close()
    unfinished = [] if drained else [f"{app.in_flight} request(s) cut off"]
    unfinished += [f"{name} cancelled" for name in cancelled]
    log.info("Agents service stopped on %s in %.1f s%s", signal_name, time.monotonic() - stop.at,
             f" ({', '.join(unfinished)}, after the {grace:g} s grace period)" if unfinished else "")


def main() -> None:
    try:
        asyncio.run(serve())
    except KeyboardInterrupt:  # a signal before the handlers were installed (while starting): nothing to clean
        pass
