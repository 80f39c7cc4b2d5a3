"""The agents dashboard's words, in Korean or English by the person's switch or the browser's language.

The language is the platform's one rule (``oma_contract.languages``: the person's
``oma_lang`` switch, else Accept-Language by its weights); the words from a gettext
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

from tornado.web import RequestHandler

from oma_contract.catalogs import Catalogs
from oma_contract.languages import page_language

CATALOGS = Catalogs("oma-dashboard", Path(__file__).with_name("locale"))
DEFAULT_LANGUAGE = "en"  # the message ids themselves: English has no catalog


def N_(message: str) -> str:
    """Marks a text for the catalog (Babel extracts N_ calls); it is translated when a page is shown."""
    return message


# Keyed for the page, whose script shows some of them too (field errors, the delete question).
# "%(name)s" and the like are filled in where the text is shown.
TEXT = {
    "title": N_("My agents"),
    "intro": N_("An agent is Claude with instructions of your own and a folder of its own. Every notebook you open "
                "with it is a conversation with it."),
    "new": N_("New agent"),
    "empty": N_("No agents yet. Create one: give it a name and tell it what to do."),
    "form_new": N_("New agent"),
    "form_edit": N_("Edit %(name)s"),
    "name": N_("Name"),
    "description": N_("Description (what it is for, shown on its card)"),
    "instructions": N_("Instructions (what the agent should always do)"),
    "model": N_("Model"),
    "default_model": N_("Claude Code's default"),
    # What the agent may do without asking (oma_contract.permission_choices).
    "may": N_("What may the agent do without asking?"),
    "may_help": N_("When it has to ask, the question appears in the notebook cell and you answer it there. "
                   "A notebook run that nobody watches refuses whatever would need asking."),
    "cap_read": N_("Read files in its folder"),
    "cap_change": N_("Change and create files in its folder"),
    "cap_run": N_("Run commands"),
    "cap_run_help": N_("Commands that only look (such as listing files) run without asking."),
    "cap_search": N_("Search the web"),
    "cap_fetch": N_("Fetch web pages"),
    "answer_allow": N_("Without asking"),
    "answer_ask": N_("Ask me first"),
    "answer_never": N_("Never"),
    "permission_mode": N_("Anything else it wants to do"),
    "mode_default": N_("Ask me first"),
    "mode_acceptEdits": N_("Ask me first, but change files without asking"),
    "mode_plan": N_("Only plan: look around and propose, change nothing"),
    "mode_dontAsk": N_("Refuse it without asking"),
    "mode_auto": N_("Let Claude Code judge what is safe to do without asking"),
    "mode_bypassPermissions": N_("Do everything without asking (risky: nothing is checked)"),
    "advanced": N_("Advanced: Claude Code's permission rules"),
    "advanced_help": N_("Rules in Claude Code's syntax that the choices above do not cover, one per line, "
                        "for example Bash(git status:*) or mcp__notes__search."),
    "allowed_tools": N_("Also allowed without asking"),
    "disallowed_tools": N_("Also never allowed"),
    "limits": N_("Limits per notebook cell"),
    "max_turns": N_("Most model turns per cell (empty: no limit)"),
    "max_budget_usd": N_("Most a cell may spend, in US dollars (empty: no limit)"),
    "status": N_("Status"),
    "active": N_("Ready"),
    "paused": N_("Paused"),
    "draft": N_("Ready"),  # a draft behaves as an active agent does: the form offers only these two
    "status_active_help": N_("Ready: it is in JupyterLab's launcher and answers in its notebooks."),
    "status_paused_help": N_("Paused: its notebooks refuse new questions until you make it ready again. "
                             "Nothing is deleted."),
    "save": N_("Save"),
    "cancel": N_("Cancel"),
    "edit": N_("Edit"),
    "delete": N_("Delete"),
    "confirm_delete": N_("Delete %(name)s? Its folder moves to agents/.trash, nothing is lost."),
    "open": N_("Open a notebook with this agent"),
    "sessions": N_("sessions"),
    "turns": N_("turns"),
    "tokens": N_("tokens"),
    "cost": N_("cost"),
    "last_used": N_("last used"),
    "never": N_("never"),
    "hub": N_("Hub home"),
    "lab": N_("JupyterLab"),
    # The agent's spend this month against its own limit (usage_spend.html).
    "monthly_limit_usd": N_("Monthly limit (USD; empty: none)"),
    "spend_this_month": N_("Spent this month"),
    "spend_of_limit": N_("%(spent)s of %(limit)s"),
    "spend_no_limit": N_("%(spent)s (no monthly limit)"),
    "spend_reached": N_("Monthly limit reached: the agent's requests are refused until you raise it or the month ends."),
    "saved_ready": N_("Saved. %(name)s is ready: open a notebook with it here, or pick it in JupyterLab's launcher."),
    "saved_paused": N_("Saved. %(name)s is paused: its notebooks will not take new questions until you make it "
                       "ready again."),
    "deleted": N_("%(name)s was deleted. Its folder moved to agents/.trash: nothing in it is lost."),
    "service_down": N_("Your agents cannot be shown right now: the agents service did not answer. Reload the page "
                       "in a moment."),
    # Errors beside their field, in the person's words (the service's own message is in English).
    "error_name_empty": N_("Give the agent a name."),
    "error_name_taken": N_("You already have an agent called %(name)s. Pick another name."),
    "error_name": N_("The name must fit on one line, in at most %(limit)s characters."),
    "error_description": N_("The description may be at most %(limit)s characters."),
    "error_instructions": N_("The instructions may be at most %(limit)s characters."),
    "error_model": N_("Pick one of the models offered."),
    "error_permission_mode": N_("Pick one of the choices offered."),
    "error_status": N_("Pick one of the statuses offered."),
    "error_allowed_tools": N_("Each rule must be one line of at most %(limit)s characters, and at most %(count)s rules."),
    "error_disallowed_tools": N_("Each rule must be one line of at most %(limit)s characters, and at most %(count)s rules."),
    "error_max_turns": N_("Give a whole number from %(low)s to %(high)s, or leave it empty for no limit."),
    "error_max_budget_usd": N_("Give an amount above 0 and at most %(limit)s, or leave it empty for no limit."),
    "error_changed": N_("This agent was changed somewhere else since you opened it. Reload the page to see the "
                        "latest, then make your change again."),
    "error_monthly_limit_usd": N_("Give an amount from 0 to %(limit)s US dollars, or leave it empty for no monthly limit."),
    "error_other": N_("It could not be saved: %(reason)s"),
    "runs": N_("Runs"),  # the recipe runs page (runs.py)
    "share_recipe": N_("Share as a recipe"),  # the gallery's share page (gallery.py)
}


def request_language(handler: RequestHandler) -> str:
    """"en" or "ko": the person's switch, else the browser's first language we have, by weight; else English."""
    return page_language(handler)


@functools.cache
def dashboard_text(language: str) -> dict[str, str]:
    """Every text of the dashboard in ``language`` (English for any language without a catalog)."""
    texts = CATALOGS.translations(language)
    return {key: texts.gettext(message) for key, message in TEXT.items()}
