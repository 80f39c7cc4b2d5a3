"""What an agent (and a session report) sent to the REST API may hold, checked without any I/O.

The agents API turns a request body into store fields here: every field is
checked for its JSON type and its limits, and a bad one raises
``AgentFieldError`` naming the field, with a message a person can act on.
The folder name (slug) of an agent is derived from its name here too, since
the user server makes ``~/agents/<slug>/`` and a kernelspec ``claude-<slug>``
from it.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from typing import Any, Iterable

from claude_kernel.agent import PERMISSION_MODES

from ..store.rules import agent_name_key
from .text_fields import FieldInvalid, check_text

DEFAULT_MODELS = ("claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5")
STATUSES = ("draft", "active", "paused")
SESSION_STATUSES = ("active", "inactive", "closed")

NAME_MAX = 80
DESCRIPTION_MAX = 500
INSTRUCTIONS_MAX = 20_000
TOOLS_MAX = 100
TOOL_MAX = 200
MAX_TURNS = (1, 500)
MAX_BUDGET_USD = 1000
SLUG_MAX = 40
NOTEBOOK_MAX = 1024
SESSION_COUNT_MAX = 10**15
SESSION_COST_MAX = 10**6

# The editable fields, in the order they are checked (the first bad one is reported),
# with the value a missing one gets on create and on a full replace (PUT).
DEFAULTS: dict[str, Any] = {
    "name": None,  # required
    "description": "",
    "instructions": "",
    "model": None,  # Claude Code's default model
    "permission_mode": "default",
    "allowed_tools": [],
    "disallowed_tools": [],
    "max_turns": None,
    "max_budget_usd": None,
    "status": "draft",
}
# In the agent JSON, but the service's or the store's to set.
READ_ONLY = frozenset({"id", "owner", "slug", "created_at", "updated_at", "usage"})

SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")

# One error for every field check, agents' and the beta's alike.
AgentFieldError = FieldInvalid


def models_setting(value: str | None) -> tuple[str, ...]:
    """The models people may pick, from ``OMA_MODELS`` (comma-separated); unset or blank: the defaults."""
    models = tuple(dict.fromkeys(m.strip() for m in (value or "").split(",") if m.strip()))
    return models or DEFAULT_MODELS


# -- agents --------------------------------------------------------------------------
def agent_input(data: Any, models: Iterable[str], *, partial: bool, version_allowed: bool = True) -> tuple[dict[str, Any], int | None]:
    """The store fields a request body asks for, and the version it expects (``version``, if any).

    ``partial`` (PATCH): only the fields given. Otherwise (POST, PUT): every
    editable field, missing optional ones at their defaults, ``name`` required.
    """
    if not isinstance(data, dict):
        raise AgentFieldError("", "The request body must be a JSON object of agent fields.")
    for key in data:
        if key == "version" and version_allowed:
            continue
        if key in READ_ONLY or key == "version":
            raise AgentFieldError(key, f"'{key}' is set by the service, not by you: leave it out of the request.")
        if key not in DEFAULTS:
            raise AgentFieldError(key, f"'{key}' is not an agent field. The fields are: {', '.join(DEFAULTS)}.")
    version = check_version(data["version"]) if "version" in data else None
    models = tuple(models)
    fields: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        if key in data:
            fields[key] = _CHECKS[key](data[key], models)
        elif key == "name" and not partial:
            raise AgentFieldError("name", "'name' is required: give the agent a name of 1 to 80 characters.")
        elif not partial:
            fields[key] = list(default) if isinstance(default, list) else default
    return fields, version


def check_name(value: Any, _models: tuple[str, ...] = ()) -> str:
    return check_text("name", value, NAME_MAX, one_line=True,
                      required=f"'name' is empty: give the agent a name of 1 to {NAME_MAX} characters.")


def _text(field: str, limit: int, strip: bool):
    def check(value: Any, _models: tuple[str, ...] = ()) -> str:
        return check_text(field, value, limit, one_line=False, strip=strip)

    return check


def check_model(value: Any, models: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in models:
        raise AgentFieldError("model", f"'model' must be one of {', '.join(models)}, or null for Claude Code's default.")
    return value


def _choice(field: str, choices: tuple[str, ...]):
    def check(value: Any, _models: tuple[str, ...] = ()) -> str:
        if not isinstance(value, str) or value not in choices:
            raise AgentFieldError(field, f"'{field}' must be one of {', '.join(choices)}.")
        return value

    return check


def _tools(field: str):
    def check(value: Any, _models: tuple[str, ...] = ()) -> list[str]:
        if not isinstance(value, list):
            raise AgentFieldError(field, f"'{field}' must be a list of tool names, such as [\"Read\", \"Bash(ls:*)\"].")
        if len(value) > TOOLS_MAX:
            raise AgentFieldError(field, f"'{field}' has {len(value)} entries: at most {TOOLS_MAX} are allowed.")
        tools = []
        for position, tool in enumerate(value, 1):
            if not isinstance(tool, str) or not tool.strip():
                raise AgentFieldError(field, f"'{field}' entry {position} must be a tool name (non-empty text).")
            if len(tool.strip()) > TOOL_MAX:
                raise AgentFieldError(field, f"'{field}' entry {position} is longer than {TOOL_MAX} characters.")
            tools.append(check_text(field, tool, TOOL_MAX, one_line=True))
        return tools

    return check


def check_max_turns(value: Any, _models: tuple[str, ...] = ()) -> int | None:
    low, high = MAX_TURNS
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise AgentFieldError("max_turns", f"'max_turns' must be a whole number from {low} to {high}, or null for no limit.")
    return value


def check_max_budget_usd(value: Any, _models: tuple[str, ...] = ()) -> float | None:
    if value is None:
        return None
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or not 0 < value <= MAX_BUDGET_USD):
        raise AgentFieldError("max_budget_usd",
                              f"'max_budget_usd' must be an amount in US dollars above 0 and at most {MAX_BUDGET_USD}, "
                              "or null for no limit.")
    return float(value)


_CHECKS = {
    "name": check_name,
    "description": _text("description", DESCRIPTION_MAX, strip=True),
    "instructions": _text("instructions", INSTRUCTIONS_MAX, strip=False),
    "model": check_model,
    "permission_mode": _choice("permission_mode", PERMISSION_MODES),
    "allowed_tools": _tools("allowed_tools"),
    "disallowed_tools": _tools("disallowed_tools"),
    "max_turns": check_max_turns,
    "max_budget_usd": check_max_budget_usd,
    "status": _choice("status", STATUSES),
}


def check_version(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AgentFieldError("version", "'version' must be the agent's version number (a whole number from 1).")
    return value


def if_match_version(header: str | None) -> int | None:
    """The version an ``If-Match`` header expects: ``"3"``, ``W/"3"`` or ``3``; absent or ``*``: none."""
    if header is None or header.strip() in ("", "*"):
        return None
    tag = header.strip()
    tag = tag[2:] if tag.startswith("W/") else tag
    tag = tag.strip('"')
    if not tag.isdigit() or int(tag) < 1:
        raise AgentFieldError("version", "The If-Match header must hold the agent's version, as its ETag gives it (\"3\").")
    return int(tag)


def expected_version(in_body: int | None, in_header: int | None) -> int | None:
    if in_body is not None and in_header is not None and in_body != in_header:
        raise AgentFieldError("version", f"The body says version {in_body} but If-Match says {in_header}: send one.")
    return in_body if in_body is not None else in_header


def name_taken(name: str, other_names: Iterable[str]) -> bool:
    """Names clash as the store compares them: ignoring case and surrounding spaces."""
    key = agent_name_key(name)
    return any(agent_name_key(other) == key for other in other_names)


# -- folder names --------------------------------------------------------------------
def derive_slug(name: str) -> str:
    """A folder-safe name: ascii lowercase letters, digits and hyphens, at most 40 characters.

    Accents are dropped ("Café" -> "cafe"). A name without ascii letters (Korean,
    say) gets ``agent-`` and six hex digits of its hash, the same for the same name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")
    slug = slug[:SLUG_MAX].rstrip("-")
    if not re.search(r"[a-z]", slug):
        return "agent-" + hashlib.sha256(agent_name_key(name).encode()).hexdigest()[:6]
    return slug


