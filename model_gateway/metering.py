"""Reading what a request used from the model's answer, without holding the answer back.

A streamed answer reports its usage twice: ``message_start`` carries the
input side (input, cache-write and cache-read tokens, and a first output
count), each ``message_delta`` the output so far. The meter sees the bytes
as they are passed on and keeps only the incomplete last line of the stream;
the bytes themselves go to the client untouched.
"""

from __future__ import annotations

import json
from typing import Any

from .prices import Usage

USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


class StreamMeter:
    """Fed the SSE bytes of one answer, in whatever pieces they arrive."""

    def __init__(self) -> None:
        self._partial = b""
        self._usage: dict[str, int] = dict.fromkeys(USAGE_FIELDS, 0)
        self.model: str | None = None
        self.stopped = False  # message_stop was seen: the answer is complete
        self.error: dict[str, Any] | None = None  # an ``error`` event in the stream

    def feed(self, chunk: bytes) -> None:
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if line.startswith(b"data:"):
                self._event(line[5:].strip())

    def _event(self, raw: bytes) -> None:
        # Only the few events that carry usage are parsed; text deltas are skipped unread.
        if b'"message_start"' not in raw and b'"message_delta"' not in raw and b'"message_stop"' not in raw \
                and b'"error"' not in raw:
            return
        try:
            event = json.loads(raw)
        except ValueError:
            return
        kind = event.get("type") if isinstance(event, dict) else None
        if kind == "message_start" and isinstance(event.get("message"), dict):
            message = event["message"]
            self.model = message.get("model") if isinstance(message.get("model"), str) else self.model
            self._take(message.get("usage"))
        elif kind == "message_delta":
            self._take(event.get("usage"))
        elif kind == "message_stop":
            self.stopped = True
        elif kind == "error":
            self.error = event.get("error") if isinstance(event.get("error"), dict) else {}

    def _take(self, usage: Any) -> None:
        # Each report is the running total of its fields: the latest one wins.
        if isinstance(usage, dict):
            for field in USAGE_FIELDS:
                if field in usage and usage[field] is not None:
                    self._usage[field] = _count(usage[field])

    @property
    def usage(self) -> Usage:
        return Usage(**self._usage)


def usage_of_message(message: Any) -> Usage:
    """The usage of a whole (not streamed) answer."""
    usage = message.get("usage") if isinstance(message, dict) else None
    if not isinstance(usage, dict):
        return Usage()
    return Usage(**{field: _count(usage.get(field)) for field in USAGE_FIELDS})
