"""Recipe runs from a person's server: the Run form, the runs page and their API.

``/agents/run?path=<notebook>`` shows one field per parameter of the recipe
and starts a headless run of it (recipes.runner) in this server, on the
notebook's agent kernel; the page shows "cell k of n" as the run goes and can
cancel it. When the recipe's agent is not on this server (a notebook someone
shared), the page offers to create it from the definition the notebook
carries (oma_contract.recipe), through the agents service, and points the
notebook at the new agent's kernel. ``/agents/runs`` lists past runs (the
notebooks in ``~/runs``, whose metadata is their record) with status,
duration and cost, and the ones still going.

API (JSON; errors are ``{"message", "field"}`` with 400/404):
``POST api/recipe-runs {"path", "parameters": {name: text}}`` → 201 the run;
``GET api/recipe-runs`` → the runs; ``GET api/recipe-runs/<id>`` → one, with
its progress; ``DELETE api/recipe-runs/<id>`` → cancels it (202);
``GET api/recipe-agent?path=`` → whether the notebook's agent is here (JupyterLab asks on opening it:
lab_extension/src/recipe_agent.ts); ``POST api/recipe-agent {"path"}`` → 201 the agent created from the notebook.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado import web

from oma_contract.money import format_usd
from oma_contract.parameters import ParameterError
from oma_contract.permission_choices import CAPABILITIES, Answer, choices_of
from oma_contract.problems import json_object
from oma_contract.recipe import (
    RECIPE_KEY, AgentDefinition, FieldInvalid, RunStatus, content_hash, definition_of, notebook_definition,
)
from oma_contract.text import lone_surrogate_in
from recipes.notebook import agent_slug, declared_parameters
from recipes.runner import RUNS_FOLDER, RecipeError, RecipeRun, read_recipe

from .dashboard_text import CATALOGS, N_, dashboard_text, request_language
from .recipe_saving import agent_record

log = logging.getLogger("oh-my-agent.recipes")


# The pages' words, in the server's one catalog (oma-dashboard).
TEXT = {
    "run_title": N_("Run a recipe"),
    "runs_title": N_("Runs"),
    "agents": N_("My agents"),
    "lab": N_("JupyterLab"),
    "intro": N_("Runs every cell of this notebook on a fresh session of its agent, with nobody to ask: "
                "tools the agent may not use without asking are denied, and the cells say so."),
    "no_parameters": N_("This recipe has no parameters."),
    "start": N_("Run"),
    "cancel": N_("Cancel the run"),
    "progress": N_("Cell {cell} of {cells}"),
    "running": N_("running"),
    "finished": N_("finished"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
    "open_run": N_("Open the run notebook"),
    "missing_agent": N_("This recipe brings its agent “{name}”, which is not on your server yet."),
    "tools": N_("It may use these tools without asking: {tools}."),
    "no_tools": N_("It may use no tool without asking."),
    "create_agent": N_("Create the agent from this recipe"),
    "recipe": N_("Recipe"),
    "status": N_("Status"),
    "started": N_("Started"),
    "duration": N_("Duration"),
    "cost": N_("Cost"),
    "no_runs": N_("No runs yet. Open a recipe's Run page to start one."),
    "all_runs": N_("All runs"),
}


PARAMETER_ARGUMENT = "p."  # a parameter's value in a link to the Run page: ?p.topic=...


def shown_value(value: Any) -> str:
    """A parameter's default as its field shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def run_text(language: str) -> dict[str, str]:
    texts = CATALOGS.translations(language)
    return {key: texts.gettext(message) for key, message in TEXT.items()}


def with_cost(run: dict[str, Any]) -> dict[str, Any]:
    """A run as the API gives it, with its cost as every page shows money (oma_contract.money: the cells'
    footers say $0.0004, so the run of those cells must not read $0.0000)."""
    return {**run, "cost": format_usd(run.get("cost_usd"))}


