"""The OpenAPI document of the agents service's REST API (served at api/openapi.json)."""

from __future__ import annotations

from typing import Any

from . import agent_fields as limits

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    meaning = {400: "Bad input; `field` names the field", 403: "Not signed in, or not allowed",
               404: "No such record (or not yours)", 409: "Clashes with what is stored",
               502: "JupyterHub could not carry out the change"}
    return {str(code): _json(ERROR, meaning[code]) for code in codes}


def _agent_schemas(models: tuple[str, ...]) -> dict[str, Any]:
    """Agent, AgentInput, Usage and Session, with the limits the service checks."""
    low, high = limits.MAX_TURNS
    tools = {"type": "array", "maxItems": limits.TOOLS_MAX,
             "items": {"type": "string", "minLength": 1, "maxLength": limits.TOOL_MAX},
             "description": "Tools in Claude Code's rule syntax, e.g. \"Read\", \"Bash(ls:*)\""}
    editable = {
        "name": {"type": "string", "minLength": 1, "maxLength": limits.NAME_MAX,
                 "description": "Unique among your agents, ignoring case; surrounding spaces are trimmed"},
        "description": {"type": "string", "maxLength": limits.DESCRIPTION_MAX, "default": ""},
        "instructions": {"type": "string", "maxLength": limits.INSTRUCTIONS_MAX, "default": "",
                         "description": "Appended to Claude Code's system prompt (the agent's CLAUDE.md)"},
        "model": {"type": "string", "enum": list(models), "nullable": True, "default": None,
                  "description": "null: Claude Code's default model (the list is the OMA_MODELS setting)"},
        "permission_mode": {"type": "string", "enum": list(limits.PERMISSION_MODES), "default": "default"},
        "allowed_tools": {**tools, "default": []},
        "disallowed_tools": {**tools, "default": []},
        "max_turns": {"type": "integer", "minimum": low, "maximum": high, "nullable": True, "default": None,
                      "description": "Model turns allowed per cell; null: no limit"},
        "max_budget_usd": {"type": "number", "exclusiveMinimum": True, "minimum": 0,
                           "maximum": limits.MAX_BUDGET_USD, "nullable": True, "default": None,
                           "description": "Spending limit per cell in US dollars; null: no limit"},
        "status": {"type": "string", "enum": list(limits.STATUSES), "default": "draft",
                   "description": "A paused agent's kernel refuses new turns"},
    }
    version = {"type": "integer", "minimum": 1, "description": "Grows by one with every change"}
    stamp = {"type": "string", "format": "date-time", "readOnly": True}
    count = {"type": "integer", "minimum": 0}
    return {
        "AgentInput": {
            "type": "object", "required": ["name"], "additionalProperties": False, "properties": {
                **editable, "version": {**version, "description": "PUT/PATCH: the version you loaded; "
                                                                 "a stale one is refused with 409 (or send If-Match)"}},
            "description": "POST and PUT: missing fields take their defaults. PATCH: only the fields given "
                           "(name not required).",
        },
        "Usage": {"type": "object", "properties": {
            "sessions": count, "turns": count, "input_tokens": count, "output_tokens": count,
            "cost_usd": {"type": "number", "minimum": 0},
            "last_used_at": {"type": "string", "format": "date-time", "nullable": True}}},
        "Agent": {"type": "object", "required": ["id", "owner", "name", "slug", "version", "status"], "properties": {
            "id": {"type": "string", "readOnly": True},
            "owner": {"type": "string", "readOnly": True, "description": "The owner's e-mail address"},
            "slug": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$", "maxLength": limits.SLUG_MAX, "readOnly": True,
                     "description": "Folder name derived from the name (~/agents/<slug>, kernelspec claude-<slug>)"},
            **editable, "version": {**version, "readOnly": True},
            "created_at": stamp, "updated_at": stamp,
            "usage": {"allOf": [{"$ref": "#/components/schemas/Usage"}], "readOnly": True}}},
        "Session": {"type": "object", "required": ["session_id", "agent_id"], "properties": {
            "session_id": {"type": "string", "pattern": limits.SESSION_ID.pattern},
            "agent_id": {"type": "string", "description": "One of your agents"},
            "owner": {"type": "string", "readOnly": True},
            "notebook": {"type": "string", "maxLength": limits.NOTEBOOK_MAX, "default": ""},
            "turns": {**count, "default": 0, "description": "The session's total so far (not a delta)"},
            "input_tokens": {**count, "default": 0}, "output_tokens": {**count, "default": 0},
            "cost_usd": {"type": "number", "minimum": 0, "default": 0},
            "status": {"type": "string", "enum": list(limits.SESSION_STATUSES), "default": "active"},
            "created_at": stamp, "updated_at": stamp}},
    }


def _agent_paths() -> dict[str, Any]:
    agent, agents = {"$ref": "#/components/schemas/Agent"}, {"type": "array", "items": {"$ref": "#/components/schemas/Agent"}}
    session = {"$ref": "#/components/schemas/Session"}
    agent_input = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AgentInput"}}}}
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
            "post": {"summary": "Create an agent (people approved for the beta, and admins)", "requestBody": agent_input,
                     "responses": {"201": {**_json(agent, "Created, at version 1"), "headers": {
                         "Location": {"schema": {"type": "string"}, "description": "The agent's URL"}, **etag}},
                         **_errors(400, 403, 409)}},
        },
        "/api/agents/{agent_id}": {
            "parameters": [agent_id],
            "get": {"summary": "One of your agents, with its usage",
                    "responses": {"200": {**_json(agent, "The agent"), "headers": etag}, **_errors(403, 404)}},
            "put": {"summary": "Replace every editable field (missing ones take their defaults; a new name, "
                               "a new slug)", "parameters": [if_match], "requestBody": agent_input, "responses": changed},
            "patch": {"summary": "Change the fields given", "parameters": [if_match], "requestBody": agent_input,
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
            "requestBody": {"required": True, "content": {"application/json": {"schema": session}}},
            "responses": {"200": _json(session, "The session as stored"), **_errors(400, 403, 404)}}},
        "/api/agent-options": {"get": {
            "summary": "What an agent form may offer: models, permission modes, statuses, limits",
            "responses": {"200": {"description": "Choices and limits", "content": {"application/json": {}}},
                          **_errors(403)}}},
    }


