"""The gallery in a person's own server: sharing one of their notebooks as a recipe, and using a recipe.

Both happen here, not in the agents service, because both touch the person's files: sharing reads a
notebook from their server (through its contents manager, which refuses links out of an agent's folder),
using a recipe writes one into it. The service is called with this server's own token, so everything
is done as the person and nothing of anyone else's comes along.

- ``recipes/share``: pick a notebook that runs on one of your agents, say what it is (title, description,
  tags, outputs kept or cleared), see every value in it that looks like a credential, and publish once
  each is cleared or confirmed not to be one (the service checks that again). Also a new version of a
  recipe you published.
- ``recipes/import?recipe=<id>``: what the recipe is and which tools its agent will be allowed; "Use this
  recipe" creates the agent from its definition (a name you already use gets a number: "Analyst (2)"),
  copies the notebook into ``~/recipes/`` on that agent's kernel, counts the import, and opens it.
  ``POST api/recipes/<id>/import`` does the same for scripts and tests.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import jinja2
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httputil import url_concat

from oma_contract import AGENT_LIMITS
from oma_contract.credentials import scan_notebook
from oma_contract.recipe import RECIPE_KEY, AgentDefinition, definition_of, notebook_definition

from oma_contract.parameters import ParameterError
from recipes.counting import gallery_origin
from recipes.notebook import agent_slug
from recipes.runner import RecipeError

from .app import HERE, AgentsService
from .dashboard_text import CATALOGS, request_language
from .recipe_saving import agent_record
from .runs import PARAMETER_ARGUMENT, RecipeHandlerMixin
from .workspace import Workspace

log = logging.getLogger("oh-my-agent.agents")
RECIPES_FOLDER = "recipes"  # under the server's root: where used recipes are copied
RECIPE_ID = re.compile(r"[0-9a-f]{32}")
# Where the share page looks for notebooks, and how far: a person's home can be big.
MAX_NOTEBOOKS_LISTED = 300
SKIPPED_FOLDERS = {".trash", ".ipynb_checkpoints", "node_modules", ".git", ".claude", ".claude-state"}
NAME_ATTEMPTS = 50

_TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                                extensions=["jinja2.ext.i18n"])


class GalleryError(Exception):
    """The service refused (status, its message, its answer); shown on the page as it said it."""

    def __init__(self, status: int, message: str, answer: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.answer = answer or {}


class GalleryHandler(JupyterHandler):
    @property
    def service(self) -> AgentsService:
        return self.settings["oma_agents_service"]

    @property
    def workspace(self) -> Workspace:
        return self.settings["oma_workspace"]

    @property
    def hub_prefix(self) -> str:
        return self.settings["oma_hub_home"][: -len("hub/home")]

    def gallery_url(self, recipe_id: str = "") -> str:
        """The gallery's page in the browser (through the hub's proxy; the service's own URL is internal)."""
        return self.hub_prefix + "services/agents/recipes" + (f"/{recipe_id}" if recipe_id else "")

    async def service_json(self, method: str, path: str, body: Any = None) -> Any:
        status, _, payload = await self.service.call(method, path, json.dumps(body).encode() if body is not None else None)
        try:
            answer = json.loads(payload) if payload else None
        except ValueError:
            answer = None
        if status >= 400:
            message = answer.get("error") if isinstance(answer, dict) else f"HTTP {status}"
            raise GalleryError(status, message, answer if isinstance(answer, dict) else None)
        return answer

    def render_gallery_page(self, template: str, **context: Any) -> None:
        language = request_language(self)
        texts = CATALOGS.translations(language)
        page = _TEMPLATES.get_template(template).render(
            _=texts.gettext, gettext=texts.gettext, ngettext=texts.ngettext, lang=language, base_url=self.base_url,
            hub_home=self.settings["oma_hub_home"], gallery_url=self.gallery_url(), xsrf_token=self.xsrf_token.decode(),
            **context)
        self.set_header("Content-Language", language)
        self.finish(page)

    def form(self, name: str) -> str:
        return self.get_body_argument(name, "", strip=True)


