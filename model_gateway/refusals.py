"""The gateway's own answers, shaped like Anthropic's errors so Claude Code shows their message.

Claude Code retries 401, 408, 409, 429 and 5xx answers. What retrying
cannot fix is answered 400 or 403, which it does not retry: a used-up budget
and a model outside the allow-list are 400 (as Anthropic answers a used-up
credit balance), an agent that is not the person's 403. A bad token is 401
(the kernel stops at the first 401).
"""

from __future__ import annotations

from aiohttp import web

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
               404: "not_found_error", 413: "request_too_large", 502: "api_error", 503: "api_error"}


def refusal(status: int, message: str, *, kind: str | None = None) -> web.Response:
    body = {"type": "error", "error": {"type": kind or ERROR_TYPES.get(status, "api_error"), "message": message}}
    # x-should-retry is what Anthropic's clients (Claude Code among them) obey before their own rule.
    retry = "true" if status >= 500 else "false"
    return web.json_response(body, status=status, headers={"x-should-retry": retry})