def openapi_document(prefix: str, models: tuple[str, ...] = limits.DEFAULT_MODELS) -> dict[str, Any]:
    person = {"$ref": "#/components/schemas/Person"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "oh-my-agent agents service",
            "version": "1",
            "description": "Beta access, agents, and their Claude sessions and usage. "
                           "Authenticate with a JupyterHub token: `Authorization: token <token>`. "
                           "Calls made with the browser's sign-in cookie instead need the `_xsrf` cookie's value "
                           "in an `X-XSRFToken` header (changes always, reads when the browser says "
                           "`Sec-Fetch-Mode: cors`). Admin calls need a credential with JupyterHub's "
                           "`admin-ui` scope: an admin's browser sign-in or personal token, not a user "
                           "server's token. Text fields refuse control characters (400 naming the field).",
        },
        "servers": [{"url": prefix.rstrip("/")}],
        "components": {
            "securitySchemes": {"jupyterhubToken": {"type": "apiKey", "in": "header", "name": "Authorization"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {
                    "error": {"type": "string"}, "field": {"type": "string"}}},
                "Application": {"type": "object", "properties": {
                    "name": {"type": "string"}, "purpose": {"type": "string"},
                    "organisation": {"type": "string"}, "language": {"type": "string", "enum": ["en", "ko"]},
                    "applied_at": {"type": "string", "format": "date-time", "nullable": True}}},
                "Decision": {"type": "object", "properties": {
                    "status": {"type": "string", "enum": ["approved", "rejected"]}, "by": {"type": "string"},
                    "note": {"type": "string"}, "at": {"type": "string", "format": "date-time", "nullable": True}}},
                "Person": {"type": "object", "required": ["email", "beta_status"], "properties": {
                    "email": {"type": "string"},
                    "beta_status": {"type": "string", "enum": ["none", "pending", "approved", "rejected"]},
                    "application": {"allOf": [{"$ref": "#/components/schemas/Application"}], "nullable": True},
                    "decision": {"allOf": [{"$ref": "#/components/schemas/Decision"}], "nullable": True},
                    "admin": {"type": "boolean"}}},
                "OutboxMessage": {"type": "object", "properties": {
                    "id": {"type": "string"}, "to": {"type": "array", "items": {"type": "string"}},
                    "subject": {"type": "string"}, "event": {"type": "string"},
                    "status": {"type": "string", "enum": ["pending", "sent", "failed"]},
                    "attempts": {"type": "integer"}}},
                **_agent_schemas(models),
            },
        },
        "security": [{"jupyterhubToken": []}],
        "paths": {
            "/api/me": {"get": {"summary": "Who you are and where your beta application stands",
                                "responses": {"200": _json(person, "You"), **_errors(403)}}},
            "/api/beta/applications": {
                "get": {"summary": "List people by beta status (admins)",
                        "parameters": [{"name": "status", "in": "query", "schema": {
                            "type": "string", "enum": ["none", "pending", "approved", "rejected"]}}],
                        "responses": {"200": _json({"type": "array", "items": person}, "People"), **_errors(400, 403)}},
                "post": {"summary": "Apply for the beta",
                         "requestBody": {"required": True, "content": {"application/json": {"schema": {
                             "type": "object", "required": ["name", "purpose"], "properties": {
                                 "name": {"type": "string", "maxLength": 120},
                                 "purpose": {"type": "string", "maxLength": 2000},
                                 "organisation": {"type": "string", "maxLength": 200},
                                 "language": {"type": "string", "enum": ["en", "ko"]}}}}}},
                         "responses": {"201": _json(person, "Application recorded; e-mails queued"), **_errors(400, 403, 409)}},
            },
            "/api/beta/applications/{email}": {"get": {
                "summary": "One application (yours, or anyone's for admins)",
                "parameters": [{"name": "email", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json(person, "The application"), **_errors(403, 404)}}},
            "/api/beta/decisions": {"post": {
                "summary": "Approve or reject one or many people (admins). Only a change of status is "
                           "recorded and mailed; rejecting someone approved stops their running server; "
                           "rejecting someone who never applied mails nothing",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["emails", "decision"], "properties": {
                        "emails": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                        "decision": {"type": "string", "enum": ["approve", "reject"]},
                        "note": {"type": "string", "maxLength": 2000}}}}}},
                "responses": {"200": _json({"type": "array", "items": person}, "Decided"), **_errors(400, 403, 404, 502)}}},
            "/api/outbox": {"get": {"summary": "Queued and sent e-mails, newest first (admins)",
                                    "responses": {"200": _json({"type": "array", "items": {
                                        "$ref": "#/components/schemas/OutboxMessage"}}, "Messages"), **_errors(403)}}},
            **_agent_paths(),
            "/api/openapi.json": {"get": {"summary": "This document", "security": [],
                                          "responses": {"200": {"description": "OpenAPI 3 document"}}}},
        },
    }