# -- using a recipe ---------------------------------------------------------------------------
def free_name(wanted: str, taken: set[str]) -> str:
    """``wanted``, or with the first number that makes it one of a kind among ``taken`` (compared ignoring case)."""
    taken = {name.strip().casefold() for name in taken}
    if wanted.casefold() not in taken:
        return wanted
    for number in range(2, NAME_ATTEMPTS + 2):
        suffix = f" ({number})"
        candidate = wanted[: AGENT_LIMITS["name"] - len(suffix)].rstrip() + suffix
        if candidate.casefold() not in taken:
            return candidate
    raise GalleryError(409, f"You already have agents named '{wanted}' and {NAME_ATTEMPTS} numbered ones: "
                            "rename or delete some, then use the recipe again.")


def file_stem(title: str) -> str:
    stem = re.sub(r"[^\w-]+", "-", title.strip().lower(), flags=re.UNICODE).strip("-")
    return stem[:60] or "recipe"


def imported_notebook(notebook: dict[str, Any], agent: dict[str, Any], definition: AgentDefinition,
                      recipe: dict[str, Any]) -> dict[str, Any]:
    """The recipe's notebook as it lands in the importer's server: on their agent's kernel, carrying the
    definition of that agent (its name may have a number) and which recipe and version it came from."""
    metadata = notebook.setdefault("metadata", {})
    metadata["kernelspec"] = {"name": f"claude-{agent['slug']}", "display_name": f"Claude · {agent['name']}",
                              "language": "markdown"}
    carried = definition_of({**definition.agent_create(), "name": agent["name"]})
    own = metadata.get(RECIPE_KEY) if isinstance(metadata.get(RECIPE_KEY), dict) else {}
    metadata[RECIPE_KEY] = {**own, "agent": carried.model_dump(mode="json"),
                            "gallery": {"recipe": recipe["id"], "version": recipe["version"], "title": recipe["title"]}}
    return notebook


async def use_recipe(handler: GalleryHandler, recipe_id: str) -> dict[str, Any]:
    """Create the recipe's agent and copy its notebook into ~/recipes/: {"agent", "path", "recipe"}."""
    if not RECIPE_ID.fullmatch(recipe_id):
        raise GalleryError(404, "There is no recipe with this id: the link is wrong.")
    recipe = await handler.service_json("GET", f"api/recipes/{recipe_id}")
    notebook = await handler.service_json("GET", f"api/recipes/{recipe_id}/notebook?version={recipe['version']}")
    definition = AgentDefinition.check(recipe["agent"])
    agents = await handler.service_json("GET", "api/agents")
    name = free_name(definition.name, {a["name"] for a in agents})
    agent = await handler.service_json("POST", "api/agents", {**definition.agent_create(), "name": name,
                                                             "status": "active"})
    handler.workspace.sync(agent)  # its folder and kernel, as the dashboard makes them
    contents = handler.contents_manager
    if not await _maybe(contents.dir_exists(RECIPES_FOLDER)):
        await _maybe(contents.save({"type": "directory"}, RECIPES_FOLDER))
    stem, number = file_stem(recipe["title"]), 1
    path = f"{RECIPES_FOLDER}/{stem}.ipynb"
    while await _maybe(contents.file_exists(path)):
        number += 1
        path = f"{RECIPES_FOLDER}/{stem}-{number}.ipynb"
    copied = imported_notebook(notebook, agent, definition, recipe)
    await _maybe(contents.save({"type": "notebook", "format": "json", "content": copied}, path))
    counted = await handler.service_json("POST", f"api/recipes/{recipe_id}/imports")
    log.info("Recipe %s (version %s) used: agent %s, notebook %s", recipe_id, recipe["version"], agent["id"], path)
    return {"agent": agent, "path": path, "recipe": counted}


async def _maybe(value: Any) -> Any:
    """Contents managers are synchronous or asynchronous depending on the server's configuration."""
    if hasattr(value, "__await__"):
        return await value
    return value


