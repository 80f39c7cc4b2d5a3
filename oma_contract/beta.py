"""Beta access: a person's application, an admin's decision, and where a person stands."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field

from .problems import Contract
from .text import Text

BETA_LIMITS = {"name": 120, "purpose": 2000, "organisation": 200, "note": 2000, "email": 254}


class BetaStatus(StrEnum):
    NONE = "none"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Verdict(StrEnum):
    """What an admin decides; ``status`` is what the person then has."""

    APPROVE = "approve"
    REJECT = "reject"

    @property
    def status(self) -> BetaStatus:
        return BetaStatus.APPROVED if self is Verdict.APPROVE else BetaStatus.REJECTED


class Language(StrEnum):
    """The languages pages and e-mails are written in."""

    EN = "en"
    KO = "ko"


Email = Text(BETA_LIMITS["email"], one_line=True, required=True, name=True)


class BetaApplicationForm(Contract):
    """What a person sends to apply (by the page's form or the API)."""

    noun: ClassVar[str] = "beta application"
    rules: ClassVar[dict[str, str]] = {
        "name": f"your name (text, 1 to {BETA_LIMITS['name']} characters)",
        "purpose": f"what you want to use agents for (1 to {BETA_LIMITS['purpose']:,} characters)",
        "organisation": "text", "language": "one of " + ", ".join(Language),
    }

    name: Text(BETA_LIMITS["name"], one_line=True, required=True, name=True)
    purpose: Text(BETA_LIMITS["purpose"], one_line=False, required=True)
    organisation: Text(BETA_LIMITS["organisation"], one_line=True, name=True) = ""
    language: Language | None = Field(None, description="For e-mails to you; default: your browser's language")


class BetaDecisionForm(Contract):
    """What an admin sends to decide on one or many people."""

    noun: ClassVar[str] = "decision"
    rules: ClassVar[dict[str, str]] = {
        "emails": "a non-empty list of e-mail addresses: select at least one person",
        "emails.entry": "an e-mail address",
        "decision": "one of " + ", ".join(Verdict), "note": "text",
    }

    emails: Annotated[list[Email], Field(min_length=1, max_length=1000)]
    decision: Verdict
    note: Text(BETA_LIMITS["note"], one_line=False) = ""


class BetaApplication(Contract):
    name: str
    purpose: str
    organisation: str = ""
    language: Language = Language.EN
    applied_at: datetime | None = None


class BetaDecision(Contract):
    status: BetaStatus
    by: str = Field(description="The admin's e-mail, or jupyterhub-group when made in JupyterHub's admin panel")
    note: str = ""
    at: datetime | None = None


class Person(Contract):
    """Who a person is to the beta, as the service returns it."""

    email: str
    beta_status: BetaStatus
    application: BetaApplication | None = None
    decision: BetaDecision | None = None
    admin: bool | None = Field(None, description="In /api/me: whether your credential has admin rights here")
