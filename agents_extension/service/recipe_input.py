"""What a person sends to share a notebook as a recipe, and the checks it passes before anything is stored.

The request is a contract model (``RecipePublish``: the title, description, tags, whether outputs are
kept, the agent definition and the notebook itself); the notebook must be a valid Jupyter notebook
(nbformat 4, checked with nbformat's own schema), fit the size limit once its outputs are cleared or
kept, and hold no value that looks like a credential unless the author confirmed it is not one. Each
problem is a ``FieldInvalid`` naming the field, which the API answers as a 400.
"""

from __future__ import annotations

import copy
import json
import warnings
from typing import Annotated, Any, ClassVar, Literal

import nbformat
from pydantic import Field

from oma_contract import AgentCreate, Contract, FieldInvalid
from oma_contract.recipe import AgentDefinition, definition_of, notebook_definition
from oma_contract.credentials import Finding, scan_notebook
from oma_contract.text import Text

RECIPE_LIMITS = {"title": 120, "description": 2000, "tags": 10, "tag": 30, "confirmations": 200}

Title = Text(RECIPE_LIMITS["title"], one_line=True, required=True)
RecipeDescription = Text(RECIPE_LIMITS["description"], one_line=False)
Tag = Text(RECIPE_LIMITS["tag"], one_line=True, required=True, name=True)
Fingerprint = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]

_RULES = {
    "title": f"a title of 1 to {RECIPE_LIMITS['title']} characters on one line",
    "description": "text", "tags": f"a list of at most {RECIPE_LIMITS['tags']} tags",
    "tags.entry": f"a tag of 1 to {RECIPE_LIMITS['tag']} characters on one line",
    "outputs": '"kept" (shared as they are) or "cleared" (removed before sharing)',
    "notebook": "the notebook itself: the JSON object of an .ipynb file",
    "agent": "the agent definition: name, instructions, model, tools and limits",
    "confirmed_not_credentials": "a list of the fingerprints of findings you confirmed are not credentials",
    "confirmed_not_credentials.entry": "a finding's fingerprint (16 hexadecimal digits)",
    "version": "the version you are replacing (a whole number from 1)",
    "status": '"published" or "unpublished"',
}


class RecipePublish(Contract):
    """POST /api/recipes (a new recipe) and PUT /api/recipes/{id} (its next version)."""

    noun: ClassVar[str] = "recipe"
    rules: ClassVar[dict[str, str]] = _RULES
    read_only: ClassVar[frozenset[str]] = frozenset({"id", "author", "author_name", "imports", "runs", "created_at",
                                                     "updated_at", "notebook_bytes", "outputs_kept"})

    title: Title
    description: RecipeDescription = ""
    tags: Annotated[list[Tag], Field(max_length=RECIPE_LIMITS["tags"])] = []
    outputs: Literal["kept", "cleared"] = Field("kept", description="Whether the notebook's outputs are shared")
    notebook: dict[str, Any] = Field(description="The .ipynb file's JSON (nbformat 4)")
    agent: dict[str, Any] | None = Field(None, description="The agent definition (oma_contract.recipe.AgentDefinition); "
                                                           "left out, the notebook's metadata.oh_my_agent.agent")
    confirmed_not_credentials: Annotated[list[Fingerprint], Field(max_length=RECIPE_LIMITS["confirmations"])] = Field(
        [], description="Fingerprints of the credential findings the author confirmed are not credentials")
    version: int | None = Field(None, ge=1, description="PUT: the version being replaced; a stale one is a 409")


class RecipeStatusChange(Contract):
    """PATCH /api/recipes/{id}: unpublish, or publish the current version again."""

    noun: ClassVar[str] = "recipe status change"
    rules: ClassVar[dict[str, str]] = _RULES
    status: Literal["published", "unpublished"]


class CredentialsFound(FieldInvalid):
    """The notebook holds values that look like credentials and were not confirmed: nothing is published."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("confirmed_not_credentials",
                         f"The recipe holds {len(findings)} value(s) that look like credentials (API keys, tokens, "
                         "passwords). Remove each from the notebook, or confirm it is not a credential, then publish "
                         "again. Nothing was published.")
        self.findings = findings


def _drop_session_ids(value: Any) -> None:
    """The author's Claude session ids mean nothing to anyone else: no cell takes one along."""
    if isinstance(value, dict):
        for key in [k for k in value if k == "session_id"]:
            del value[key]
        for inner in value.values():
            _drop_session_ids(inner)
    elif isinstance(value, list):
        for inner in value:
            _drop_session_ids(inner)