class Runs:
    """The runs this server started and is running (finished ones are read back from their notebooks)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.folder = root / RUNS_FOLDER
        self.live: dict[str, tuple[RecipeRun, asyncio.Task]] = {}

    def start(self, run: RecipeRun) -> str:
        run_id = run.output.stem
        task = asyncio.get_running_loop().create_task(run.run())

        def over(task: asyncio.Task) -> None:
            # from now on the run notebook, written at the end of every run, is its record
            self.live.pop(run_id, None)
            if not task.cancelled() and task.exception() is not None:
                log.error("Run %s ended badly", run_id, exc_info=task.exception())

        task.add_done_callback(over)
        self.live[run_id] = (run, task)
        return run_id

    def describe(self, run_id: str) -> dict[str, Any] | None:
        if run_id in self.live:
            run = self.live[run_id][0]
            return with_cost({"id": run_id, "recipe": run.label, "output": self._relative(run.output),
                              "started_at": run.started.isoformat(), **run.progress.as_json()})
        path = self.folder / f"{run_id}.ipynb"
        return self._from_notebook(path) if path.is_file() and "/" not in run_id else None

    def _relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def _from_notebook(self, path: Path) -> dict[str, Any] | None:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
            record = nb["metadata"][RECIPE_KEY]["run"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        seconds = None
        try:
            if record.get("finished_at"):
                seconds = (datetime.fromisoformat(record["finished_at"]) -
                           datetime.fromisoformat(record["started_at"])).total_seconds()
        except (TypeError, ValueError):
            pass
        status = record.get("status")
        if status == RunStatus.RUNNING:  # written by a run that is no longer going (a server restart)
            status = RunStatus.FAILED
        return with_cost({"id": path.stem, "recipe": record.get("recipe"), "output": self._relative(path),
                          "status": status, "cell": record.get("cells_done", 0), "cells": record.get("cells", 0),
                          "cost_usd": record.get("cost_usd", 0.0), "error": record.get("error", ""),
                          "started_at": record.get("started_at"), "seconds": seconds})

    def listing(self) -> list[dict[str, Any]]:
        found = {run_id: self.describe(run_id) for run_id in self.live}
        if self.folder.is_dir():
            for path in self.folder.glob("*.ipynb"):
                if path.stem not in found:
                    described = self._from_notebook(path)
                    if described:
                        found[path.stem] = described
        return sorted((r for r in found.values() if r), key=lambda r: str(r.get("started_at")), reverse=True)


class RecipeHandlerMixin:
    @property
    def runs(self) -> Runs:
        """The server's one Runs, made on first use (runs go in ``runs/`` of the server's root folder)."""
        return self.settings.setdefault("oma_runs", Runs(Path(self.contents_manager.root_dir).expanduser()))

    def recipe_path(self, path: Any) -> tuple[str, Path]:
        """The notebook ``path`` names in this server (a contents path), or 400/404 saying what is wrong."""
        if not isinstance(path, str) or not path.strip().endswith(".ipynb"):
            raise web.HTTPError(400, "'path' must be the path of a notebook in your server (ending in .ipynb).")
        path = path.strip().strip("/")
        os_path = Path(self.contents_manager._get_os_path(path))  # refuses paths out of the root and agents' links
        if not os_path.is_file():
            raise web.HTTPError(404, f"There is no notebook at {path}.")
        return path, os_path

    def start_run(self, path: str, os_path: Path, given: dict[str, Any]) -> str:
        """Start a headless run of the notebook (checked first: RecipeError, ParameterError); its id.
        A recipe copied from the gallery has the run counted there, as this server's person."""
        service = self.settings.get("oma_agents_service")
        run = RecipeRun(os_path, given, runs_dir=self.runs.folder, label=path,
                        service=service.call if service is not None else None)
        run.prepare()
        return self.runs.start(run)

    def body_object(self, shape: str) -> dict[str, Any]:
        """The request's JSON object (``shape`` shows what was expected), or FieldInvalid naming what is wrong:
        not JSON or nested too deep (oma_contract.problems, as the agents service reads bodies), or a field
        holding a lone surrogate (valid JSON, but no path or parameter value can hold it)."""
        body = json_object(self.request.body, shape)
        for field, value in body.items():
            if lone_surrogate_in(field):
                raise FieldInvalid("", "A field name holds a lone surrogate (U+D800 to U+DFFF), which is not "
                                       "text: send it as UTF-8 text.")
            if lone_surrogate_in(value):
                raise FieldInvalid(field, f"'{field}' holds a lone surrogate (U+D800 to U+DFFF), which is not "
                                          "text: send it as UTF-8 text.")
        return body

    def refuse(self, field: str, message: str) -> None:
        self.set_status(400)
        self.finish({"message": message, "field": field})


