"""The agent: what a person may set (``AgentCreate``, ``AgentReplace``, ``AgentChanges``), what
the service returns (``Agent`` with its ``Usage``), and the settings file a Claude kernel obeys
(``AgentSettingsFile``), with their enums and limits.

The settings file is kept outside every agent folder (the agent's tools can change anything
in its folder): the user server writes it from what the service returned, and the kernelspec
names it in ``CLAUDE_AGENT_SETTINGS``. Its ``instructions`` are appended to Claude Code's
system prompt (and shown to the agent, read-only, as its folder's CLAUDE.md);
``headless_permission`` decides tool requests nobody can answer (a notebook run without a
front end); ``status`` paused makes the kernel refuse new turns; ``id`` is the agent's id on
the platform, under which the kernel reports its sessions.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, Field, Strict, StrictInt, field_validator
from pydantic_core import PydanticCustomError

from .problems import Contract
from .text import Text

# The kernelspec's environment: the agent's folder, and its settings file outside it.
AGENT_DIR_ENV = "CLAUDE_AGENT_DIR"
SETTINGS_ENV = "CLAUDE_AGENT_SETTINGS"
# The name the agent's instructions have in its folder (Claude Code's project memory file).
INSTRUCTIONS_FILE = "CLAUDE.md"
# Where hand-made agents kept their settings before settings moved out of agent folders.
OLD_SETTINGS_FILE = "agent.json"
# The models people may pick when the service's OMA_MODELS setting is not given.
DEFAULT_MODELS = ("claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5")


class AgentStatus(StrEnum):
    """Draft and active agents take turns; a paused agent's kernel refuses them."""

    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"


class PermissionMode(StrEnum):
    """Claude Code's permission modes: how far the agent may go without asking (the freest last)."""

    DEFAULT = "default"
    ACCEPT_EDITS = "acceptEdits"
    PLAN = "plan"
    DONT_ASK = "dontAsk"
    AUTO = "auto"
    BYPASS_PERMISSIONS = "bypassPermissions"


class HeadlessPolicy(StrEnum):
    """What a tool request nobody can answer (no front end) gets."""

    DENY = "deny"
    ALLOW = "allow"


AGENT_LIMITS = {
    "name": 80, "description": 500, "instructions": 20_000, "tools": 100, "tool": 200,
    "max_turns": (1, 500), "max_budget_usd": 1000, "slug": 40,
}

AgentName = Text(AGENT_LIMITS["name"], one_line=True, required=True, name=True)
Description = Text(AGENT_LIMITS["description"], one_line=False)
Instructions = Text(AGENT_LIMITS["instructions"], one_line=False, strip=False)
ToolName = Text(AGENT_LIMITS["tool"], one_line=True, required=True, name=True)
Tools = Annotated[list[ToolName], Field(max_length=AGENT_LIMITS["tools"],
                                        description='Tools in Claude Code\'s rule syntax, e.g. "Read", "Bash(ls:*)"')]
MaxTurns = Annotated[StrictInt, Field(ge=AGENT_LIMITS["max_turns"][0], le=AGENT_LIMITS["max_turns"][1])]
Budget = Annotated[float, Strict(), Field(gt=0, le=AGENT_LIMITS["max_budget_usd"], allow_inf_nan=False)]
Version = Annotated[StrictInt, Field(ge=1, description="Grows by one with every change")]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=AGENT_LIMITS["slug"])]

_low, _high = AGENT_LIMITS["max_turns"]
_AGENT_RULES = {
    "name": f"a name of 1 to {AGENT_LIMITS['name']} characters (text, on one line)",
    "description": "text", "instructions": "text", "slug": "a folder name", "id": "the agent's id",
    "permission_mode": "one of " + ", ".join(PermissionMode),
    "status": "one of " + ", ".join(AgentStatus),
    "headless_permission": "one of " + ", ".join(HeadlessPolicy),
    "allowed_tools": 'a list of tool names, such as ["Read", "Bash(ls:*)"]',
    "disallowed_tools": 'a list of tool names, such as ["WebFetch"]',
    "allowed_tools.entry": "a tool name (non-empty text)", "disallowed_tools.entry": "a tool name (non-empty text)",
    "max_turns": f"a whole number from {_low} to {_high}, or null for no limit",
    "max_budget_usd": f"an amount in US dollars above 0 and at most {AGENT_LIMITS['max_budget_usd']}, "
                      "or null for no limit",
    "model": "a model name, or null for Claude Code's default",
    "version": "the agent's version number (a whole number from 1)",
}


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class AgentCreate(Contract):
    """POST: a new agent; missing fields take their defaults. The service checks ``model`` against
    the models it offers (validation context ``models``, default ``DEFAULT_MODELS``)."""

    noun: ClassVar[str] = "agent"
    rules: ClassVar[dict[str, str]] = _AGENT_RULES
    read_only: ClassVar[frozenset[str]] = frozenset({"id", "owner", "slug", "created_at", "updated_at", "usage",
                                                     "version"})

    name: AgentName = Field(description="Unique among your agents, ignoring case; surrounding spaces are trimmed")
    description: Description = ""
    instructions: Instructions = Field("", description="Appended to Claude Code's system prompt (the agent's CLAUDE.md)")
    model: str | None = Field(None, description="null: Claude Code's default model (the choices are the service's "
                                                "OMA_MODELS setting)")
    permission_mode: PermissionMode = PermissionMode.DEFAULT
    allowed_tools: Tools = []
    disallowed_tools: Tools = []
    max_turns: MaxTurns | None = Field(None, description="Model turns allowed per cell; null: no limit")
    max_budget_usd: Budget | None = Field(None, description="Spending limit per cell in US dollars; null: no limit")
    status: AgentStatus = Field(AgentStatus.DRAFT, description="A paused agent's kernel refuses new turns")

    @field_validator("model", mode="before")
    @classmethod
    def _offered_model(cls, value: Any, info) -> str | None:
        if value is None or value == "":
            return None
        models = tuple((info.context or {}).get("models") or DEFAULT_MODELS)
        if not isinstance(value, str) or value not in models:
            raise PydanticCustomError("contract_model", "must be one of {models}, or null for Claude Code's default",
                                      {"models": ", ".join(models)})
        return value


