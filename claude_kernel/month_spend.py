"""The month's spend for a cell's footer, asked of the model gateway after a turn.

Only a server that reaches the model through the platform's gateway has a month
to show (``failures.through_gateway``: the hub gave it a gateway token and no
model key); the gateway answers ``GET /v1/oma/spend`` with the same token and
agent header as a model request, from the same figures its budget check uses
(so the footer, the dashboard and a refusal agree). The question is short and
never fails a cell: an unreachable or slow gateway only leaves the month out.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from oma_contract.money import format_usd

from .conversation import AGENT_HEADER
from .failures import through_gateway
from .words import ENGLISH, N_, Words

SPEND_PATH = "/v1/oma/spend"
ASK_SECONDS = 2.0  # the footer waits at most this long for the month


async def month_standing(agent_id: str | None, timeout: float = ASK_SECONDS) -> dict[str, Any] | None:
    """The gateway's MonthStanding for this server's person (and agent), or None when there is no gateway or
    it did not answer in time."""
    base_url = os.environ.get("ANTHROPIC_BASE_URL", "").rstrip("/")
    token = os.environ.get("ANTHROPIC_AUTH_TOKEN", "")
    if not (through_gateway() and base_url and token):
        return None
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if agent_id:
        headers[AGENT_HEADER] = agent_id
    request = HTTPRequest(base_url + SPEND_PATH, headers=headers, connect_timeout=timeout, request_timeout=timeout)
    try:
        answer = await AsyncHTTPClient().fetch(request)
        standing = json.loads(answer.body)
    except (HTTPClientError, OSError, ValueError):  # includes timeouts and refusals (an older gateway: 404)
        return None
    return standing if isinstance(standing, dict) and isinstance(standing.get("spent_usd"), (int, float)) else None


def _against(spent: float, limit: Any, say: Words) -> str:
    if not isinstance(limit, (int, float)):
        return format_usd(spent)
    return say(N_("{spent} of {limit}"), spent=format_usd(spent), limit=format_usd(limit))


def month_words(standing: dict[str, Any] | None, say: Words = ENGLISH) -> str | None:
    """``this month $1.23 of $20.00`` (the person's spend and limit), with ``this agent $0.40 of $5.00`` when
    the turn was an agent's and the agent has a limit of its own; None without a standing."""
    if not standing:
        return None
    words = say(N_("this month {spent}"), spent=_against(standing["spent_usd"], standing.get("limit_usd"), say))
    agent = standing.get("agent")
    if isinstance(agent, dict) and isinstance(agent.get("limit_usd"), (int, float)):
        words += " · " + say(N_("this agent {spent}"), spent=_against(agent.get("spent_usd") or 0.0,
                                                                        agent["limit_usd"], say))
    return words
