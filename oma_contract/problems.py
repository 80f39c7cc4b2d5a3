"""How a value that breaks the contract is told to the person who sent it.

Every model of the contract derives from ``Contract``; ``Contract.check`` turns
pydantic's first complaint into ``FieldInvalid``: the field it is about and one
sentence a person can act on ("'name' is 81 characters long: at most 80 are
allowed."). The service answers it as a 400 ``{"error", "field"}``, the pages
show it beside the form, the kernel prints it under the cell.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError


class FieldInvalid(ValueError):
    """One field of a request cannot be used; ``field`` names it ("" for the whole body)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def json_object(body: bytes | str | None, shape: str = "") -> dict[str, Any]:
    """A request's body as the JSON object it must be (an empty body is ``{}``), or FieldInvalid("")
    saying what is wrong with it; ``shape`` (such as ``{"path": ...}``) shows what was expected. Every
    handler that reads a JSON body reads it here: nested deeper than Python's parser goes is bad JSON
    too, not a server error (issue 9). A string may still hold a lone surrogate (valid JSON, not text):
    the contract's models refuse it field by field (``string_unicode``), ``text.lone_surrogate_in``
    finds it for a body no model checks."""
    wanted = f" such as {shape}" if shape else ""
    try:
        data = json.loads(body or b"{}")
    except RecursionError:  # the parser's own limit: about a thousand levels
        raise FieldInvalid("", "The request body must be JSON nested at most a few hundred levels deep; "
                               f"this one is nested deeper. Send a JSON object{wanted}.") from None
    except UnicodeDecodeError:
        raise FieldInvalid("", f"The request body must be JSON in UTF-8; this one is not UTF-8. Send a JSON "
                               f"object{wanted}.") from None
    except json.JSONDecodeError as err:
        raise FieldInvalid("", f"The request body must be JSON; this one is not ({err.msg}, line {err.lineno} "
                               f"column {err.colno}). Send a JSON object{wanted}.") from None
    if not isinstance(data, dict):
        kind = {list: "a list", str: "a string", bool: "true or false", type(None): "null"}.get(type(data), "a number")
        raise FieldInvalid("", f"The request body must be a JSON object{wanted}, not {kind}.")
    return data


class Contract(BaseModel):
    """A document of the contract. Subclasses say what they are (``noun``), what each field must
    be in a person's words (``rules``: "name" for the field, "allowed_tools.entry" for one entry
    of a list) and which fields the service sets (``read_only``)."""

    model_config = ConfigDict(extra="forbid")

    noun: ClassVar[str] = "request"
    rules: ClassVar[dict[str, str]] = {}
    read_only: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def check(cls, data: Any, *, context: dict[str, Any] | None = None):
        """The model for ``data`` (a parsed JSON value), or FieldInvalid for its first problem."""
        try:
            return cls.model_validate(data, context=context)
        except ValidationError as err:
            raise cls.problem(err.errors()[0]) from None

    @classmethod
    def problem(cls, error: Any) -> FieldInvalid:
        """The FieldInvalid for one of pydantic's error dicts."""
        loc = error.get("loc", ())
        if not loc:
            return FieldInvalid("", f"The request body must be a JSON object of {cls.noun} fields.")
        field = str(loc[0])
        entry = next((part for part in loc[1:] if isinstance(part, int)), None)
        where = f"'{field}'" + (f" entry {entry + 1}" if entry is not None else "")
        rule = cls.rules.get(f"{field}.entry" if entry is not None else field)
        kind, ctx = error["type"], error.get("ctx") or {}
        if kind == "extra_forbidden":
            if field in cls.read_only:
                return FieldInvalid(field, f"'{field}' is set by the service, not by you: leave it out of the request.")
            names = ", ".join(name for name in cls.model_fields if name not in cls.read_only)
            return FieldInvalid(field, f"'{field}' is not {_a(cls.noun)} field. The fields are: {names}.")
        if kind == "missing":
            return FieldInvalid(field, f"'{field}' is required: " + (f"it must be {rule}." if rule else "send it."))
        if kind == "string_too_long":
            return FieldInvalid(field, f"{where} is {len(error['input']):,} characters long: "
                                       f"at most {ctx['max_length']:,} are allowed.")
        if kind == "too_long":
            return FieldInvalid(field, f"{where} has {ctx.get('actual_length', len(error['input']))} entries: "
                                       f"at most {ctx['max_length']} are allowed.")
        if kind == "string_too_short" and ctx.get("min_length") == 1:
            return FieldInvalid(field, f"{where} is empty" + (f": it must be {rule}." if rule else "."))
        if kind == "string_unicode":
            return FieldInvalid(field, f"{where} holds a lone surrogate (U+D800 to U+DFFF), which is not text: "
                                       "send it as UTF-8 text.")
        if kind in TEXT_PROBLEMS or kind.startswith("contract_"):
            return FieldInvalid(field, f"{where} {error['msg']}.")
        if rule:
            return FieldInvalid(field, f"{where} must be {rule}.")
        return FieldInvalid(field, f"{where}: {error['msg']}.")


# Complaints of the contract's own validators, worded to follow the field's name.
TEXT_PROBLEMS = frozenset({"text_control", "text_break", "text_invisible", "text_combining", "text_blank"})


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun
