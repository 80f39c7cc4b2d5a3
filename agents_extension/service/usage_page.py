"""The admins' Usage page: what the model cost this month and earlier, by person and by agent,
with the monthly limits editable in place (the default per person, each person's override,
the hub's). The same figures are in the REST API (usage_api).

The forms post to the page itself; every change is checked by the contract (LimitChange,
check_person) and a refused one is shown beside the form with a 400, changing nothing.
"""

from __future__ import annotations

from oma_contract import FieldInvalid
from oma_contract.usage import LimitChange, check_month, check_person
from tornado import web

from .handlers import PageHandler
from .i18n import translations
from .usage_api import this_month

ACTIONS = ("default", "hub", "person", "clear")


def money(amount: float | None) -> str:
    """Dollars as people read them: cents, or four places for amounts below a cent."""
    if amount is None:
        return ""
    if 0 < amount < 0.01:
        return f"${amount:,.4f}"
    return f"${amount:,.2f}"


def amount_field(text: str) -> float | str | None:
    """What was typed in an amount field: empty is no limit; a number is dollars; anything else is
    passed on as typed, for the contract to refuse in words."""
    text = text.strip().lstrip("$").replace(",", "")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


class UsagePage(PageHandler):
    @web.authenticated
    async def get(self) -> None:
        self.require_admin()
        month = self.get_query_argument("month", "") or this_month()
        try:
            check_month(month)
        except FieldInvalid as err:
            self.set_status(400)
            return await self._show(this_month(), error=str(err))
        await self._show(month)

    @web.authenticated
    async def post(self) -> None:
        self.require_admin()
        _ = translations(self.language).gettext
        month = self.form_value("month") or this_month()
        try:
            month = check_month(month)
            message = await self._change(self.form_value("action"), _)
        except FieldInvalid as err:
            self.set_status(400)
            return await self._show(month if _valid_month(month) else this_month(), error=str(err),
                                    error_field=err.field)
        await self._show(month, message=message)

    async def _change(self, action: str, _) -> str:
        if action not in ACTIONS:
            raise FieldInvalid("action", "Use one of the page's buttons to change a limit.")
        if action == "clear":
            person = check_person(self.form_value("person"))
            await self.store.clear_person_limit(person)
            return _("%(person)s follows the default limit again.") % {"person": person}
        limit = LimitChange.check({"monthly_limit_usd": amount_field(self.form_value("monthly_limit_usd"))}
                                  ).monthly_limit_usd
        shown = money(limit) if limit is not None else _("no limit")
        if action == "default":
            await self.store.set_default_person_limit(limit)
            return _("The default monthly limit per person is now %(limit)s.") % {"limit": shown}
        if action == "hub":
            await self.store.set_hub_limit(limit)
            return _("The hub's monthly limit is now %(limit)s.") % {"limit": shown}
        person = check_person(self.form_value("person"))
        await self.store.set_person_limit(person, limit)
        return _("The monthly limit of %(person)s is now %(limit)s.") % {"person": person, "limit": shown}

    async def _show(self, month: str, message: str = "", error: str = "", error_field: str = "") -> None:
        report = await self.store.month_report(month)
        months = sorted(set(report.months) | {this_month(), month}, reverse=True)
        self.render_page("usage.html", report=report, month=month, months=months, this_month=this_month(),
                         money=money, message=message, error=error, error_field=error_field,
                         person_in_form=self.form_value("person") if error else "")


def _valid_month(month: str) -> bool:
    try:
        check_month(month)
    except FieldInvalid:
        return False
    return True
