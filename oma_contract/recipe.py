"""A recipe: a notebook that carries its agent, and what a run of it records.

A notebook whose kernel is an agent's kernel holds that agent's definition in
``metadata.oh_my_agent.agent`` (``AgentDefinition``): what another person needs
to create the same agent (name, description, instructions, model, permission
mode, tool lists, limits) and a content hash that changes when any of it does.
It never holds the agent's id, its owner's e-mail address, tokens, the
folder's path or anything else of the author's: only the fields listed in
``DEFINITION_FIELDS`` are ever copied, so a field added to the agent later
does not leak into shared notebooks by default.

Cells record what produced them in ``cell.metadata.oh_my_agent``
(``CellProvenance``); a run notebook records its run in
``metadata.oh_my_agent.run`` (``RunRecord``). The user server writes the
definition on save and the runner writes the run record; the gallery reads
the definition to create the agent for the person importing the recipe.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, ClassVar, Literal, Mapping

from pydantic import Field

from .agent import _AGENT_RULES, Budget, Description, Instructions, MaxTurns, PermissionMode, Tools, AgentName
from .problems import Contract, FieldInvalid

# The key under notebook and cell metadata (a Python identifier, as nbformat recommends for namespaces).
RECIPE_KEY = "oh_my_agent"
DEFINITION_FORMAT = 1
# The agent's fields a recipe carries, and nothing else (never id, owner, slug, usage, version, status).
DEFINITION_FIELDS = ("name", "description", "instructions", "model", "permission_mode", "allowed_tools",
                     "disallowed_tools", "max_turns", "max_budget_usd")


class AgentDefinition(Contract):
    """The agent a notebook carries. ``model`` is not checked against a service's models here: the
    service a recipe is imported into checks it when the agent is created there."""

    noun: ClassVar[str] = "agent definition"
    rules: ClassVar[dict[str, str]] = {**_AGENT_RULES, "format": f"{DEFINITION_FORMAT}",
                                       "content_hash": "the definition's sha256, as content_hash() writes it"}

    format: Literal[1] = DEFINITION_FORMAT
    name: AgentName
    description: Description = ""
    instructions: Instructions = ""
    model: str | None = None
    permission_mode: PermissionMode = PermissionMode.DEFAULT
    allowed_tools: Tools = []
    disallowed_tools: Tools = []
    max_turns: MaxTurns | None = None
    max_budget_usd: Budget | None = None
    content_hash: str = Field("", description="sha256 of the other fields (content_hash()); empty: not computed")

    def agent_create(self) -> dict[str, Any]:
        """The body of POST /api/agents that creates this agent (the service picks id, slug and owner)."""
        return self.model_dump(mode="json", include=set(DEFINITION_FIELDS))

    def intact(self) -> bool:
        """Whether the content hash matches the fields (False when the notebook was edited by hand)."""
        return self.content_hash == content_hash(self)


def content_hash(definition: AgentDefinition | Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the definition's fields in a canonical JSON form: the same agent gives the
    same hash on every server, whatever order or defaults its fields came in."""
    if not isinstance(definition, AgentDefinition):
        definition = AgentDefinition.check({key: value for key, value in definition.items() if key in DEFINITION_FIELDS})
    fields = definition.model_dump(mode="json", include=set(DEFINITION_FIELDS))
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def definition_of(agent: Mapping[str, Any]) -> AgentDefinition:
    """The definition of an agent as the service returns it (``Agent``) or as its settings file holds it
    (``AgentSettingsFile``), with its content hash. Raises FieldInvalid for an agent that breaks the contract."""
    fields = {key: agent[key] for key in DEFINITION_FIELDS if agent.get(key) is not None}
    fields.setdefault("name", agent.get("slug") or "")
    definition = AgentDefinition.check(fields)
    return definition.model_copy(update={"content_hash": content_hash(definition)})


def notebook_definition(metadata: Mapping[str, Any]) -> AgentDefinition | None:
    """The definition a notebook's metadata carries; None when it carries none. Raises FieldInvalid
    (field ``metadata.oh_my_agent.agent...``) for one that is malformed."""
    recipe = metadata.get(RECIPE_KEY)
    if recipe is None:
        return None
    if not isinstance(recipe, Mapping) or not isinstance(recipe.get("agent", {}), Mapping):
        raise FieldInvalid(f"metadata.{RECIPE_KEY}", f"metadata.{RECIPE_KEY} must be an object with the agent "
                                                     "under 'agent'.")
    if "agent" not in recipe:
        return None
    try:
        return AgentDefinition.check(recipe["agent"])
    except FieldInvalid as err:
        raise FieldInvalid(f"metadata.{RECIPE_KEY}.agent.{err.field}".rstrip("."), str(err)) from None


class ToolCall(Contract):
    """One tool the agent called in a cell: its name and key argument (``Bash``, ``ls -la``)."""

    name: str
    argument: str = ""


class CellProvenance(Contract):
    """What produced a cell's answer (``cell.metadata.oh_my_agent``)."""

    noun: ClassVar[str] = "cell provenance"

    agent: str = Field("", description="The agent's name")
    model: str | None = Field(None, description="null: Claude Code's default model")
    session_id: str | None = None
    turn: int = Field(0, ge=0, description="The cell's place in the session: 1 for its first turn")
    turns: int = Field(0, ge=0, description="Model round trips in this cell")
    input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(0, ge=0)
    cost_usd: float = Field(0.0, ge=0)
    duration_seconds: float = Field(0.0, ge=0)
    tools: list[ToolCall] = []
    denied: list[ToolCall] = Field([], description="Tool calls refused (by the person, or by the headless policy)")
    status: Literal["ok", "error", "stopped"] = "ok"
    finished_at: datetime | None = None


class RunStatus:
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ALL = (RUNNING, FINISHED, FAILED, CANCELLED)


class RunRecord(Contract):
    """A headless run of a recipe (``metadata.oh_my_agent.run`` of the run notebook)."""

    noun: ClassVar[str] = "run"

    recipe: str = Field(description="The recipe notebook's path in the person's server")
    recipe_version: str = Field("", description="sha256 of the recipe notebook's cells when the run started")
    parameters: dict[str, str | int | float | bool] = {}
    status: str = RunStatus.RUNNING
    started_at: datetime
    finished_at: datetime | None = None
    cells: int = Field(0, ge=0, description="Claude cells in the recipe")
    cells_done: int = Field(0, ge=0)
    cost_usd: float = Field(0.0, ge=0)
    error: str = ""
