"""The OpenAPI document of the agents service's REST API (served at api/openapi.json).

The paths and operations are written here; every schema of a body is the JSON Schema of a
model of the contract (oma_contract), so the document says exactly what the service checks.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from oma_contract import (
    DEFAULT_MODELS,
    Agent,
    AgentChanges,
    AgentCreate,
    AgentOptions,
    AgentReplace,
    BetaApplicationForm,
    BetaDecisionForm,
    BetaStatus,
    OutboxMessage,
    Person,
    Session,
    SessionReport,
)
from oma_contract.problems import Contract
from oma_contract.usage import AgentSpend, BudgetLimits, LimitChange, MonthReport, MySpend, PersonSpend

ERROR = {"$ref": "#/components/schemas/Error"}
# Request bodies are documented as the service reads them, responses as it writes them.
_INPUTS: tuple[type[BaseModel], ...] = (AgentCreate, AgentReplace, AgentChanges, SessionReport,
                                        BetaApplicationForm, BetaDecisionForm, LimitChange)
_OUTPUTS: tuple[type[BaseModel], ...] = (Agent, AgentOptions, Session, Person, OutboxMessage,
                                         MonthReport, PersonSpend, AgentSpend, MySpend, BudgetLimits)


class Error(Contract):
    """What every refusal answers: the message, and the field it is about (400s)."""

    error: str
    field: str | None = None


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def component_schemas(models: tuple[str, ...]) -> dict[str, Any]:
    """The JSON Schemas of the contract's models, with the models this service offers."""
    _, top = models_json_schema([(m, "validation") for m in _INPUTS] + [(m, "serialization") for m in (*_OUTPUTS, Error)],
                                ref_template="#/components/schemas/{model}")
    schemas = top["$defs"]
    for name in ("AgentCreate", "AgentReplace", "AgentChanges"):
        schemas[name]["properties"]["model"] = {
            "anyOf": [{"type": "string", "enum": list(models)}, {"type": "null"}], "default": None,
            "description": "null (or \"\"): Claude Code's default model; the choices are the OMA_MODELS setting"}
    return schemas


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    meaning = {400: "Bad input; `field` names the field", 403: "Not signed in, or not allowed",
               404: "No such record (or not yours)", 409: "Clashes with what is stored",
               502: "JupyterHub could not carry out the change"}
    return {str(code): _json(ERROR, meaning[code]) for code in codes}


def _agent_paths() -> dict[str, Any]:
    agent, agents = {"$ref": "#/components/schemas/Agent"}, {"type": "array", "items": {"$ref": "#/components/schemas/Agent"}}
    session = _ref(Session)
    def body(model: type[BaseModel]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}

    agent_id = {"name": "agent_id", "in": "path", "required": True, "schema": {"type": "string"}}
    if_match = {"name": "If-Match", "in": "header", "schema": {"type": "string"},
                "description": "The version you loaded, as the ETag gives it (\"3\"); a stale one: 409"}
    etag = {"ETag": {"schema": {"type": "string"}, "description": "The agent's version, quoted"}}
    changed = {"200": {**_json(agent, "The agent as changed (version one higher)"), "headers": etag},
               **_errors(400, 403, 404, 409)}
    return {
        "/api/agents": {
            "get": {"summary": "Your agents with their usage, oldest first (everyone's for admins with all=1)",
                    "parameters": [{"name": "all", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]}}],
                    "responses": {"200": _json(agents, "Agents"), **_errors(400, 403)}},
            "post": {"summary": "Create an agent (people approved for the beta, and admins)", "requestBody": body(AgentCreate),
                     "responses": {"201": {**_json(agent, "Created, at version 1"), "headers": {
                         "Location": {"schema": {"type": "string"}, "description": "The agent's URL"}, **etag}},
                         **_errors(400, 403, 409)}},
        },
        "/api/agents/{agent_id}": {
            "parameters": [agent_id],
            "get": {"summary": "One of your agents, with its usage",
                    "responses": {"200": {**_json(agent, "The agent"), "headers": etag}, **_errors(403, 404)}},
            "put": {"summary": "Replace every editable field (missing ones take their defaults; a new name, "
                               "a new slug)", "parameters": [if_match], "requestBody": body(AgentReplace), "responses": changed},
            "patch": {"summary": "Change the fields given", "parameters": [if_match], "requestBody": body(AgentChanges),
                      "responses": changed},
            "delete": {"summary": "Delete the agent (its session records stay)",
                       "responses": {"204": {"description": "Deleted"}, **_errors(403, 404)}},
        },
        "/api/agents/{agent_id}/sessions": {"get": {
            "summary": "The agent's Claude sessions, newest first", "parameters": [agent_id],
            "responses": {"200": _json({"type": "array", "items": session}, "Sessions"), **_errors(403, 404)}}},
        "/api/sessions": {"post": {
            "summary": "Report a Claude session of one of your agents (the kernel does): created or updated by "
                       "session_id, with the session's totals so far. A session belongs to the person and agent "
                       "of its first report: a report for a session id of anyone else's, or of another agent, "
                       "is a 404 and changes nothing",
            "requestBody": body(SessionReport),
            "responses": {"200": _json(session, "The session as stored"), **_errors(400, 403, 404)}}},
        "/api/agent-options": {"get": {
            "summary": "What an agent form may offer: models, permission modes, statuses, limits",
            "responses": {"200": _json(_ref(AgentOptions), "Choices and limits"), **_errors(403)}}},
    }


