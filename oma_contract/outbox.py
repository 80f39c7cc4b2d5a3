"""The e-mail outbox, as admins read it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import ConfigDict

from .problems import Contract


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # given up after its attempts


class OutboxMessage(Contract):
    model_config = ConfigDict(extra="allow")

    id: str
    to: list[str]
    subject: str
    event: str
    status: MessageStatus
    attempts: int
    created_at: datetime | None = None
    sent_at: datetime | None = None
