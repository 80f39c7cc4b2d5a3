"""The gateway's endpoints: the Messages API (streamed or whole), count_tokens, the caller's month
(/v1/oma/spend), /metrics and a health check.

A request is checked in the order that costs least: the token (cached), the
body, the model, the agent (cached), the budget; only then does it reach the
model. A streamed answer is written on to the client piece by piece as it
arrives; the meter reads the same bytes on the way. Whatever happens (the
answer completes, the client goes away, the model's stream breaks), the
request's usage is recorded once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from oma_contract.usage import UsageRecord, micro_usd

from .metering import StreamMeter, usage_of_message
from .people import Caller, HubUnavailable, TokenRefused, token_of
from .prices import Usage
from .refusals import refusal
from .upstream import (FORWARDED_REQUEST_HEADERS, FORWARDED_REQUEST_PREFIXES, FORWARDED_RESPONSE_HEADERS,
                       FORWARDED_RESPONSE_PREFIXES, Call, forwarded)

log = logging.getLogger("model_gateway")
AGENT_HEADER = "X-OMA-Agent"
READ_CHUNK = 64 * 1024
RECORD_RETRY_SECONDS = 120.0  # how long a request's usage record is tried again while the store is away


def lost(record: UsageRecord, why: str) -> None:
    """A usage record the store never took: logged whole (the person, agent, tokens, cost), so that the admins
    can count it by hand; the month's figures miss it until then."""
    log.error("LOST usage record (%s): %s", why, record.model_dump_json())
# What a person is told when the store (agents, limits, spend) could not be read for the checks before a request.
STORE_UNREADABLE = ("The model gateway could not read the platform's store (agents, limits and spend) to check this "
                    "request. Run the cell again in a moment; if it goes on, tell the hub's admins.")


class Refused(Exception):
    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason


# A dated version of a model: claude-sonnet-4-5-20250929 (Anthropic), claude-sonnet-4-5@20250929 (Vertex AI).
DATED_VERSION = re.compile(r"[-@][0-9]{8}")


def allowed_model(model: str, models: tuple[str, ...]) -> bool:
    """``model`` is one of ``models`` or a dated version of one (-20250929, @20250929). Only a date counts:
    claude-opus-4 allowed does not let claude-opus-4-5 through."""
    return any(model == name or (model.startswith(name) and DATED_VERSION.fullmatch(model[len(name):]))
               for name in models)


