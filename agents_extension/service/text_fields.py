"""The one check of text that people send, by a page form or the REST API: its type, its
length, and no control characters.

Every route checks its text fields here, so a page and the API take exactly the same
input; a bad value raises ``FieldInvalid`` naming the field, with a message a person
can act on, and the route answers 400 with it (``{"error", "field"}`` from the API,
the form shown again from a page) and stores nothing.
"""

from __future__ import annotations

import re
from typing import Any

# NUL, escape sequences and the like have no place in anything a person types (they end up
# in e-mails, pages and agent folders); line breaks and tabs are text in multi-line fields.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class FieldInvalid(ValueError):
    """One field of a request cannot be used; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_text(field: str, value: Any, limit: int, *, one_line: bool, strip: bool = True, required: str = "") -> str:
    """The text as stored (stripped unless ``strip`` is false). ``required``: the message for an
    empty value (empty is allowed when not given)."""
    if not isinstance(value, str):
        raise FieldInvalid(field, f"'{field}' must be text.")
    text = value.strip() if strip else value
    if required and not text.strip():
        raise FieldInvalid(field, required)
    if len(text) > limit:
        raise FieldInvalid(field, f"'{field}' is {len(text):,} characters long: at most {limit:,} are allowed.")
    if one_line and _CONTROL_OR_BREAK.search(text):
        raise FieldInvalid(field, f"'{field}' must be one line, without tabs or control characters.")
    if _CONTROL.search(text):
        raise FieldInvalid(field, f"'{field}' contains control characters (such as NUL): remove them and send it again.")
    return text
