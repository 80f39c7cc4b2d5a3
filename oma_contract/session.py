"""A Claude session of an agent, as its kernel reports it: created or updated by
``session_id``, with the session's totals so far (not deltas)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, Strict, StrictInt

from .problems import Contract
from .text import Text

NOTEBOOK_MAX = 1024
COUNT_MAX = 10**15
COST_MAX = 10**6


class SessionStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"  # the kernel is gone
    CLOSED = "closed"  # ended with %new


RecordId = Annotated[str, Strict(), Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")]
Count = Annotated[StrictInt, Field(ge=0, le=COUNT_MAX, description="The session's total so far (not a delta)")]
Cost = Annotated[float, Strict(), Field(ge=0, le=COST_MAX, allow_inf_nan=False)]


class SessionReport(Contract):
    noun: ClassVar[str] = "session"
    rules: ClassVar[dict[str, str]] = {
        "session_id": "an id of letters, digits, '.', ':', '-' or '_' (at most 200)",
        "agent_id": "an id of letters, digits, '.', ':', '-' or '_' (at most 200)",
        "notebook": "the notebook's path (text)",
        "turns": "a whole number from 0: the session's total so far",
        "input_tokens": "a whole number from 0: the session's total so far",
        "output_tokens": "a whole number from 0: the session's total so far",
        "cost_usd": "an amount in US dollars from 0: the session's total so far",
        "status": "one of " + ", ".join(SessionStatus),
    }

    session_id: RecordId
    agent_id: RecordId = Field(description="One of your agents")
    notebook: Text(NOTEBOOK_MAX, one_line=True, strip=False) = ""
    turns: Count = 0
    input_tokens: Count = 0
    output_tokens: Count = 0
    cost_usd: Cost = 0.0
    status: SessionStatus = SessionStatus.ACTIVE


class Session(SessionReport):
    """A session as the service stores and returns it."""

    owner: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