def imported_copy(root: Path, recipe_id: str) -> str | None:
    """The person's copy of the recipe in ~/recipes/ whose agent is on this server (the newest), or None."""
    folder = root / RECIPES_FOLDER
    if not folder.is_dir():
        return None
    notebooks = [path for path in folder.glob("*.ipynb") if path.is_file() and not path.is_symlink()]
    for path in sorted(notebooks, key=lambda path: path.stat().st_mtime, reverse=True):
        try:
            with path.open("rb") as file:
                nb = json.loads(file.read(2_000_000))
        except (OSError, ValueError):
            continue
        if not isinstance(nb, dict) or not isinstance(nb.get("metadata"), dict):
            continue
        origin = gallery_origin(nb["metadata"])
        slug = agent_slug(nb)
        if origin and origin[0] == recipe_id and slug and agent_record(slug) is not None:
            return path.relative_to(root).as_posix()
    return None


def parameter_values(handler: JupyterHandler) -> dict[str, str]:
    """The parameters' values a link or form carries (``p.<name>=<value>``)."""
    return {name[len(PARAMETER_ARGUMENT):]: values[-1].decode("utf-8", "replace")
            for name, values in handler.request.arguments.items()
            if name.startswith(PARAMETER_ARGUMENT) and len(name) > len(PARAMETER_ARGUMENT) and values}


def run_page_url(handler: JupyterHandler, path: str, values: dict[str, str], run_id: str = "") -> str:
    arguments = {"path": path, **{PARAMETER_ARGUMENT + name: value for name, value in values.items()}}
    if run_id:
        arguments["run"] = run_id
    return url_concat(url_path_join(handler.base_url, "agents", "run"), arguments)


class RunRecipePage(GalleryHandler):
    """``recipes/run?recipe=<id>&p.<name>=<value>...``: where the gallery's Run form leads. With a copy of the
    recipe in ~/recipes/, its Run page, the values filled in; without one, the import page, which uses the
    recipe and starts the run. Nothing is created or run on a GET: a link cannot spend a person's money."""

    @web.authenticated
    def get(self) -> None:
        recipe_id = self.get_query_argument("recipe", "")
        if not RECIPE_ID.fullmatch(recipe_id):
            self.set_status(404)
            return self.render_gallery_page("recipe_import.html", recipe=None, agent_name="", run_values=None,
                                            error="There is no recipe with this id: the link is wrong.")
        values = parameter_values(self)
        copy = imported_copy(Path(self.contents_manager.root_dir).expanduser(), recipe_id)
        if copy is not None:
            return self.redirect(run_page_url(self, copy, values))
        arguments = {"recipe": recipe_id, "run": "1", **{PARAMETER_ARGUMENT + k: v for k, v in values.items()}}
        self.redirect(url_concat(url_path_join(self.base_url, "recipes", "import"), arguments))


class ImportPage(RecipeHandlerMixin, GalleryHandler):
    """``recipes/import?recipe=<id>``: what using the recipe will create, then "Use this recipe".
    With ``run=1`` (from the gallery's Run form) it then runs the copy with the parameters' values."""

    def run_values(self) -> dict[str, str] | None:
        if self.get_argument("run", "") != "1":
            return None
        return parameter_values(self)

    @web.authenticated
    async def get(self) -> None:
        recipe_id = self.get_query_argument("recipe", "")
        try:
            if not RECIPE_ID.fullmatch(recipe_id):
                raise GalleryError(404, "There is no recipe with this id: the link is wrong.")
            recipe = await self.service_json("GET", f"api/recipes/{recipe_id}")
            agents = await self.service_json("GET", "api/agents")
        except GalleryError as err:
            self.set_status(err.status)
            return self.render_gallery_page("recipe_import.html", recipe=None, error=str(err), agent_name="",
                                            run_values=None)
        name = free_name(recipe["agent"]["name"], {a["name"] for a in agents})
        self.render_gallery_page("recipe_import.html", recipe=recipe, error="", agent_name=name,
                                 run_values=self.run_values())

    @web.authenticated
    async def post(self) -> None:
        recipe_id = self.form("recipe")
        try:
            used = await use_recipe(self, recipe_id)
        except GalleryError as err:
            self.set_status(err.status if err.status < 500 else 502)
            return self.render_gallery_page("recipe_import.html", recipe=None, error=str(err), agent_name="",
                                            run_values=None)
        values = self.run_values()
        if values is None:
            return self.redirect(url_path_join(self.base_url, "lab", "tree", *used["path"].split("/")))
        path, os_path = self.recipe_path(used["path"])
        try:
            run_id = self.start_run(path, os_path, values)
        except (RecipeError, ParameterError) as err:  # the Run page shows the values again and says what is wrong
            log.info("Recipe %s used, its run not started: %s", recipe_id, err)
            return self.redirect(run_page_url(self, path, values))
        self.redirect(run_page_url(self, path, values, run_id))


class ImportAPI(GalleryHandler, APIHandler):
    """``POST api/recipes/<id>/import``: use the recipe; answers {"agent", "path", "recipe"}."""

    @web.authenticated
    async def post(self, recipe_id: str) -> None:
        try:
            used = await use_recipe(self, recipe_id)
        except GalleryError as err:
            raise web.HTTPError(err.status, str(err)) from None
        self.set_status(201)
        self.finish(json.dumps(used))


class RunsAPI(GalleryHandler, APIHandler):
    """``POST api/recipes/<id>/runs``: count a run of a recipe (the notebook's metadata names it)."""

    @web.authenticated
    async def post(self, recipe_id: str) -> None:
        if not RECIPE_ID.fullmatch(recipe_id):
            raise web.HTTPError(404, "There is no recipe with this id.")
        try:
            counted = await self.service_json("POST", f"api/recipes/{recipe_id}/runs")
        except GalleryError as err:
            raise web.HTTPError(err.status, str(err)) from None
        self.finish(json.dumps(counted))


# -- sharing a notebook -----------------------------------------------------------------------
def agent_notebooks(root: Path, kernels: set[str]) -> list[str]:
    """Notebooks under ``root`` whose kernel is one of ``kernels``, as paths relative to it (sorted)."""
    found: list[str] = []
    for path in sorted(root.rglob("*.ipynb")):
        relative = path.relative_to(root)
        if any(part in SKIPPED_FOLDERS or part.startswith(".") for part in relative.parts[:-1]) or path.is_symlink():
            continue
        try:
            with path.open("rb") as file:
                kernel = json.loads(file.read(2_000_000)).get("metadata", {}).get("kernelspec", {}).get("name")
        except (OSError, ValueError, AttributeError):
            continue
        if kernel in kernels:
            found.append(relative.as_posix())
            if len(found) >= MAX_NOTEBOOKS_LISTED:
                break
    return found


def split_tags(text: str) -> list[str]:
    return [tag.strip().lstrip("#") for tag in re.split(r"[,\n]", text) if tag.strip().lstrip("#")]


class SharePage(GalleryHandler):
    """``recipes/share``: share a notebook as a recipe, or a new version of one of yours."""

    async def _choices(self) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
        agents = await self.service_json("GET", "api/agents")
        mine = await self.service_json("GET", "api/recipes?mine=1")
        root = Path(self.contents_manager.root_dir).expanduser()
        notebooks = agent_notebooks(root, {f"claude-{a['slug']}" for a in agents})
        return agents, notebooks, mine

    async def _show(self, form: dict[str, Any], *, error: str = "", findings: list[dict[str, Any]] | None = None,
                    status: int = 200) -> None:
        try:
            agents, notebooks, mine = await self._choices()
        except GalleryError as err:
            self.set_status(err.status if err.status < 500 else 502)
            return self.render_gallery_page("recipe_share.html", form=form, notebooks=[], mine=[], findings=[],
                                            error=str(err), blocked=True)
        self.set_status(status)
        self.render_gallery_page("recipe_share.html", form=form, notebooks=notebooks, mine=mine,
                                 findings=findings or [], error=error, blocked=False)

    @web.authenticated
    async def get(self) -> None:
        form = {"path": self.get_query_argument("path", ""), "recipe": self.get_query_argument("recipe", ""),
                "outputs": "kept", "title": "", "description": "", "tags": ""}
        await self._show(form)

    @web.authenticated
    async def post(self) -> None:
        form = {key: self.form(key) for key in ("path", "recipe", "title", "description", "tags", "outputs")}
        confirmed = [value for value in self.get_body_arguments("not_a_credential") if re.fullmatch(r"[0-9a-f]{16}", value)]
        try:
            request, recipe_id = await self._request(form, confirmed)
        except GalleryError as err:
            return await self._show(form, error=str(err), status=400)
        findings = scan_notebook(request["notebook"], title=request["title"], description=request["description"])
        unconfirmed = [f.as_json() for f in findings if f.fingerprint not in confirmed]
        if unconfirmed:  # shown first here; the service refuses them too, whatever a page did
            return await self._show(form, findings=[f.as_json() for f in findings], status=400,
                                    error=CATALOGS.translations(request_language(self)).gettext(
                                        "Some values look like credentials. Remove them from the notebook and share "
                                        "it again, or tick each one that is not a credential."))
        try:
            if recipe_id:
                recipe = await self.service_json("PUT", f"api/recipes/{recipe_id}", request)
            else:
                recipe = await self.service_json("POST", "api/recipes", request)
        except GalleryError as err:
            return await self._show(form, error=str(err), findings=err.answer.get("credentials"),
                                    status=err.status if err.status < 500 else 502)
        log.info("Shared %s as recipe %s (version %s)", form["path"], recipe["id"], recipe["version"])
        self.redirect(self.gallery_url(recipe["id"]))

    async def _request(self, form: dict[str, str], confirmed: list[str]) -> tuple[dict[str, Any], str]:
        """The service's publish request for the chosen notebook, with its agent's definition."""
        path = form["path"].strip("/")
        if not path.endswith(".ipynb"):
            raise GalleryError(400, "Choose a notebook to share.")
        try:
            model = await _maybe(self.contents_manager.get(path, content=True, type="notebook"))
        except web.HTTPError as err:
            raise GalleryError(400, f"The notebook {path} cannot be read: {err.log_message or err.reason}") from None
        notebook = json.loads(json.dumps(model["content"]))
        if form["outputs"] == "cleared":  # cleared here too, so the credentials shown are those of what is shared
            for cell in notebook.get("cells", []):
                if cell.get("cell_type") == "code":
                    cell["outputs"], cell["execution_count"] = [], None
        definition = notebook_definition(notebook.get("metadata") or {})
        kernel = (notebook.get("metadata", {}).get("kernelspec") or {}).get("name", "")
        agents = await self.service_json("GET", "api/agents")
        agent = next((a for a in agents if f"claude-{a['slug']}" == kernel), None)
        if agent is not None:
            definition = definition_of(agent)  # the agent as it is now: the notebook's copy may be older
        if definition is None:
            raise GalleryError(400, "This notebook does not run on one of your agents: open it with an agent's "
                                    "kernel, save it, and share it again.")
        recipe_id = form["recipe"]
        if recipe_id and not RECIPE_ID.fullmatch(recipe_id):
            raise GalleryError(400, "Choose one of your recipes for the new version, or share a new recipe.")
        return {"title": form["title"], "description": form["description"], "tags": split_tags(form["tags"]),
                "outputs": "cleared" if form["outputs"] == "cleared" else "kept", "notebook": notebook,
                "agent": definition.model_dump(mode="json"), "confirmed_not_credentials": confirmed}, recipe_id


def routes() -> list[tuple[str, type]]:
    """The gallery's handlers in a person's server (registered by app.routes)."""
    return [
        (r"recipes/share/?", SharePage),
        (r"recipes/import/?", ImportPage),
        (r"recipes/run/?", RunRecipePage),
        (r"api/recipes/([^/]+)/import", ImportAPI),
        (r"api/recipes/([^/]+)/runs", RunsAPI),
    ]

