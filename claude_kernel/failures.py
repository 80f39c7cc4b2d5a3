"""Why a turn failed, in words that tell the person what to do next."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from .agent import AgentConfigError
from .sandbox import SandboxUnavailable
from .words import ENGLISH, N_, Words

CREDENTIALS_REJECTED = (401, 403)


class NoCredentials(RuntimeError):
    """No model credentials in the environment."""


class AgentPaused(RuntimeError):
    """The agent (named) is paused on the dashboard and takes no new turns."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class CLIStopped(RuntimeError):
    """The Claude Code process ended in the middle of a turn."""


@dataclass(frozen=True)
class TurnError:
    """A failed turn: ``kind`` is the error name shown in the cell, ``message`` what to do, in English: a text
    of the catalog (marked N_) that ``values`` fill in, or words to show as they are (another's message)."""

    kind: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)

    def worded(self, say: Words = ENGLISH) -> str:
        """The message in the person's language (``say``, see words.py)."""
        return say(self.message, **self.values)

    def __str__(self) -> str:
        return self.worded()


def _said(status: int, detail: str) -> str:
    """What the API (or the model gateway) said with its error, from Claude Code's "API Error: 403 ...", or ""."""
    text = (detail or "").strip()
    prefix = f"API Error: {status}"  # after "Failed to authenticate. " for a 403
    if prefix not in text:
        return ""
    text = text.split(prefix, 1)[1].strip()
    try:  # some versions show the whole error body
        body = json.loads(text)
        return str(body["error"]["message"]) if isinstance(body, dict) else text
    except (ValueError, KeyError, TypeError):
        return text


def through_gateway() -> bool:
    """Whether this server reaches the model through the platform's model gateway (the hub gives its servers
    a gateway token, never a model key) rather than with a key of its own."""
    return bool(os.environ.get("ANTHROPIC_AUTH_TOKEN")) and not os.environ.get("ANTHROPIC_API_KEY")


def api_error(status: int | None, detail: str = "") -> TurnError:
    if not through_gateway():
        return _direct_api_error(status)
    said = _said(status, detail) if status else ""
    if status in (400, 403) and said:
        # The model gateway's refusals (a monthly limit, a model not allowed, someone else's agent) say
        # what to do; retrying cannot help, so Claude Code did not.
        return TurnError("ModelRequestRefused", said)
    if status == 401:
        if said:
            return TurnError("CredentialsRejected", N_(
                "The model gateway (or the model API) did not accept this server's credentials (HTTP 401). The token "
                "for the gateway is given to your server when it starts and revoked when it stops: stop and start "
                "your server from the hub's home page, then run the cell again. It said: {said}"), {"said": said})
        return TurnError("CredentialsRejected", N_(
            "The model gateway (or the model API) did not accept this server's credentials (HTTP 401). The token "
            "for the gateway is given to your server when it starts and revoked when it stops: stop and start "
            "your server from the hub's home page, then run the cell again."))
    if status == 502:
        return TurnError("ModelUnreachable", N_("The model gateway could not reach the model (HTTP 502). Run the cell "
                                                "again in a little while; if it keeps failing, tell the hub's admins."))
    return _direct_api_error(status)


def _direct_api_error(status: int | None) -> TurnError:
    if status in CREDENTIALS_REJECTED:
        return TurnError(
            "CredentialsRejected",
            N_("The model API rejected the credentials (HTTP {status}). Check ANTHROPIC_API_KEY "
               "(or your Vertex AI settings) in the notebook server's environment, then restart the kernel."),
            {"status": status},
        )
    if status == 429:
        return TurnError("RateLimited", N_("The model API is rate limiting these credentials (HTTP 429). "
                                           "Wait a minute, then run the cell again."))
    if status == 529:
        return TurnError("Overloaded", N_("The model API is overloaded right now (HTTP 529). "
                                          "Run the cell again in a little while."))
    if status:
        return TurnError("ModelUnavailable", N_("The model API could not answer (HTTP {status}). Run the cell again "
                                                "in a little while."), {"status": status})
    return TurnError("ModelUnavailable", N_("The model API could not answer. Run the cell again in a little while."))


def retry_verdict(data: dict[str, Any], retry_limit: int) -> TurnError | None:
    """Given the CLI's ``api_retry`` notice, the error to stop with, or None to let it retry.

    Rejected credentials never get better by waiting; other failures are
    retried by the CLI until ``retry_limit`` attempts have failed.
    """
    status = data.get("error_status")
    if status in CREDENTIALS_REJECTED:
        return api_error(status)
    if int(data.get("attempt") or 0) > retry_limit:
        return api_error(status)
    return None


def result_error(subtype: str, *, api_status: int | None, detail: str, turns: int,
                 max_turns: int | None, max_budget_usd: float | None) -> TurnError:
    """The error of a turn the CLI ended with an error result (limits reached, API gave up)."""
    if subtype == "error_max_turns":
        return TurnError("TurnLimitReached", N_("The agent reached its limit of {turns} turns (max turns, set on the "
                                                "agents dashboard). Run another cell to let it continue."),
                         {"turns": max_turns or turns})
    if subtype == "error_max_budget_usd":
        return TurnError("BudgetReached", N_("The agent reached its budget of {budget} (set on the agents dashboard). "
                                             "Raise the budget in the agent's settings to go on."),
                         {"budget": f"${max_budget_usd:.2f}" if max_budget_usd else "?"})
    if api_status:
        return api_error(api_status, detail)
    return TurnError("TurnFailed", N_("Claude could not finish this turn: {detail}"), {"detail": detail})


def failure(error: BaseException) -> TurnError:
    """What to tell the person when a turn could not run or the CLI gave out under it."""
    if isinstance(error, NoCredentials):
        return TurnError("NoCredentials", str(error))
    if isinstance(error, AgentPaused):
        # "Ready" is what the dashboard's agent form calls an agent that is not paused.
        return TurnError("AgentPaused", N_("The agent \u201c{name}\u201d is paused, so it takes no new turns. Set it "
                                           "to Ready on the agents dashboard, then run the cell again."),
                         {"name": error.name})
    if isinstance(error, AgentConfigError):
        return TurnError("AgentSettingsInvalid", str(error))
    if isinstance(error, SandboxUnavailable):
        return TurnError("SandboxUnavailable", str(error))
    if isinstance(error, CLIStopped):
        return TurnError(
            "ClaudeCodeStopped",
            N_("Claude Code stopped unexpectedly ({why}). Run the cell again: it restarts and "
               "continues this conversation."),
            {"why": str(error)},
        )
    return TurnError(type(error).__name__, str(error))