def _usage_paths() -> dict[str, Any]:
    """The usage API (usage_api.py): month figures and the admins' limits."""
    month = {"name": "month", "in": "query", "schema": {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"},
             "description": "A calendar month in UTC, YYYY-MM; absent: this month"}
    limits = _json(_ref(BudgetLimits), "All the limits as they are now")
    limit_body = {"required": True, "content": {"application/json": {"schema": _ref(LimitChange)}}}
    email = {"name": "email", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "The person's e-mail address (their JupyterHub user name)"}

    def admin_read(summary: str, schema: dict[str, Any], what: str) -> dict[str, Any]:
        return {"get": {"summary": summary, "parameters": [month],
                        "responses": {"200": _json(schema, what), **_errors(400, 403)}}}

    return {
        "/api/usage": admin_read("A month's usage: totals, by person, by agent, the limits and the months with "
                                 "usage (admins)", _ref(MonthReport), "The month"),
        "/api/usage/people": admin_read("A month's usage by person, the biggest spender first, with the limit "
                                        "that applies to each (admins)",
                                        {"type": "array", "items": _ref(PersonSpend)}, "People"),
        "/api/usage/agents": admin_read("A month's usage by agent, the biggest spender first (admins)",
                                        {"type": "array", "items": _ref(AgentSpend)}, "Agents"),
        "/api/usage/months": {"get": {"summary": "The months with recorded usage, newest first (admins)",
                                      "responses": {"200": _json({"type": "array", "items": {"type": "string"}},
                                                                 "Months, YYYY-MM"), **_errors(403)}}},
        "/api/usage/me": {"get": {"summary": "Your month: your spend and limit, your agents' spend and limits",
                                  "parameters": [month],
                                  "responses": {"200": _json(_ref(MySpend), "Your month"), **_errors(400, 403)}}},
        "/api/usage/limits": {"get": {"summary": "The monthly limits admins set (admins)",
                                      "responses": {"200": limits, **_errors(403)}}},
        "/api/usage/limits/default": {"put": {
            "summary": "Set the default monthly limit per person, in US dollars; null: no limit (admins)",
            "requestBody": limit_body, "responses": {"200": limits, **_errors(400, 403)}}},
        "/api/usage/limits/hub": {"put": {
            "summary": "Set the monthly limit of the whole hub, in US dollars; null: no limit (admins)",
            "requestBody": limit_body, "responses": {"200": limits, **_errors(400, 403)}}},
        "/api/usage/limits/people/{email}": {
            "parameters": [email],
            "put": {"summary": "Set one person's monthly limit, in place of the default; null: no limit for them "
                               "(admins)", "requestBody": limit_body, "responses": {"200": limits, **_errors(400, 403)}},
            "delete": {"summary": "Remove one person's limit: the default applies to them again (admins)",
                       "responses": {"200": limits, **_errors(400, 403)}},
        },
    }


def _recipe_paths() -> dict[str, Any]:
    """The recipe gallery (gallery.py): open to people approved for the beta, and admins."""
    from .recipe_input import RecipePublish, RecipeStatusChange

    recipe = {"$ref": "#/components/schemas/Recipe"}
    recipe_id = {"name": "recipe_id", "in": "path", "required": True, "schema": {"type": "string"}}
    etag = {"ETag": {"schema": {"type": "string"}, "description": "The recipe's version, quoted"}}
    refused = {"400": _json({"allOf": [ERROR, {"type": "object", "properties": {"credentials": {
        "type": "array", "items": {"$ref": "#/components/schemas/CredentialFinding"}}}}]},
        "Bad input; `field` names the field. When values look like credentials, `credentials` lists them "
        "(masked, with the fingerprint to confirm one is not a credential)")}

    def body(model: type[BaseModel]) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}

    def counter(what: str) -> dict[str, Any]:
        return {"post": {"summary": f"Count one {what} of the recipe (a person's server does)", "parameters": [recipe_id],
                         "responses": {"200": _json(recipe, "The recipe, counted"), **_errors(403, 404)}}}

    return {
        "/api/recipes": {
            "get": {"summary": "The gallery: published recipes, newest version first; `q` words each begin a word of "
                               "the recipe, `tag` ignores case; `mine=1`: your own, published or not",
                    "parameters": [{"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                                   {"name": "tag", "in": "query", "schema": {"type": "string", "maxLength": 30}},
                                   {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                               "maximum": 200, "default": 50}},
                                   {"name": "mine", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]}}],
                    "responses": {"200": _json({"type": "array", "items": recipe}, "Recipes"), **_errors(400, 403)}},
            "post": {"summary": "Share a notebook as a recipe: checked (nbformat 4, size, agent, credentials) before "
                                "anything is stored", "requestBody": body(RecipePublish),
                     "responses": {"201": {**_json(recipe, "Published, at version 1"), "headers": {
                         "Location": {"schema": {"type": "string"}, "description": "The recipe's URL"}, **etag}},
                         **refused, **_errors(403)}},
        },
        "/api/recipes/{recipe_id}": {
            "parameters": [recipe_id],
            "get": {"summary": "One recipe (published, or your own)",
                    "responses": {"200": {**_json(recipe, "The recipe"), "headers": etag}, **_errors(403, 404)}},
            "put": {"summary": "Publish a new version (the author)", "requestBody": body(RecipePublish),
                    "parameters": [{"name": "If-Match", "in": "header", "schema": {"type": "string"},
                                    "description": "The version you are replacing; a stale one: 409"}],
                    "responses": {"200": {**_json(recipe, "The new version"), "headers": etag}, **refused,
                                  **_errors(403, 404, 409)}},
            "patch": {"summary": "Unpublish, or publish again (the author)", "requestBody": body(RecipeStatusChange),
                      "responses": {"200": _json(recipe, "The recipe"), **_errors(400, 403, 404)}},
            "delete": {"summary": "Remove the recipe and all its versions (admins)",
                       "responses": {"204": {"description": "Removed"}, **_errors(403, 404)}},
        },
        "/api/recipes/{recipe_id}/notebook": {"get": {
            "summary": "A version's notebook (the current one unless `version`): what an import copies",
            "parameters": [recipe_id, {"name": "version", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
            "responses": {"200": _json({"type": "object"}, "The .ipynb JSON"), **_errors(400, 403, 404)}}},
        "/api/recipes/{recipe_id}/imports": counter("import"),
        "/api/recipes/{recipe_id}/runs": counter("run"),
    }


def _recipe_schemas() -> dict[str, Any]:
    from .recipe_input import RecipePublish, RecipeStatusChange

    _, top = models_json_schema([(RecipePublish, "validation"), (RecipeStatusChange, "validation")],
                                ref_template="#/components/schemas/{model}")
    schemas = top["$defs"]
    text = {"type": "string"}
    schemas["Recipe"] = {"type": "object", "properties": {
        "id": text, "author": {**text, "description": "The author's e-mail address"}, "author_name": text,
        "title": text, "description": text, "tags": {"type": "array", "items": text},
        "agent": {"type": "object", "description": "The agent definition the recipe brings"},
        "outputs_kept": {"type": "boolean"}, "notebook_bytes": {"type": "integer"}, "version": {"type": "integer"},
        "status": {"type": "string", "enum": ["published", "unpublished"]}, "imports": {"type": "integer"},
        "runs": {"type": "integer"}, "created_at": {"type": ["string", "null"]}, "updated_at": {"type": ["string", "null"]}},
        "required": ["id", "author", "title", "version", "status"]}
    schemas["CredentialFinding"] = {"type": "object", "properties": {
        "kind": text, "where": text, "masked": text, "fingerprint": text}}
    return schemas


def openapi_document(prefix: str, models: tuple[str, ...] = DEFAULT_MODELS) -> dict[str, Any]:
    person = _ref(Person)
    email = {"name": "email", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "oh-my-agent agents service",
            "version": "1",
            "description": "Beta access, agents, and their Claude sessions and usage. "
                           "Authenticate with a JupyterHub token: `Authorization: token <token>`. "
                           "Calls made with the browser's sign-in cookie instead need the `_xsrf` cookie's value "
                           "in an `X-XSRFToken` header (changes always, reads when the browser says "
                           "`Sec-Fetch-Mode: cors`). Admin calls need a credential with JupyterHub's "
                           "`admin-ui` scope: an admin's browser sign-in or personal token, not a user "
                           "server's token. Text fields refuse control characters and lone surrogates, names "
                           "also invisible formatting characters (400 naming the field).",
        },
        "servers": [{"url": prefix.rstrip("/")}],
        "components": {
            "securitySchemes": {"jupyterhubToken": {"type": "apiKey", "in": "header", "name": "Authorization"}},
            "schemas": {**component_schemas(models), **_recipe_schemas()},
        },
        "security": [{"jupyterhubToken": []}],
        "paths": {
            "/api/me": {"get": {"summary": "Who you are and where your beta application stands",
                                "responses": {"200": _json(person, "You"), **_errors(403)}}},
            "/api/beta/applications": {
                "get": {"summary": "List people by beta status (admins)",
                        "parameters": [{"name": "status", "in": "query", "schema": {
                            "type": "string", "enum": list(BetaStatus)}}],
                        "responses": {"200": _json({"type": "array", "items": person}, "People"), **_errors(400, 403)}},
                "post": {"summary": "Apply for the beta",
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": _ref(BetaApplicationForm)}}},
                         "responses": {"201": _json(person, "Application recorded; e-mails queued"),
                                       **_errors(400, 403, 409)}},
            },
            "/api/beta/applications/{email}": {"get": {
                "summary": "One application (yours, or anyone's for admins)", "parameters": [email],
                "responses": {"200": _json(person, "The application"), **_errors(400, 403, 404)}}},
            "/api/beta/people/{email}": {"get": {
                "summary": "Where anyone stands with the beta, beta_status none if they never applied (admins; "
                           "the hub's pages ask it)", "parameters": [email],
                "responses": {"200": _json(person, "The person"), **_errors(400, 403)}}},
            "/api/beta/decisions": {"post": {
                "summary": "Approve or reject one or many people (admins). Only a change of status is "
                           "recorded and mailed; rejecting someone approved stops their running server; "
                           "rejecting someone who never applied mails nothing",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(BetaDecisionForm)}}},
                "responses": {"200": _json({"type": "array", "items": person}, "Decided"),
                              **_errors(400, 403, 404, 502)}}},
            "/api/outbox": {"get": {
                "summary": "Queued and sent e-mails, newest first (admins)",
                "parameters": [{"name": "limit", "in": "query", "schema": {
                    "type": "integer", "minimum": 1, "maximum": 10_000, "default": 100}}],
                "responses": {"200": _json({"type": "array", "items": _ref(OutboxMessage)}, "Messages"),
                              **_errors(400, 403)}}},
            **_agent_paths(),
            **_usage_paths(),
            **_recipe_paths(),
            "/api/openapi.json": {"get": {"summary": "This document", "security": [],
                                          "responses": {"200": {"description": "OpenAPI 3 document"}}}},
        },
    }
