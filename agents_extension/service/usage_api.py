"""The usage REST API: what the model cost per person and per agent, month by month, and the
monthly limits admins set (the default per person, overrides per person, the hub's).

Everything here needs admin rights except ``api/usage/me``: a person's own month (their spend
and limit, their agents' spend and limits), which their user server reads for the agents
dashboard and the cell footer. An agent's own limit is a field of the agent
(``monthly_limit_usd``, agents API), set by its owner.

Months are calendar months in UTC, written YYYY-MM; without ``?month=`` it is this month.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from tornado import web

from oma_contract import FieldInvalid
from oma_contract.usage import LimitChange, check_month, check_person, month_of

from .handlers import APIHandler, FieldError


def this_month() -> str:
    return month_of(datetime.now(timezone.utc))


class UsageAPIHandler(APIHandler):
    def month(self) -> str:
        """The ``month`` query argument, or this month when it is absent or empty."""
        value = self.get_query_argument("month", "") or this_month()
        try:
            return check_month(value)
        except FieldInvalid as err:
            raise FieldError(err.field, str(err)) from None

    def send_model(self, value: Any) -> None:
        if isinstance(value, list):
            self.send([item.model_dump(mode="json") for item in value])
        else:
            self.send(value.model_dump(mode="json"))

    def limit_in_body(self) -> float | None:
        try:
            return LimitChange.check(self.body()).monthly_limit_usd
        except FieldInvalid as err:
            raise FieldError(err.field, str(err)) from None


class UsageReportAPI(UsageAPIHandler):
    async def get(self) -> None:
        self.require_admin()
        self.send_model(await self.store.month_report(self.month()))


class UsagePeopleAPI(UsageAPIHandler):
    async def get(self) -> None:
        self.require_admin()
        self.send_model(await self.store.usage_by_person(self.month()))


class UsageAgentsAPI(UsageAPIHandler):
    async def get(self) -> None:
        self.require_admin()
        self.send_model(await self.store.usage_by_agent(self.month()))


class UsageMonthsAPI(UsageAPIHandler):
    async def get(self) -> None:
        self.require_admin()
        self.send(await self.store.usage_months())


class MyUsageAPI(UsageAPIHandler):
    async def get(self) -> None:
        self.send_model(await self.store.my_spend(self.email, self.month()))


class LimitsAPI(UsageAPIHandler):
    async def get(self) -> None:
        self.require_admin()
        self.send_model(await self.store.budget_limits())


class HubWideLimitAPI(UsageAPIHandler):
    """PUT api/usage/limits/default and api/usage/limits/hub."""

    async def put(self, which: str) -> None:
        self.require_admin()
        limit = self.limit_in_body()
        if which == "default":
            await self.store.set_default_person_limit(limit)
        else:
            await self.store.set_hub_limit(limit)
        self.send_model(await self.store.budget_limits())


class PersonLimitAPI(UsageAPIHandler):
    """PUT (set) and DELETE (back to the default) of one person's override."""

    def person(self, in_path: str) -> str:
        try:
            return check_person(in_path, "email")  # tornado has percent-decoded it
        except FieldInvalid as err:
            raise FieldError(err.field, str(err)) from None

    async def put(self, email: str) -> None:
        self.require_admin()
        person = self.person(email)
        limit = self.limit_in_body()
        await self.store.set_person_limit(person, limit)
        self.send_model(await self.store.budget_limits())

    async def delete(self, email: str) -> None:
        self.require_admin()
        await self.store.clear_person_limit(self.person(email))
        self.send_model(await self.store.budget_limits())


ROUTES: list[tuple[str, type[web.RequestHandler]]] = [
    (r"api/usage", UsageReportAPI),
    (r"api/usage/people", UsagePeopleAPI),
    (r"api/usage/agents", UsageAgentsAPI),
    (r"api/usage/months", UsageMonthsAPI),
    (r"api/usage/me", MyUsageAPI),
    (r"api/usage/limits", LimitsAPI),
    (r"api/usage/limits/(default|hub)", HubWideLimitAPI),
    (r"api/usage/limits/people/([^/]+)", PersonLimitAPI),
]