class RecipeRunsAPI(RecipeHandlerMixin, APIHandler):
    @web.authenticated
    async def get(self, run_id: str | None = None) -> None:
        if run_id is None:
            self.finish(json.dumps(self.runs.listing()))
            return
        described = self.runs.describe(run_id)
        if described is None:
            raise web.HTTPError(404, f"There is no run {run_id}.")
        self.finish(described)

    @web.authenticated
    async def post(self, run_id: str | None = None) -> None:
        if run_id is not None:
            raise web.HTTPError(405)
        try:
            body = self.body_object('{"path": ..., "parameters": {...}}')
        except FieldInvalid as err:
            return self.refuse(err.field, str(err))
        given = body.get("parameters") or {}
        if not isinstance(given, dict) or not all(isinstance(v, (str, int, float, bool)) for v in given.values()):
            return self.refuse("parameters", "'parameters' must be an object of parameter names to values.")
        path, os_path = self.recipe_path(body.get("path"))
        try:
            run_id = self.start_run(path, os_path, given)
        except (RecipeError, ParameterError) as err:
            field = err.field if isinstance(err, RecipeError) else f"parameters.{err.field}".rstrip(".")
            return self.refuse(field, str(err))
        self.set_status(201)
        self.set_header("Location", self.base_url + f"api/recipe-runs/{run_id}")
        self.finish(self.runs.describe(run_id))

    @web.authenticated
    async def delete(self, run_id: str | None = None) -> None:
        if run_id is None or run_id not in self.runs.live:
            raise web.HTTPError(404, f"There is no run {run_id} going on.")
        await self.runs.live[run_id][0].cancel()
        self.set_status(202)
        self.finish(self.runs.describe(run_id))


def same_agent(agent: dict[str, Any], definition: AgentDefinition) -> bool:
    """Whether one of the person's agents is the one a notebook carries: the same definition (content hash),
    or the same but for the number a clashing name got when it was created from a recipe ("Analyst (2)")."""
    try:
        theirs = definition_of(agent)
    except FieldInvalid:
        return False
    if theirs.content_hash == content_hash(definition):
        return True
    numbered = re.fullmatch(re.escape(definition.name) + r" \(\d+\)", theirs.name)
    return bool(numbered) and content_hash({**theirs.agent_create(), "name": definition.name}) == content_hash(definition)


def allowed_in_words(definition: AgentDefinition, language: str) -> list[str]:
    """What the agent may do without asking, as the agent form says it (its rules no choice covers, as they are)."""
    words = dashboard_text(language)
    choices = choices_of(definition.allowed_tools, definition.disallowed_tools)
    allowed = [c for c in CAPABILITIES if choices.answers[c.key] == Answer.ALLOW]
    said = {tool for capability in allowed for tool in capability.tools}  # "Read" alone is reading, said once
    return [words[f"cap_{c.key}"] for c in allowed] + [rule for rule in choices.other_allowed if rule not in said]