class Gateway:
    """What the handlers share: settings, the hub and store directory, the upstream, the ledger, metrics."""

    def __init__(self, *, directory, upstream, ledger, budgets, prices, metrics, models: tuple[str, ...],
                 session: aiohttp.ClientSession, connect_seconds: float) -> None:
        self.directory = directory
        self.upstream = upstream
        self.ledger = ledger
        self.budgets = budgets  # budgets.MonthBudgets: the month's figures, kept a few seconds
        self.prices = prices
        self.metrics = metrics
        self.models = models
        self.session = session
        self.connect_seconds = connect_seconds
        self._recording: dict[asyncio.Task, UsageRecord] = {}  # records being written, by their task
        self._answering: set[asyncio.Task] = set()  # the handlers of requests in flight

    # -- the checks --------------------------------------------------------------------------
    async def caller(self, request: web.Request) -> Caller:
        try:
            caller = await self.directory.caller(token_of(request.headers))
        except TokenRefused as error:
            raise Refused(401, str(error), "token") from None
        except HubUnavailable as error:
            log.warning("Could not check a token: %s", error)
            raise Refused(503, f"The model gateway could not check this server's token: {error}. Run the cell "
                               "again in a little while.", "hub_unavailable") from None
        if not caller.may_use_gateway:
            raise Refused(401, "This token is not one for the model gateway (it lacks access to the service "
                               "model-gateway). Claude cells use the token the hub gives your server when it starts: "
                               "restart your server from the hub's home page.", "token")
        return caller

    async def body(self, request: web.Request) -> tuple[dict[str, Any], bytes]:
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise Refused(413, "The request is larger than the model gateway accepts (OMA_GATEWAY_MAX_REQUEST_MB).",
                          "too_large") from None
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise Refused(400, "The request body must be a JSON object (Anthropic's Messages API).", "bad_request")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise Refused(400, "The request must name its model in the field 'model'.", "bad_request")
        return body, raw

    def check_model(self, model: str) -> None:
        if self.models and not allowed_model(model, self.models):
            raise Refused(400, f"The model '{model}' is not one this hub allows. Allowed models: "
                               f"{', '.join(self.models)} (the OMA_MODELS setting, chosen by the hub's admins). "
                               "Pick one of them for the agent on the agents dashboard.", "model")

    async def agent_of(self, request: web.Request, caller: Caller) -> str | None:
        agent_id = request.headers.get(AGENT_HEADER, "").strip()
        if not agent_id:
            return None
        try:
            owner = await self.directory.owner_of(agent_id)
        except Exception as error:
            raise self._store_unreadable(f"the owner of agent {agent_id}", error) from None
        if owner != caller.person:
            # The same answer for someone else's agent and for none at all: the gateway tells nobody whose it is.
            raise Refused(403, f"The agent '{agent_id}' is not one of yours ({caller.person}), so the model gateway "
                               "does not count requests against it. Open the notebook with one of your own agents "
                               "from the agents dashboard.", "agent")
        return agent_id

    async def check_budget(self, caller: Caller, agent_id: str | None) -> None:
        try:
            over = await self.budgets.check(caller.person, agent_id, datetime.now(timezone.utc))
        except Exception as error:
            raise self._store_unreadable(f"the month of {caller.person}", error) from None
        if over is not None:
            # 400, as Anthropic answers a used-up credit balance: Claude Code neither retries it nor calls it
            # an authentication failure.
            raise Refused(400, f"Monthly limit reached: {over.message}", f"budget_{over.limit}")

    @staticmethod
    def _store_unreadable(what: str, error: Exception) -> Refused:
        # 503: Claude Code retries it a few times, and a store that was busy for a moment has answered by then.
        log.warning("Could not read %s from the store: %s: %s", what, type(error).__name__, error)
        return Refused(503, STORE_UNREADABLE, "store_unavailable")

    # -- recording -----------------------------------------------------------------------------
    def record(self, caller: Caller, agent_id: str | None, model: str, usage: Usage, outcome: str) -> None:
        cost = self.prices.cost_usd(model, usage)
        self.metrics.requests.labels(model, outcome).inc()
        for kind, count in (("input", usage.input_tokens), ("output", usage.output_tokens),
                            ("cache_write", usage.cache_creation_input_tokens),
                            ("cache_read", usage.cache_read_input_tokens)):
            if count:
                self.metrics.tokens.labels(model, kind).inc(count)
        if cost:
            self.metrics.cost.labels(model).inc(cost)
        at = datetime.now(timezone.utc)
        # Counted against the limits here and now, before the store has it: the next request of this replica
        # is checked against it.
        self.budgets.spent(caller.person, agent_id, at, micro_usd(cost))
        record = UsageRecord(request_id=uuid.uuid4().hex, person=caller.person, agent_id=agent_id, model=model,
                             input_tokens=usage.input_tokens, output_tokens=usage.output_tokens,
                             cache_creation_input_tokens=usage.cache_creation_input_tokens,
                             cache_read_input_tokens=usage.cache_read_input_tokens, cost_usd=cost,
                             at=at, outcome=outcome)
        # A task of its own: the client may be gone, and its handler with it; the record must still land.
        task = asyncio.get_running_loop().create_task(self._save(self.ledger.record_usage, record))
        self._recording[task] = record
        task.add_done_callback(lambda done: self._recording.pop(done, None))

    async def _save(self, save, record) -> None:
        """Write the record, trying again (with growing waits) while the store is away for up to
        RECORD_RETRY_SECONDS: a request's cost is money spent, and the store counts a request id once, so
        trying again never counts it twice. A record that still could not be written is logged whole."""
        deadline, wait, attempt = time.monotonic() + RECORD_RETRY_SECONDS, 0.5, 0
        while True:
            attempt += 1
            try:
                await save(record)
                if attempt > 1:
                    log.info("Recorded usage of request %s at attempt %d", record.request_id, attempt)
                return
            except Exception as error:
                if attempt == 1:
                    log.exception("Could not record usage of request %s; trying again for up to %.0f s",
                                  record.request_id, RECORD_RETRY_SECONDS)
                if time.monotonic() + wait > deadline:
                    lost(record, f"{attempt} attempts over {RECORD_RETRY_SECONDS:.0f} s: {error}")
                    return
            await asyncio.sleep(wait)
            wait = min(wait * 2, 5.0)

    async def drained(self, timeout: float = 2.0) -> None:
        """Wait (a little) for the usage records still being written; those that are not (the gateway
        is stopping while the store is away) are logged whole, for the admins to count by hand."""
        pending = {task: record for task, record in self._recording.items() if not task.done()}
        if pending:
            await asyncio.wait(set(pending), timeout=timeout)
        for task, record in pending.items():
            if not task.done():
                task.cancel()
                lost(record, "the gateway stopped before the store confirmed it")

    # -- the endpoints --------------------------------------------------------------------------
    async def messages(self, request: web.Request) -> web.StreamResponse:
        return await self._forward(request, count_only=False)

    async def count_tokens(self, request: web.Request) -> web.StreamResponse:
        return await self._forward(request, count_only=True)

    async def cut_off(self, timeout: float = 1.0) -> None:
        """End every answer in flight (on stop): each is recorded as it stands."""
        for task in list(self._answering):
            task.cancel()
        if self._answering:
            await asyncio.wait(set(self._answering), timeout=timeout)

    async def _forward(self, request: web.Request, *, count_only: bool) -> web.StreamResponse:
        task = asyncio.current_task()
        self._answering.add(task)
        try:
            return await self._checked_forward(request, count_only=count_only)
        finally:
            self._answering.discard(task)

    async def _checked_forward(self, request: web.Request, *, count_only: bool) -> web.StreamResponse:
        started = time.monotonic()
        try:
            caller = await self.caller(request)
            body, raw = await self.body(request)
            model = body["model"]
            self.check_model(model)
            agent_id = await self.agent_of(request, caller)
            if not count_only:
                await self.check_budget(caller, agent_id)
        except Refused as refused:
            self.metrics.refusals.labels(refused.reason).inc()
            log.info("Refused a request (%s): %s", refused.reason, refused.message)
            return refusal(refused.status, refused.message)
        headers = forwarded(request.headers, FORWARDED_REQUEST_HEADERS, FORWARDED_REQUEST_PREFIXES)
        upstream = self.upstream
        try:
            call = await (upstream.count_tokens if count_only else upstream.messages)(body, raw, headers, request.query_string)
        except Exception as error:  # the Google token could not be had
            log.error("Could not prepare the request for %s: %s", upstream.label, error)
            self.metrics.upstream_errors.labels("unreachable").inc()
            return refusal(502, f"The model gateway could not sign in to the model's provider ({upstream.label}): "
                                f"{type(error).__name__}. Tell the hub's admins; run the cell again later.")
        if count_only:
            return await self._whole(request, call, None, model, started, metered=False)
        if body.get("stream"):
            return await self._stream(request, call, (caller, agent_id), model, started)
        return await self._whole(request, call, (caller, agent_id), model, started, metered=True)

    def _open(self, call: Call):
        # An uncompressed answer, whatever the client accepts (aiohttp would ask for gzip by itself): the meter
        # reads the bytes as they pass, and what it reads must be what was sent.
        headers = {name: value for name, value in call.headers.items() if name.lower() != "accept-encoding"}
        headers["Accept-Encoding"] = "identity"
        return self.session.post(call.url, data=call.body, headers=headers,
                                 timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.connect_seconds,
                                                               sock_read=None), auto_decompress=False)

    def _unreachable(self, error: BaseException) -> web.Response:
        log.warning("The model (%s) could not be reached: %s", self.upstream.label, error)
        self.metrics.upstream_errors.labels("unreachable").inc()
        return refusal(502, f"The model gateway could not reach the model ({self.upstream.label}: "
                            f"{type(error).__name__}). Run the cell again in a little while; if it keeps failing, "
                            "tell the hub's admins.")

    async def _error_answer(self, request: web.Request, answer: aiohttp.ClientResponse) -> web.Response:
        # 429/5xx/529 and the rest go back as they came, so Claude Code's own retries see the model's answer.
        self.metrics.upstream_errors.labels(str(answer.status)).inc()
        raw = await answer.read()
        return web.Response(status=answer.status, body=raw, headers=self._answer_headers(answer))

    def _answer_headers(self, answer: aiohttp.ClientResponse) -> dict[str, str]:
        headers = forwarded(answer.headers, FORWARDED_RESPONSE_HEADERS, FORWARDED_RESPONSE_PREFIXES)
        if "content-encoding" in answer.headers:
            headers["content-encoding"] = answer.headers["content-encoding"]
        return headers

    async def _whole(self, request, call, who, model, started, *, metered: bool) -> web.StreamResponse:
        try:
            async with self._open(call) as answer:
                if answer.status != 200:
                    return await self._error_answer(request, answer)
                raw = await answer.read()
                headers = self._answer_headers(answer)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            return self._unreachable(error)
        except asyncio.CancelledError:
            # The client went away (or the gateway is stopping) before the whole answer came; leaving the block
            # closed the model's connection. The model was asked all the same: recorded with what is known (who,
            # which model; no tokens, as a whole answer reports them only at its end).
            if metered and who is not None:
                self.metrics.duration.labels(model).observe(time.monotonic() - started)
                self.record(who[0], who[1], model, Usage(), "client_disconnected")
            raise
        self.metrics.first_byte.labels(model).observe(time.monotonic() - started)
        self.metrics.duration.labels(model).observe(time.monotonic() - started)
        if metered and who is not None:
            try:
                message = json.loads(raw) if "content-encoding" not in headers else None
            except ValueError:
                message = None
            self.record(who[0], who[1], model, usage_of_message(message), "complete")
        return web.Response(status=200, body=raw, headers=headers)

    async def _stream(self, request, call, who, model, started) -> web.StreamResponse:
        caller, agent_id = who
        meter = StreamMeter()
        outcome = "complete"
        response: web.StreamResponse | None = None
        try:
            async with self._open(call) as answer:
                if answer.status != 200:
                    return await self._error_answer(request, answer)
                response = web.StreamResponse(status=200, headers=self._answer_headers(answer))
                await response.prepare(request)
                first = True
                try:
                    async for chunk in answer.content.iter_any():
                        meter.feed(chunk)
                        await response.write(chunk)
                        if first:
                            self.metrics.first_byte.labels(model).observe(time.monotonic() - started)
                            first = False
                except (ConnectionResetError, asyncio.CancelledError):
                    outcome = "client_disconnected"  # leaving the block closes the model's stream: it stops generating
                    raise
                except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                    outcome = "upstream_error"
                    self.metrics.upstream_errors.labels("broken").inc()
                    log.warning("The model's stream broke off: %s", error)
                    event = {"type": "error", "error": {"type": "api_error", "message":
                             "The model's answer broke off on its way through the model gateway. Run the cell again."}}
                    await response.write(f"event: error\ndata: {json.dumps(event)}\n\n".encode())
                if outcome == "complete" and not meter.stopped:
                    outcome = "upstream_error"  # the model ended the stream without finishing its message
            await response.write_eof()
            return response
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            if response is None:
                return self._unreachable(error)
            outcome = "client_disconnected" if isinstance(error, ConnectionResetError) else "upstream_error"
            return response
        finally:
            if response is not None:
                self.metrics.duration.labels(model).observe(time.monotonic() - started)
                self.record(caller, agent_id, meter.model or model, meter.usage, outcome)

    async def spend(self, request: web.Request) -> web.Response:
        """``GET /v1/oma/spend``: where the caller stands this month (oma_contract.usage.MonthStanding), for the
        footer of a cell. Asked with the same token as a model request and the same agent header, believed on
        the same terms; the figures are those the next request's budget check sees."""
        try:
            caller = await self.caller(request)
            agent_id = await self.agent_of(request, caller)
        except Refused as refused:
            return refusal(refused.status, refused.message)
        # This replica counted the request that just ended already; its record may still be on its way into
        # the store, which matters when the kept figures are old and read again: wait for it (briefly).
        await self.drained(timeout=1.0)
        try:
            standing = await self.budgets.standing(caller.person, agent_id, datetime.now(timezone.utc))
        except Exception as error:
            log.warning("Could not read the month of %s: %s", caller.person, error)
            return refusal(503, "The model gateway could not read this month's spend from the store just now.")
        return web.json_response(standing.public().model_dump(mode="json"), headers={"Cache-Control": "no-store"})

    async def metrics_page(self, request: web.Request) -> web.Response:
        """Prometheus's scrape: for a token with JupyterHub's read:metrics scope (admins', a monitoring
        service's), as JupyterHub's own /hub/metrics; a user server's gateway token does not carry it."""
        try:
            caller = await self.directory.caller(token_of(request.headers))
        except TokenRefused as error:
            return web.json_response({"message": str(error)}, status=401)
        except HubUnavailable as error:
            return web.json_response({"message": f"The hub could not check the token: {error}"}, status=503)
        if not caller.may_read_metrics:
            return web.json_response({"message": "The gateway's metrics need a token with JupyterHub's "
                                                 "read:metrics scope (an admin's, or a monitoring service's)."},
                                     status=403)
        return web.Response(body=generate_latest(self.metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "upstream": self.upstream.label})

    async def not_found(self, request: web.Request) -> web.Response:
        return refusal(404, f"The model gateway has no {request.method} {request.path}: it serves Anthropic's "
                            "/v1/messages and /v1/messages/count_tokens, and GET /v1/oma/spend.")