def shared_notebook(raw: dict[str, Any], *, keep_outputs: bool) -> dict[str, Any]:
    """The notebook as the gallery keeps it: valid nbformat 4, outputs kept or cleared, no session ids."""
    try:
        notebook = nbformat.from_dict(copy.deepcopy(raw))
        if "nbformat" not in notebook:
            raise FieldInvalid("notebook", "The notebook is not a valid Jupyter notebook: it has no 'nbformat' "
                                           "(send the .ipynb file's JSON as it is).")
        minor = notebook.get("nbformat_minor")
        if "nbformat_minor" in notebook and (not isinstance(minor, int) or isinstance(minor, bool) or minor < 0):
            raise FieldInvalid("notebook", "The notebook is not a valid Jupyter notebook: its 'nbformat_minor' must "
                                           "be a whole number from 0.")
        if notebook.get("nbformat") != 4 or isinstance(notebook.get("nbformat"), (bool, float)):
            raise FieldInvalid("notebook", f"The notebook is in nbformat {notebook.get('nbformat')!r}; recipes are "
                                           "Jupyter notebooks of nbformat 4 (open and save it in JupyterLab).")
        with warnings.catch_warnings():  # cells without ids (older notebooks) are given ids, as JupyterLab does
            warnings.simplefilter("ignore")
            nbformat.validate(notebook)
    except nbformat.ValidationError as err:
        first = str(err.message).splitlines()[0][:300]
        where = "/".join(str(p) for p in err.absolute_path) or "the top level"
        raise FieldInvalid("notebook", f"The notebook is not a valid Jupyter notebook (nbformat 4): at {where}, "
                                       f"{first}.") from None
    except FieldInvalid:
        raise
    except (TypeError, AttributeError, KeyError, ValueError, AssertionError) as err:  # nbformat's own asserts
        raise FieldInvalid("notebook", f"The notebook is not a valid Jupyter notebook (nbformat 4): {err}.") from None
    for cell in notebook.cells:
        if cell.cell_type == "code" and not keep_outputs:
            cell.outputs = []
            cell.execution_count = None
    _drop_session_ids(notebook)
    return json.loads(json.dumps(notebook))


def notebook_text(notebook: dict[str, Any], max_bytes: int) -> str:
    text = json.dumps(notebook, ensure_ascii=False, separators=(",", ":"))
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise FieldInvalid("notebook", f"The notebook is {size:,} bytes as shared; a recipe may be at most "
                                       f"{max_bytes:,} bytes. Clear its outputs, or split it into smaller recipes.")
    return text


def recipe_agent(request: RecipePublish, notebook: dict[str, Any], models: tuple[str, ...]) -> dict[str, Any]:
    """The agent definition sent, or else the one the notebook carries (``metadata.oh_my_agent.agent``), with
    its content hash. Its model is checked against the models offered here, as creating the agent will be."""
    try:
        definition = (AgentDefinition.check(request.agent) if request.agent is not None
                      else notebook_definition(notebook.get("metadata") or {}))
        if definition is None:
            raise FieldInvalid("agent", "The recipe needs its agent: send 'agent' (name, instructions, model, "
                                        "tools), or share a notebook whose kernel is one of your agents.")
        AgentCreate.check(definition.agent_create(), context={"models": models})
    except FieldInvalid as err:
        if err.field == "agent":
            raise
        raise FieldInvalid("agent", f"The agent definition: {err}") from None
    return definition_of(definition.agent_create()).model_dump(mode="json")


def unconfirmed_credentials(request: RecipePublish, notebook: dict[str, Any]) -> None:
    findings = scan_notebook(notebook, title=request.title, description=request.description)
    confirmed = set(request.confirmed_not_credentials)
    left = [f for f in findings if f.fingerprint not in confirmed]
    if left:
        raise CredentialsFound(left)