class RecipeAgentAPI(RecipeHandlerMixin, APIHandler):
    """A recipe notebook's agent on this server: ``GET ?path=`` says whether it is here (its kernel, or one of
    the person's agents that is the same), ``POST {"path"}`` creates it from the definition the notebook carries."""

    @web.authenticated
    async def get(self) -> None:
        path, os_path = self.recipe_path(self.get_query_argument("path", ""))
        nb = read_recipe(os_path)
        try:
            definition = notebook_definition(nb.metadata)
        except FieldInvalid as err:
            return self.refuse(err.field, f"The notebook's agent cannot be used: {err}")
        slug = agent_slug(nb)
        record = agent_record(slug) if slug is not None else None
        # the kernel it names is theirs, and the agent they know by that name (their own notebook carries
        # their agent as it was when last saved), or the very agent the notebook brings
        here = record is not None and (definition is None or str(record.get("name", "")).casefold() ==
                                       definition.name.casefold() or same_agent(record, definition))
        same = None
        if definition is not None and not here:
            status, _, payload = await self.settings["oma_agents_service"].call("GET", "api/agents")
            if status != 200:
                raise web.HTTPError(502, "Your agents could not be read from the agents service; try again.")
            same = next((agent for agent in json.loads(payload) if same_agent(agent, definition)), None)
        self.finish({"path": path, "kernel": f"claude-{slug}" if slug else None, "here": here,
                     "definition": definition.model_dump(mode="json") if definition else None,
                     "allowed_in_words": allowed_in_words(definition, request_language(self)) if definition else [],
                     "same_agent": same, "same_kernel": f"claude-{same['slug']}" if same else None})

    @web.authenticated
    async def post(self) -> None:
        try:
            body = self.body_object('{"path": ...}')
        except FieldInvalid as err:
            return self.refuse(err.field, str(err))
        path, os_path = self.recipe_path(body.get("path"))
        nb = read_recipe(os_path)
        try:
            definition = notebook_definition(nb.metadata)
        except FieldInvalid as err:
            return self.refuse(err.field, f"The notebook's agent cannot be used: {err}")
        if definition is None:
            return self.refuse("path", f"{path} carries no agent: open it on an agent's kernel and save it first.")
        status, _, payload = await self.settings["oma_agents_service"].call(
            "POST", "api/agents", json.dumps(definition.agent_create()).encode())
        if status != 201:
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            return self.finish(payload)
        agent = json.loads(payload)
        self.settings["oma_workspace"].sync(agent)
        # the notebook now opens on the new agent's kernel (its slug may differ from the author's)
        nb.metadata["kernelspec"] = {"name": f"claude-{agent['slug']}", "display_name": f"Claude · {agent['name']}",
                                     "language": "markdown"}
        nbformat.write(nb, str(os_path))
        self.set_status(201)
        self.finish(agent)


class RunPage(RecipeHandlerMixin, JupyterHandler):
    @web.authenticated
    def get(self) -> None:
        language = request_language(self)
        path, os_path = self.recipe_path(self.get_argument("path", ""))
        problem, declared, missing = "", {}, None
        try:
            nb = read_recipe(os_path)
            declared = declared_parameters(nb)
            slug = agent_slug(nb)
            definition = notebook_definition(nb.metadata)
            if slug is not None and agent_record(slug) is None:
                missing = definition
                if definition is None:
                    problem = f"This recipe's kernel claude-{slug} is not on your server and it carries no agent."
        except (RecipeError, FieldInvalid) as err:
            problem = str(err)
        # values to start from (``p.<name>``: the gallery's Run form links here with them), and a run
        # already started (``run``: the gallery's Run button started it) whose progress the page follows
        values = {name: self.get_query_argument(f"{PARAMETER_ARGUMENT}{name}", None) for name in declared}
        values = {name: given if given is not None else shown_value(declared[name]) for name, given in values.items()}
        following = self.runs.describe(self.get_query_argument("run", ""))
        page = self.settings["oma_templates"].get_template("run.html").render(
            lang=language, text=run_text(language), base_url=self.base_url, path=path, parameters=values,
            missing=missing, problem=problem, xsrf_token=self.xsrf_token.decode(), following=following)
        self.set_header("Content-Language", language)
        self.finish(page)


class RunsPage(RecipeHandlerMixin, JupyterHandler):
    @web.authenticated
    def get(self) -> None:
        language = request_language(self)
        page = self.settings["oma_templates"].get_template("runs.html").render(
            lang=language, text=run_text(language), base_url=self.base_url, runs=self.runs.listing())
        self.set_header("Content-Language", language)
        self.finish(page)


def run_routes() -> list[tuple[str, type]]:
    return [
        (r"api/recipe-runs/?", RecipeRunsAPI),
        (r"api/recipe-runs/([A-Za-z0-9._-]+)", RecipeRunsAPI),
        (r"api/recipe-agent", RecipeAgentAPI),
        (r"agents/run", RunPage),
        (r"agents/runs", RunsPage),
    ]
