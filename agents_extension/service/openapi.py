"""The OpenAPI document of the agents service's REST API (served at api/openapi.json)."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    meaning = {400: "Bad input; `field` names the field", 403: "Not signed in, or not allowed",
               404: "No such record (or not yours)", 409: "Clashes with what is stored",
               502: "JupyterHub could not carry out the change"}
    return {str(code): _json(ERROR, meaning[code]) for code in codes}


def openapi_document(prefix: str) -> dict[str, Any]:
    person = {"$ref": "#/components/schemas/Person"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "oh-my-agent agents service",
            "version": "1",
            "description": "Beta access and (with the agents issue) agents, sessions and usage. "
                           "Authenticate with a JupyterHub token: `Authorization: token <token>`.",
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
                "summary": "Approve or reject one or many people (admins)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["emails", "decision"], "properties": {
                        "emails": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                        "decision": {"type": "string", "enum": ["approve", "reject"]},
                        "note": {"type": "string", "maxLength": 2000}}}}}},
                "responses": {"200": _json({"type": "array", "items": person}, "Decided"), **_errors(400, 403, 404, 502)}}},
            "/api/outbox": {"get": {"summary": "Queued and sent e-mails, newest first (admins)",
                                    "responses": {"200": _json({"type": "array", "items": {
                                        "$ref": "#/components/schemas/OutboxMessage"}}, "Messages"), **_errors(403)}}},
            "/api/openapi.json": {"get": {"summary": "This document", "security": [],
                                          "responses": {"200": {"description": "OpenAPI 3 document"}}}},
        },
    }
