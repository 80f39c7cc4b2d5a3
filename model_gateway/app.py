"""The gateway's process: settings in, an aiohttp server out, until SIGTERM.

aiohttp rather than tornado: its client keeps a pool of kept-alive
connections to the model (tornado's own client opens one per request, a TLS
handshake to the model each time), and server and client stream the same
bytes with no copy through a callback. Nothing is kept in the process that
another replica would need: token and agent answers and the month's budget
figures are caches, usage and budgets are in the store.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from urllib.parse import urlparse

import aiohttp
from aiohttp import web

from .budgets import MonthBudgets
from .handlers import Gateway
from .metrics import GatewayMetrics
from .people import Directory
from .prices import PriceTable
from .refusals import refusal
from .settings import GatewaySettings
from .upstream import AnthropicUpstream, VertexUpstream

log = logging.getLogger("model_gateway")
LOG_FORMAT = "[%(levelname)1.1s %(asctime)s model-gateway] %(message)s"
# On SIGTERM or SIGINT, how long answers in flight may go on: none. The whole platform stops within 5 s
# (tests/hub/test_stopping.py), the hub stops its services one after the other, and an answer can take
# minutes. An answer cut off is recorded as it stands; in the cluster Claude Code retries it against
# another replica.
STOP_GRACE_SECONDS = 0.0


def make_upstream(settings: GatewaySettings):
    if settings.upstream == "vertex":
        return VertexUpstream(settings.vertex_project, settings.vertex_region, settings.vertex_base_url)
    return AnthropicUpstream(settings.anthropic_base_url, settings.anthropic_api_key, settings.anthropic_auth_token)


def missing_credentials(settings: GatewaySettings) -> str | None:
    """What the admins must set before the gateway can reach the model, or None."""
    if settings.upstream == "vertex":
        if not settings.vertex_project:
            return ("the model gateway is set to use Vertex AI but has no project: the hub's admins set "
                    "ANTHROPIC_VERTEX_PROJECT_ID (and CLOUD_ML_REGION) where the hub runs, then restart it")
        return None
    if not (settings.anthropic_api_key or settings.anthropic_auth_token):
        return ("the model gateway has no model credentials: the hub's admins set ANTHROPIC_API_KEY where the hub "
                "runs (ANTHROPIC_API_KEY=... scripts/run on one machine), then restart it")
    return None


def make_app(gateway: Gateway, *, max_request_mb: int, unconfigured: str | None = None) -> web.Application:
    app = web.Application(client_max_size=max_request_mb * 1024 * 1024)
    if unconfigured:
        async def refuse(request: web.Request) -> web.Response:
            gateway.metrics.refusals.labels("unconfigured").inc()
            return refusal(403, f"No model is configured: {unconfigured}.")

        app.router.add_post("/v1/messages", refuse)
        app.router.add_post("/v1/messages/count_tokens", refuse)
    else:
        app.router.add_post("/v1/messages", gateway.messages)
        app.router.add_post("/v1/messages/count_tokens", gateway.count_tokens)
    # The caller's month for a cell's footer: served also while no model is configured (nothing is spent then).
    app.router.add_get("/v1/oma/spend", gateway.spend)
    app.router.add_get("/metrics", gateway.metrics_page)
    app.router.add_get("/health", gateway.health)
    app.router.add_route("*", "/{tail:.*}", gateway.not_found)
    return app


async def serve(settings: GatewaySettings) -> None:
    from agents_extension.store import open_store

    for setting in ("service_url", "hub_api_url", "store_url"):
        if not getattr(settings, setting):
            raise SystemExit(f"model gateway: {setting} is not set: set {settings.class_traits()[setting].metadata['env']} "
                             "(the hub sets it for the services it starts).")
    store = open_store(settings.store_url)
    # No limit on pooled connections: 200 streams at once each hold one for their whole answer.
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60),
                                    auto_decompress=False)
    metrics = GatewayMetrics()
    gateway = Gateway(
        directory=Directory(settings.hub_api_url, session, store, settings.token_cache_seconds,
                            settings.agent_cache_seconds),
        upstream=make_upstream(settings), ledger=store, prices=PriceTable(settings.prices), metrics=metrics,
        budgets=MonthBudgets(store, settings.budget_cache_seconds),
        models=tuple(settings.models), session=session, connect_seconds=settings.upstream_connect_seconds,
    )
    unconfigured = missing_credentials(settings)
    if unconfigured:
        log.warning("Model requests are refused until configured: %s", unconfigured)
    runner = web.AppRunner(make_app(gateway, max_request_mb=settings.max_request_mb, unconfigured=unconfigured),
                           access_log=None, shutdown_timeout=STOP_GRACE_SECONDS,
                           # A client that goes away cancels its handler even while the model is silent: the
                           # model's stream is closed at once (it stops generating) and the usage so far recorded.
                           handler_cancellation=True)
    await runner.setup()
    url = urlparse(settings.service_url)
    site = web.TCPSite(runner, url.hostname or "127.0.0.1", url.port or 80, backlog=1024)
    await site.start()
    log.info("Model gateway on %s, forwarding to %s; models: %s", settings.service_url, gateway.upstream.label,
             ", ".join(settings.models) or "any")

    stopped: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda name=signal.Signals(signum).name: stopped.done() or stopped.set_result(name))
    signal_name = await stopped
    began = time.monotonic()
    log.info("Model gateway stopping on %s: answers in flight are cut off", signal_name)
    await gateway.cut_off()
    await runner.cleanup()
    await gateway.drained(timeout=1.0)
    await session.close()
    await store.close()
    log.info("Model gateway stopped on %s in %.1f s", signal_name, time.monotonic() - began)


def main() -> None:
    settings = GatewaySettings()
    settings.parse_command_line()
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass
