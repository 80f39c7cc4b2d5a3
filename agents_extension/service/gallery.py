"""The recipe gallery: its REST API (``api/recipes...``) and its pages (``recipes``, ``recipes/<id>``).

Only people approved for the beta (and admins) publish, browse and import, checked on every request
here, never by hiding a link. Authors publish new versions and unpublish their recipes; admins remove
any. Another person's unpublished recipe answers exactly like a missing one (404).

Publishing checks everything before anything is stored (recipe_input.py): the fields, the notebook
(valid nbformat 4, within ``recipe_max_bytes``), the agent definition, and credentials: a recipe with a
value that looks like one is refused with the findings listed until the author confirms each is not one.
The preview page renders the notebook sanitized (notebook_preview.py) under a Content-Security-Policy
that lets no inline script run.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import Any

import nbformat
from tornado import web

from oma_contract import FieldInvalid
from oma_contract.parameters import ParameterError
from recipes.notebook import declared_parameters

from ..store import Conflict, Person
from ..store.recipes import Counter, Recipe, RecipeStatus
from .handlers import APIHandler, FieldError, PageHandler, to_json
from .i18n import translations
from .notebook_preview import preview
from .recipe_input import (
    RECIPE_LIMITS,
    CredentialsFound,
    RecipePublish,
    RecipeStatusChange,
    notebook_text,
    recipe_agent,
    shared_notebook,
    unconfirmed_credentials,
)

log = logging.getLogger("oh-my-agent.service")
RECIPE_ID = re.compile(r"[0-9a-f]{32}")
DEFAULT_MAX_BYTES = 500_000
# The preview page: no inline script, images only from the page itself, nothing framed or posted elsewhere.
PREVIEW_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
                  "frame-src 'none'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")


def recipe_json(recipe: Recipe) -> dict[str, Any]:
    """A recipe as the API shows it: what it is, who wrote it, its agent and counters (never its notebook:
    that is ``api/recipes/<id>/notebook``)."""
    return to_json(recipe)


def author_name(person: Person | None, email: str) -> str:
    """How the gallery names an author: the name they applied with, else the one they signed in with."""
    if person is not None:
        name = (person.application.name if person.application else "") or person.name
        if name:
            return name
    return email.split("@", 1)[0]


class GalleryAccess:
    """The beta gate and ownership, shared by the gallery's API and pages."""

    async def require_approved(self) -> None:
        # Admins may always, as they may always have agents; their server's token carries no admin
        # scope, so the configured admins are known by address too (as agents_api.require_beta).
        if self.is_admin or self.email in self.desk.admin_emails:
            return
        person = await self.store.get_person(self.email)
        if person is None or person.beta_status != "approved":
            raise web.HTTPError(403, "The recipe gallery is open to people approved for the beta. "
                                     f"Apply at {self.url('beta')}; you will get an e-mail when you are approved.")

    async def visible_recipe(self, recipe_id: str) -> Recipe:
        """A published recipe, or the caller's own, or any for an admin; else the same 404 as for no recipe."""
        recipe = await self.store.recipes.get(recipe_id) if RECIPE_ID.fullmatch(recipe_id) else None
        if recipe is None or (recipe.status != RecipeStatus.PUBLISHED and recipe.author != self.email
                              and not self.is_admin):
            raise web.HTTPError(404, "There is no recipe with this id: it was removed or unpublished, or the link "
                                     "is wrong.")
        return recipe

    async def own_recipe(self, recipe_id: str) -> Recipe:
        recipe = await self.visible_recipe(recipe_id)
        if recipe.author != self.email:
            raise web.HTTPError(403, "Only the recipe's author may publish its versions or unpublish it.")
        return recipe


