"""The agents dashboard as a page: the person's agents as cards, and the agent form.

The cards are rendered here, on the server, so every figure reads as it does in
a notebook (money through ``oma_contract.money``, the same formatter as the
cell footer and ``%session``). The form is one, moved by the page's script into
the card being edited (or under the page's heading for a new agent); it sends
JSON to ``api/agents`` and, once saved, reloads the page with ``?saved=<id>``,
so the confirmation is said by the card that was saved.

The templates are built from macros (templates/dashboard_macros.html): a card's
figure is one ``stat()`` line in ``agent_card``, a form field one ``field()``
line in ``agent_form``, and a field marked ``data-field`` is read and filled by
the script without further code.
"""

from __future__ import annotations

from typing import Any, Mapping

import jinja2

from oma_contract import AGENT_LIMITS, AgentStatus, PermissionMode
from oma_contract.money import format_usd
from oma_contract.permission_choices import CAPABILITIES, NEW_AGENT, choices_of, table

from .dashboard_text import dashboard_text

# What the form offers as status: a draft behaves as an active agent does everywhere (it has a
# kernel, takes turns and is in the launcher), so the form shows it as "ready" and saves it so.
FORM_STATUSES = (AgentStatus.ACTIVE, AgentStatus.PAUSED)


def form_status(status: str) -> str:
    return AgentStatus.PAUSED.value if status == AgentStatus.PAUSED else AgentStatus.ACTIVE.value


def agent_for_form(agent: Mapping[str, Any]) -> dict[str, Any]:
    """An agent as the API returns it, with what the form shows of it: the answers in words,
    the rules left for "Advanced", and the status among the form's."""
    choices = choices_of(agent.get("allowed_tools") or [], agent.get("disallowed_tools") or [])
    return {**agent, "status": form_status(agent.get("status", "")),
            "choices": {key: str(answer) for key, answer in choices.answers.items()},
            "other_allowed": choices.other_allowed, "other_disallowed": choices.other_disallowed}


def new_agent() -> dict[str, Any]:
    """What the form holds for a new agent."""
    return {"name": "", "description": "", "instructions": "", "model": None, "max_turns": None,
            "max_budget_usd": None, "monthly_limit_usd": None, "permission_mode": PermissionMode.DEFAULT.value,
            "status": AgentStatus.ACTIVE.value, "choices": {k: str(v) for k, v in NEW_AGENT.items()},
            "other_allowed": [], "other_disallowed": []}


def confirmation(agents: list[Mapping[str, Any]], saved: str | None, deleted: str | None,
                 text: Mapping[str, str]) -> tuple[str | None, str]:
    """(the id of the card that says it, or None for the top of the page; what it says)."""
    agent = next((a for a in agents if a["id"] == saved), None) if saved else None
    if agent is not None:
        said = text["saved_paused"] if agent.get("status") == AgentStatus.PAUSED else text["saved_ready"]
        return agent["id"], said % {"name": agent["name"]}
    if deleted:
        return None, text["deleted"] % {"name": deleted}
    return None, ""


def render_dashboard(templates: jinja2.Environment, *, language: str, agents: list[Mapping[str, Any]] | None,
                     saved: str | None, deleted: str | None, **page: Any) -> str:
    """The page for ``agents`` (None: the service did not answer)."""
    text = dashboard_text(language)
    shown = [agent_for_form(a) for a in agents or []]
    confirmed_id, confirmed = confirmation(shown, saved, deleted, text)
    return templates.get_template("dashboard.html").render(
        lang=language, text=text, agents=shown, unavailable=agents is None, usd=format_usd,
        confirmed_id=confirmed_id, confirmed=confirmed, capabilities=CAPABILITIES, capability_table=table(),
        permission_modes=list(PermissionMode), statuses=FORM_STATUSES, limits=AGENT_LIMITS, new_agent=new_agent(),
        **page,
    )
