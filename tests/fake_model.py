"""A scripted stand-in for Anthropic's Messages API.

The real Claude Code CLI talks to it through ``ANTHROPIC_BASE_URL``. A test
queues replies (what the "model" says next): streamed text, tool calls the
CLI then really runs, HTTP errors, slow streams and streams that stall. Every
request the CLI sends is recorded so tests can check what the model was shown.

Run it on its own (for benchmarks) with ``python -m tests.fake_model --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.network import ThreadedApp

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class Reply:
    """One answer of the model to one Messages API request."""

    text: str = ""
    tool_uses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    chunk: int = 4
    delay: float = 0.0
    status: int | None = None
    stall: bool = False
    hold: bool = False
    input_tokens: int = 12
    output_tokens: int = 7
    sticky: bool = False


def say(text: str, *, chunk: int = 4, delay: float = 0.0, input_tokens: int = 12, output_tokens: int = 7) -> Reply:
    """Stream ``text`` in deltas of ``chunk`` characters, ``delay`` seconds apart."""
    return Reply(text=text, chunk=chunk, delay=delay, input_tokens=input_tokens, output_tokens=output_tokens)


def use_tool(name: str, tool_input: dict[str, Any], *, text: str = "") -> Reply:
    """Ask the CLI to run a tool (it sends the result back in the next request)."""
    return Reply(text=text, tool_uses=[(name, tool_input)])


def fail(status: int, *, always: bool = False) -> Reply:
    """Answer with an HTTP error; ``always`` keeps answering it for every request."""
    return Reply(status=status, sticky=always)


def stall(text: str = "") -> Reply:
    """Start streaming (optionally some text), then never finish."""
    return Reply(text=text, stall=True)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header lets the answer be gzipped ("gzip, deflate" does; "identity" and
    "gzip;q=0" do not)."""
    for part in accept_encoding.lower().split(","):
        coding, _, parameters = part.partition(";")
        if coding.strip() in ("gzip", "*"):
            name, _, quality = parameters.partition("=")
            try:
                return name.strip() != "q" or float(quality) > 0
            except ValueError:
                return False
    return False


def hold(text: str = "") -> Reply:
    """Answer a whole (not streamed) request only once released (release_stalls): a model slow to answer."""
    return Reply(text=text, hold=True)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


class FakeModel:
    """The fake API server; start() runs it in a daemon thread on 127.0.0.1."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []  # each request's headers (lower-case names), as it came
        self.paths: list[str] = []  # each request's path and query
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: ThreadedApp | None = None
        self._stalled: list[asyncio.Event] = []
        self.port = 0
        # Gzip answers (whole and streamed) whenever the request's Accept-Encoding allows it, as a real server
        # may; off unless a test turns it on, and off again after reset().
        self.gzip_when_accepted = False

    # -- scripting -----------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def reset(self) -> None:
        self.replies.clear()
        self.requests.clear()
        self.headers.clear()
        self.paths.clear()
        self.gzip_when_accepted = False
        self.release_stalls()

    def release_stalls(self) -> None:
        if self._loop:
            for ev in list(self._stalled):
                self._loop.call_soon_threadsafe(ev.set)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client_environment(self) -> dict[str, str]:
        """What the Claude Code CLI needs in its environment to talk to this fake (and nothing else)."""
        return {"ANTHROPIC_BASE_URL": self.base_url, "ANTHROPIC_API_KEY": "sk-ant-test-key",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}

    def seen(self, request: int = -1) -> str:
        """All the conversation text the model was shown in one recorded request."""
        return "\n".join(_text_of(message) for message in self.requests[request]["messages"])

    # -- serving -------------------------------------------------------------
    def _next_reply(self) -> Reply:
        if not self.replies:
            return say("OK.")
        reply = self.replies[0]
        if not reply.sticky:
            self.replies.popleft()
        return reply

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append({name.lower(): value for name, value in request.headers.items()})
        self.paths.append(request.path_qs)
        reply = self._next_reply()
        if reply.status:
            kind = ERROR_TYPES.get(reply.status, "api_error")
            return web.json_response(
                {"type": "error", "error": {"type": kind, "message": f"fake {kind}"}},
                status=reply.status,
            )
        if not body.get("stream"):
            if reply.hold:
                await self._until_released()
            answer = web.json_response(self._whole_message(body, reply))
            self._compress_if_accepted(request, answer)
            return answer
        return await self._stream(request, body, reply)

    def _compress_if_accepted(self, request: web.Request, answer: web.StreamResponse) -> None:
        if self.gzip_when_accepted and accepts_gzip(request.headers.get("Accept-Encoding", "")):
            answer.enable_compression(web.ContentCoding.gzip)

    def _whole_message(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        if reply.text:
            content.append({"type": "text", "text": reply.text})
        for name, tool_input in reply.tool_uses:
            content.append({"type": "tool_use", "id": f"toolu_{next(self._ids):04d}", "name": name, "input": tool_input})
        return {
            "id": f"msg_{next(self._ids):04d}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "claude"),
            "content": content,
            "stop_reason": "tool_use" if reply.tool_uses else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
        }

    async def _stream(self, request: web.Request, body: dict[str, Any], reply: Reply) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
        self._compress_if_accepted(request, resp)
        await resp.prepare(request)
        await resp.write(_sse("message_start", {
            "type": "message_start",
            "message": {
                "id": f"msg_{next(self._ids):04d}", "type": "message", "role": "assistant",
                "model": body.get("model", "claude"), "content": [], "stop_reason": None,
                "stop_sequence": None, "usage": {"input_tokens": reply.input_tokens, "output_tokens": 1},
            },
        }))
        index = 0
        if reply.text:
            await resp.write(_sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
            for start in range(0, len(reply.text), reply.chunk):
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                piece = reply.text[start:start + reply.chunk]
                await resp.write(_sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}))
            if not reply.stall:
                await resp.write(_sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
            index = 1
        if reply.stall:
            await self._until_released()
            return resp
        for name, tool_input in reply.tool_uses:
            block = {"type": "tool_use", "id": f"toolu_{next(self._ids):04d}", "name": name, "input": {}}
            await resp.write(_sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": block}))
            await resp.write(_sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": json.dumps(tool_input)}}))
            await resp.write(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
            index += 1
        await resp.write(_sse("message_delta", {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use" if reply.tool_uses else "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": reply.output_tokens},
        }))
        await resp.write(_sse("message_stop", {"type": "message_stop"}))
        return resp

    async def _until_released(self) -> None:
        released = asyncio.Event()
        self._stalled.append(released)
        try:
            await released.wait()
        finally:
            self._stalled.remove(released)

    async def _count_tokens(self, request: web.Request) -> web.Response:
        return web.json_response({"input_tokens": 10})

    async def _anything_else(self, request: web.Request) -> web.Response:
        return web.json_response({}, status=404)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/count_tokens", self._count_tokens)
        app.router.add_route("*", "/{tail:.*}", self._anything_else)
        return app

    def start(self, port: int = 0) -> "FakeModel":
        self._server = ThreadedApp(self._app(), "fake-model", handler_cancellation=True)
        self.port = self._server.start(port)
        self._loop = self._server.loop
        return self

    def stop(self) -> None:
        if self._server:
            self.release_stalls()
            self._server.stop()


def _text_of(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if block.get("type") == "text":
            parts.append(block["text"])
        elif block.get("type") == "tool_result":
            inner = block.get("content")
            parts.append(inner if isinstance(inner, str) else json.dumps(inner))
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    model = FakeModel().start(args.port)
    print(model.base_url, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
