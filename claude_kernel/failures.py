"""Why a turn failed, in words that tell the person what to do next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CREDENTIALS_REJECTED = (401, 403)


@dataclass
class TurnError(Exception):
    """A failed turn: ``kind`` is the error name shown in the cell."""

    kind: str
    message: str

    def __str__(self) -> str:
        return self.message


def api_error(status: int | None) -> TurnError:
    if status in CREDENTIALS_REJECTED:
        return TurnError(
            "CredentialsRejected",
            f"The model API rejected the credentials (HTTP {status}). Check ANTHROPIC_API_KEY "
            "(or your Vertex AI settings) in the notebook server's environment, then restart the kernel.",
        )
    if status == 429:
        return TurnError("RateLimited", "The model API is rate limiting these credentials (HTTP 429). "
                                        "Wait a minute, then run the cell again.")
    if status == 529:
        return TurnError("Overloaded", "The model API is overloaded right now (HTTP 529). "
                                       "Run the cell again in a little while.")
    shown = f" (HTTP {status})" if status else ""
    return TurnError("ModelUnavailable", f"The model API could not answer{shown}. Run the cell again in a little while.")


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


def retry_status(data: dict[str, Any]) -> str:
    status = data.get("error_status")
    delay = (data.get("retry_delay_ms") or 0) / 1000
    return (f"The model API answered HTTP {status or '?'}; retrying in {delay:.1f} s "
            f"(attempt {data.get('attempt', '?')})…")


def result_error(result: Any, settings: Any) -> TurnError | None:
    """The error a finished turn ended with, if any (limits reached, API gave up)."""
    if not result.is_error:
        return None
    if result.subtype == "error_max_turns":
        limit = getattr(settings, "max_turns", None)
        return TurnError("TurnLimitReached", f"The agent reached its limit of {limit or result.num_turns} turns "
                                             "(max turns, set on the agents dashboard). Run another cell to let it continue.")
    if result.subtype == "error_max_budget_usd":
        budget = getattr(settings, "max_budget_usd", None)
        shown = f"${budget:.2f} " if budget else ""
        return TurnError("BudgetReached", f"The agent reached its budget of {shown}(set on the agents dashboard). "
                                          "Raise the budget in the agent's settings to go on.")
    if result.api_error_status:
        return api_error(result.api_error_status)
    detail = "; ".join(result.errors or []) or result.result or result.subtype
    return TurnError("TurnFailed", f"Claude could not finish this turn: {detail}")