class AgentReplace(AgentCreate):
    """PUT: every editable field (missing ones take their defaults)."""

    read_only: ClassVar[frozenset[str]] = AgentCreate.read_only - {"version"}

    version: Version = Field(None, json_schema_extra=_no_default,  # type: ignore[assignment]
                             description="The version you loaded; a stale one is refused with 409 (or send If-Match)")


class AgentChanges(AgentReplace):
    """PATCH: only the fields given change; ``name`` may be left out."""

    name: AgentName = Field(None, json_schema_extra=_no_default,  # type: ignore[assignment]
                            description="Unique among your agents, ignoring case; surrounding spaces are trimmed")


class Usage(Contract):
    sessions: int = Field(0, ge=0)
    turns: int = Field(0, ge=0)
    input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(0, ge=0)
    cost_usd: float = Field(0.0, ge=0)
    last_used_at: datetime | None = None


class Agent(Contract):
    """An agent as the service returns it."""

    model_config = ConfigDict(extra="allow")

    id: str
    owner: str = Field(description="The owner's e-mail address")
    slug: Slug = Field(description="Folder name derived from the name (~/agents/<slug>, kernelspec claude-<slug>)")
    name: str
    description: str = ""
    instructions: str = ""
    model: str | None = None
    permission_mode: PermissionMode = PermissionMode.DEFAULT
    allowed_tools: list[str] = []
    disallowed_tools: list[str] = []
    max_turns: int | None = None
    max_budget_usd: float | None = None
    status: AgentStatus = AgentStatus.DRAFT
    version: Version
    created_at: datetime | None = None
    updated_at: datetime | None = None
    usage: Usage | None = None


class AgentOptions(Contract):
    """What an agent form may offer (the user server cannot read the service's settings)."""

    models: list[str] = Field(description="The service's OMA_MODELS setting")
    permission_modes: list[PermissionMode] = list(PermissionMode)
    statuses: list[AgentStatus] = list(AgentStatus)
    limits: dict[str, int | list[int]] = Field(
        default_factory=lambda: {key: list(value) if isinstance(value, tuple) else value
                                 for key, value in AGENT_LIMITS.items() if key != "slug"},
        description="Characters per text field, entries per tool list, and the bounds of max_turns and max_budget_usd")


class AgentSettingsFile(Contract):
    """The settings file a Claude kernel obeys. Every key is optional (a hand-written file may hold
    only some); keys the kernel does not know are kept, not refused."""

    model_config = ConfigDict(extra="allow")
    noun: ClassVar[str] = "agent settings"
    rules: ClassVar[dict[str, str]] = _AGENT_RULES

    id: str = ""
    name: str | None = None  # None: the folder's name
    slug: str | None = None
    status: AgentStatus = AgentStatus.ACTIVE
    # Not used by the kernel: kept so that a notebook can carry its agent's definition (oma_contract.recipe).
    description: Description = ""
    instructions: Instructions = ""
    model: str | None = None
    permission_mode: PermissionMode = PermissionMode.DEFAULT
    allowed_tools: Tools = []
    disallowed_tools: Tools = []
    max_turns: MaxTurns | None = None
    max_budget_usd: Budget | None = None
    headless_permission: HeadlessPolicy = HeadlessPolicy.DENY

    @field_validator("id", "name", "description", "instructions", mode="before")
    @classmethod
    def _null_is_unset(cls, value: Any, info) -> Any:
        return cls.model_fields[info.field_name].default if value is None else value

    @field_validator("model", mode="before")
    @classmethod
    def _empty_model_is_default(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("allowed_tools", "disallowed_tools", mode="before")
    @classmethod
    def _null_is_none(cls, value: Any) -> Any:
        return [] if value is None else value


def instructions_text(instructions: str | None) -> str:
    """The agent's CLAUDE.md for its instructions (what the owner reads, and the agent sees read-only)."""
    return (instructions or "").rstrip() + "\n"
