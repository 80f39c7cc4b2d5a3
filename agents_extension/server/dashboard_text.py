"""The agents dashboard's words, in Korean or English by the browser's language.

The language comes from tornado's locale support (``RequestHandler.locale``,
which reads Accept-Language with its weights); the words from a gettext
catalog whose message ids are the English texts below. The Korean catalog is
``locale/ko/LC_MESSAGES/oma-dashboard.po`` beside this module; Babel compiles
it when the server first needs it, so no compiled file is kept in the
repository. To gather new texts into it (the mapping is the project's
``babel.cfg``)::

    pybabel extract -F babel.cfg -o /tmp/oma-dashboard.pot agents_extension/server
    pybabel update -D oma-dashboard -i /tmp/oma-dashboard.pot -d agents_extension/server/locale

The agents service has a catalog of its own (a user server imports nothing of
the service); both load them with ``oma_contract.catalogs``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import tornado.locale
from tornado.web import RequestHandler

from oma_contract.catalogs import Catalogs

CATALOGS = Catalogs("oma-dashboard", Path(__file__).with_name("locale"))
DEFAULT_LANGUAGE = "en"  # the message ids themselves: English has no catalog


def N_(message: str) -> str:
    """Marks a text for the catalog (Babel extracts N_ calls); it is translated when a page is shown."""
    return message


# Keyed for the page, whose script shows some of them too (statuses, statistics, "Saved.").
TEXT = {
    "title": N_("My agents"),
    "new": N_("New agent"),
    "empty": N_("No agents yet. Create one: give it a name and tell it what to do."),
    "name": N_("Name"),
    "description": N_("Description"),
    "instructions": N_("Instructions (what the agent should always do)"),
    "model": N_("Model"),
    "default_model": N_("Claude Code's default"),
    "permission_mode": N_("Permission mode"),
    "allowed_tools": N_("Tools used without asking (comma-separated, e.g. Read, Write, Bash(ls:*))"),
    "disallowed_tools": N_("Tools never used (comma-separated)"),
    "max_turns": N_("Max turns per cell"),
    "max_budget_usd": N_("Budget per cell (USD)"),
    "status": N_("Status"),
    "draft": N_("draft"),
    "active": N_("active"),
    "paused": N_("paused"),
    "save": N_("Save"),
    "cancel": N_("Cancel"),
    "edit": N_("Edit"),
    "delete": N_("Delete"),
    "confirm_delete": N_("Delete this agent? Its folder moves to agents/.trash, nothing is lost."),
    "open": N_("Open a notebook with this agent"),
    "sessions": N_("sessions"),
    "turns": N_("turns"),
    "tokens": N_("tokens"),
    "cost": N_("cost"),
    "last_used": N_("last used"),
    "never": N_("never"),
    "hub": N_("Hub home"),
    "lab": N_("JupyterLab"),
    "saved": N_("Saved."),
    # The agent's spend this month against its own limit (usage_spend.html).
    "monthly_limit_usd": N_("Monthly limit (USD; empty: none)"),
    "spend_this_month": N_("Spent this month"),
    "spend_of_limit": N_("%(spent)s of %(limit)s"),
    "spend_no_limit": N_("%(spent)s (no monthly limit)"),
    "spend_reached": N_("Monthly limit reached: the agent's requests are refused until you raise it or the month ends."),
}


@functools.cache
def _offer_languages() -> None:
    """Tell tornado's locale which languages there are (those with a catalog, and English)."""
    # The words come from our own translations below, so another catalog domain loaded into
    # tornado in this process cannot mix in.
    tornado.locale.set_default_locale(DEFAULT_LANGUAGE)
    tornado.locale.load_gettext_translations(CATALOGS.compiled_folder(), CATALOGS.domain)


def request_language(handler: RequestHandler) -> str:
    """"en" or "ko": the browser's first language we have, by weight; English otherwise."""
    _offer_languages()
    return handler.locale.code.split("_")[0]


@functools.cache
def dashboard_text(language: str) -> dict[str, str]:
    """Every text of the dashboard in ``language`` (English for any language without a catalog)."""
    texts = CATALOGS.translations(language)
    return {key: texts.gettext(message) for key, message in TEXT.items()}