class RecipesAPIHandler(GalleryAccess, APIHandler):
    async def prepare(self) -> None:
        await super().prepare()
        await self.require_approved()

    @property
    def max_bytes(self) -> int:
        return self.settings.get("recipe_max_bytes", DEFAULT_MAX_BYTES)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, CredentialsFoundError):
            self.set_header("Content-Type", "application/json")
            return self.finish(json.dumps({"error": exc.log_message, "field": exc.field,
                                           "credentials": [f.as_json() for f in exc.findings]}))
        super().write_error(status_code, **kwargs)

    def publish_request(self) -> RecipePublish:
        if len(self.request.body) > 2 * self.max_bytes + 100_000:
            raise FieldError("notebook", f"The request is {len(self.request.body):,} bytes; a recipe may be at most "
                                         f"{self.max_bytes:,} bytes. Clear the notebook's outputs, or split it.")
        try:
            return RecipePublish.check(self.body())
        except FieldInvalid as err:
            raise FieldError(err.field, str(err)) from None

    def checked_recipe(self, request: RecipePublish) -> tuple[dict[str, Any], str, dict[str, Any]]:
        """(the agent definition, the notebook as stored, the notebook) or a 400 naming what to fix."""
        try:
            notebook = shared_notebook(request.notebook, keep_outputs=request.outputs == "kept")
            text = notebook_text(notebook, self.max_bytes)
            agent = recipe_agent(request, notebook, self.settings["models"])
            unconfirmed_credentials(request, notebook)
        except CredentialsFound as err:
            raise CredentialsFoundError(err) from None
        except FieldInvalid as err:
            raise FieldError(err.field, str(err)) from None
        return agent, text, notebook


class CredentialsFoundError(FieldError):
    def __init__(self, found: CredentialsFound) -> None:
        super().__init__(found.field, str(found))
        self.findings = found.findings


class RecipesAPI(RecipesAPIHandler):
    async def get(self) -> None:
        """The gallery: ``q`` (words), ``tag``, ``limit``; ``mine=1`` for the caller's own, published or not."""
        if self.get_query_argument("mine", "0") in ("1", "true", "yes"):
            return self.send([recipe_json(r) for r in await self.store.recipes.by_author(self.email)])
        query = self.get_query_argument("q", "")
        tag = self.get_query_argument("tag", "")
        limit = self.get_query_argument("limit", "50")
        if len(query) > 200:
            raise FieldError("q", "q may be at most 200 characters: search with fewer words.")
        if len(tag) > RECIPE_LIMITS["tag"]:
            raise FieldError("tag", f"tag may be at most {RECIPE_LIMITS['tag']} characters.")
        if not (limit.isascii() and limit.isdigit() and len(limit) <= 3) or not 1 <= int(limit) <= 200:
            raise FieldError("limit", "limit must be a whole number of recipes from 1 to 200.")
        found = await self.store.recipes.gallery(tag=tag or None, query=query or None, limit=int(limit))
        self.send([recipe_json(r) for r in found])

    async def post(self) -> None:
        request = self.publish_request()
        if request.version is not None:
            raise FieldError("version", "'version' is for a new version of a recipe (PUT /api/recipes/<id>): "
                                        "leave it out when publishing a new recipe.")
        agent, text, _ = self.checked_recipe(request)
        person = await self.store.get_person(self.email)
        recipe = Recipe(id=uuid.uuid4().hex, author=self.email, author_name=author_name(person, self.email),
                        title=request.title, description=request.description, tags=list(dict.fromkeys(request.tags)),
                        agent=agent, outputs_kept=request.outputs == "kept")
        recipe = await self.store.recipes.publish(recipe, text)
        log.info("%s published recipe %s (%d bytes)", self.email, recipe.id, recipe.notebook_bytes)
        self.set_header("Location", self.url(f"api/recipes/{recipe.id}"))
        self.set_header("ETag", f'"{recipe.version}"')
        self.send(recipe_json(recipe), 201)


class RecipeAPI(RecipesAPIHandler):
    async def get(self, recipe_id: str) -> None:
        recipe = await self.visible_recipe(recipe_id)
        self.set_header("ETag", f'"{recipe.version}"')
        self.send(recipe_json(recipe))

    async def put(self, recipe_id: str) -> None:
        """A new version: the notebook and its description as the author shares them now."""
        recipe = await self.own_recipe(recipe_id)
        request = self.publish_request()
        expected = request.version
        match = self.request.headers.get("If-Match", "").strip().strip('"')
        if expected is None and match:
            if not (match.isascii() and match.isdigit() and len(match) <= 9):
                raise FieldError("If-Match", 'If-Match must be the version you loaded, as the ETag gives it ("3").')
            expected = int(match)
        agent, text, _ = self.checked_recipe(request)
        changes = {"title": request.title, "description": request.description, "agent": agent,
                   "tags": list(dict.fromkeys(request.tags)), "outputs_kept": request.outputs == "kept"}
        try:
            updated = await self.store.recipes.publish_version(recipe.id, changes, text, expected_version=expected)
        except Conflict:
            raise web.HTTPError(409, f"This recipe was published again meanwhile: it is past version {expected}. "
                                     "Reload it and publish your version again.") from None
        log.info("%s published version %d of recipe %s", self.email, updated.version, updated.id)
        self.set_header("ETag", f'"{updated.version}"')
        self.send(recipe_json(updated))

    async def patch(self, recipe_id: str) -> None:
        recipe = await self.own_recipe(recipe_id)
        try:
            change = RecipeStatusChange.check(self.body())
        except FieldInvalid as err:
            raise FieldError(err.field, str(err)) from None
        updated = await self.store.recipes.set_status(recipe.id, RecipeStatus(change.status))
        log.info("%s set recipe %s %s", self.email, recipe.id, change.status)
        self.send(recipe_json(updated))

    async def delete(self, recipe_id: str) -> None:
        recipe = await self.visible_recipe(recipe_id)
        if not self.is_admin:
            raise web.HTTPError(403, "Only JupyterHub admins remove recipes; as the author, unpublish it "
                                     "(PATCH with {\"status\": \"unpublished\"}).")
        await self.store.recipes.remove(recipe.id)
        log.info("%s removed recipe %s of %s", self.email, recipe.id, recipe.author)
        self.set_status(204)
        self.finish()


class RecipeNotebookAPI(RecipesAPIHandler):
    async def get(self, recipe_id: str) -> None:
        """The notebook of the current version, or of ``version``: what an import copies."""
        recipe = await self.visible_recipe(recipe_id)
        version = self.get_query_argument("version", str(recipe.version))
        if not (version.isascii() and version.isdigit() and len(version) <= 9) or int(version) < 1:
            raise FieldError("version", "version must be a whole number from 1.")
        text = await self.store.recipes.notebook(recipe.id, int(version))
        if text is None:
            raise web.HTTPError(404, f"This recipe has no version {version}; it is at version {recipe.version}.")
        self.set_header("Content-Type", "application/json")
        self.finish(text)


class RecipeCounterAPI(RecipesAPIHandler):
    counter: Counter

    async def post(self, recipe_id: str) -> None:
        """Count an import (a person's server copied the recipe) or a run of it."""
        recipe = await self.visible_recipe(recipe_id)
        self.send(recipe_json(await self.store.recipes.count(recipe.id, self.counter)))


class RecipeImportsAPI(RecipeCounterAPI):
    counter = Counter.IMPORTS


class RecipeRunsAPI(RecipeCounterAPI):
    counter = Counter.RUNS


# -- pages ------------------------------------------------------------------------------------
class GalleryPage(GalleryAccess, PageHandler):
    def render_page(self, template: str, **context: Any) -> None:
        self.set_header("Content-Security-Policy", PREVIEW_POLICY)
        super().render_page(template, gallery_url=self.url("recipes"), **context)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Overrides tornado's bare error page: a refusal says why, in the page's language, and where to go."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if status_code not in (400, 403, 404) or self.current_user is None:
            return super().write_error(status_code, **kwargs)
        self.render_page("gallery_refused.html", status=status_code,
                         reason=getattr(exc, "log_message", None) or self._reason)

    def import_url(self, recipe: Recipe) -> str:
        # The person's own server, wherever it runs: the hub redirects there (and starts it first if need be).
        return f"/hub/user-redirect/recipes/import?recipe={recipe.id}"


# The Run form leads to the person's own server (the hub starts it first if need be): with their copy of the
# recipe there, its Run page; without one, using the recipe first (agents_extension/server/gallery.py).
RUN_URL = "/hub/user-redirect/recipes/run"


def run_form_fields(notebook_text: str) -> dict[str, str] | None:
    """The recipe's parameters and their defaults as the Run form's fields show them; None when its
    parameters cell cannot be read (the form is left out, the recipe can still be used)."""
    try:
        declared = declared_parameters(nbformat.reads(notebook_text, as_version=4))
    except (ParameterError, ValueError, KeyError, TypeError):
        return None
    return {name: ("true" if value else "false") if isinstance(value, bool) else str(value)
            for name, value in declared.items()}


GALLERY_PAGE_SIZE = 60  # recipes on one page of the gallery; "Older recipes" leads to the next


class GalleryListPage(GalleryPage):
    @web.authenticated
    async def get(self) -> None:
        await self.require_approved()
        query = self.get_query_argument("q", "")[:200]
        tag = self.get_query_argument("tag", "")[:RECIPE_LIMITS["tag"]]
        page = self.get_query_argument("page", "1")
        if not (page.isascii() and page.isdigit() and 1 <= int(page) <= 1000):
            raise web.HTTPError(400, "The gallery's page must be a whole number from 1 to 1000: follow the "
                                     "page's own Older recipes link.")
        page = int(page)
        # Newest first; a page further on reads the pages before it too (the gallery is read from the top).
        found = await self.store.recipes.gallery(query=query or None, tag=tag or None,
                                                 limit=GALLERY_PAGE_SIZE * page + 1)
        recipes = found[GALLERY_PAGE_SIZE * (page - 1):GALLERY_PAGE_SIZE * page]
        mine = await self.store.recipes.by_author(self.email)
        tags = sorted({t for r in found for t in r.tags} | ({tag} if tag else set()), key=str.casefold)
        self.render_page("gallery.html", recipes=recipes, mine=mine, query=query, tag=tag, tags=tags,
                         page=page, older=len(found) > GALLERY_PAGE_SIZE * page,
                         import_url=self.import_url, share_url="/hub/user-redirect/recipes/share")


class RecipePage(GalleryPage):
    @web.authenticated
    async def get(self, recipe_id: str, message: str = "") -> None:
        await self.require_approved()
        recipe = await self.visible_recipe(recipe_id)
        text = await self.store.recipes.notebook(recipe.id) or "{}"
        notebook = json.loads(text)
        self.render_page("recipe.html", recipe=recipe, cells=preview(notebook), message=message,
                         import_url=self.import_url(recipe), is_author=recipe.author == self.email,
                         parameters=run_form_fields(text), run_url=RUN_URL)

    @web.authenticated
    async def post(self, recipe_id: str) -> None:
        """The author's unpublish / publish again, the admin's remove."""
        await self.require_approved()
        _ = translations(self.language).gettext
        action = self.form_value("action")
        if action == "remove":
            recipe = await self.visible_recipe(recipe_id)
            if not self.is_admin:
                raise web.HTTPError(403, "Only JupyterHub admins remove recipes.")
            await self.store.recipes.remove(recipe.id)
            log.info("%s removed recipe %s of %s", self.email, recipe.id, recipe.author)
            return self.redirect(self.url("recipes"))
        if action not in ("unpublish", "publish"):
            raise web.HTTPError(400, "The form's action must be unpublish, publish or remove: send it from the page.")
        recipe = await self.own_recipe(recipe_id)
        status = RecipeStatus.UNPUBLISHED if action == "unpublish" else RecipeStatus.PUBLISHED
        await self.store.recipes.set_status(recipe.id, status)
        await self.get(recipe_id, message=_("Unpublished: only you see this recipe now.") if action == "unpublish"
                       else _("Published again: everyone in the beta sees it in the gallery."))