def unique_slug(base: str, taken: Iterable[str]) -> str:
    """``base``, or ``base-2``, ``base-3`` ... (shortened to fit 40 characters), whichever is free."""
    taken = set(taken)
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        number += 1


# -- sessions ------------------------------------------------------------------------
SESSION_FIELDS = ("session_id", "agent_id", "notebook", "turns", "input_tokens", "output_tokens", "cost_usd", "status")


def session_report(data: Any) -> dict[str, Any]:
    """The fields of a kernel's session report; counts and cost are the session's totals so far."""
    if not isinstance(data, dict):
        raise AgentFieldError("", "The request body must be a JSON object describing the session.")
    for key in data:
        if key not in SESSION_FIELDS:
            raise AgentFieldError(key, f"'{key}' is not a session field. The fields are: {', '.join(SESSION_FIELDS)}.")
    report: dict[str, Any] = {}
    for key in ("session_id", "agent_id"):
        value = data.get(key)
        if not isinstance(value, str) or not SESSION_ID.fullmatch(value):
            raise AgentFieldError(key, f"'{key}' is required: an id of letters, digits, '.', ':', '-' or '_' (at most 200).")
        report[key] = value
    report["notebook"] = check_text("notebook", data.get("notebook", ""), NOTEBOOK_MAX, one_line=True, strip=False)
    for key in ("turns", "input_tokens", "output_tokens"):
        value = data.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SESSION_COUNT_MAX:
            raise AgentFieldError(key, f"'{key}' must be a whole number from 0: the session's total so far.")
        report[key] = value
    cost = data.get("cost_usd", 0)
    if (isinstance(cost, bool) or not isinstance(cost, (int, float)) or not math.isfinite(cost)
            or not 0 <= cost <= SESSION_COST_MAX):
        raise AgentFieldError("cost_usd", "'cost_usd' must be an amount in US dollars from 0: the session's total so far.")
    report["cost_usd"] = float(cost)
    status = data.get("status", "active")
    if status not in SESSION_STATUSES:
        raise AgentFieldError("status", f"'status' must be one of {', '.join(SESSION_STATUSES)}.")
    report["status"] = status
    return report
