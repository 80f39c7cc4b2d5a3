"""What text people send may hold: its length, and no characters that are not text.

One rule for every text field, by a page form or the REST API alike:
- no control characters (NUL, escape sequences: they end up in e-mails, pages
  and agent folders); line breaks and tabs only in multi-line fields;
- no lone surrogates (``"\\ud800"`` is valid JSON but not text: it cannot be
  written as UTF-8, so storing it would break every later read); pydantic's
  ``str`` refuses them (``string_unicode``);
- in names, no invisible formatting characters (zero-width spaces and joiners,
  bidirectional overrides and isolates, Unicode category Cf): they make a name
  look like another, or show as nothing at all.
"""

from __future__ import annotations

import re
import unicodedata
from functools import partial
from typing import Annotated

from pydantic import AfterValidator, Strict, StringConstraints
from pydantic_core import PydanticCustomError

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BREAK = re.compile(r"[\t\n\r\u2028\u2029]")


def _check(text: str, *, one_line: bool, name: bool) -> str:
    if one_line and _BREAK.search(text):
        raise PydanticCustomError("text_break", "must be one line, without tabs or control characters")
    if _CONTROL.search(text):
        raise PydanticCustomError("text_control", "contains control characters (such as NUL): remove them "
                                                  "and send it again")
    if name:
        for char in text:
            if unicodedata.category(char) == "Cf":
                raise PydanticCustomError(
                    "text_invisible", "holds an invisible character (U+{code}), such as a zero-width space or a "
                                      "right-to-left override: remove it, so the name reads as it shows",
                    {"code": f"{ord(char):04X}"})
    return text


def Text(max_length: int, *, one_line: bool, strip: bool = True, required: bool = False, name: bool = False):
    """A text field: stripped of surrounding spaces unless ``strip`` is false, at most ``max_length``
    characters, non-empty when ``required``, one line when ``one_line``, checked as ``name``s are when
    ``name``."""
    return Annotated[
        str, Strict(),
        StringConstraints(strip_whitespace=strip, min_length=1 if required else None, max_length=max_length),
        AfterValidator(partial(_check, one_line=one_line, name=name)),
    ]


def lone_surrogate_in(value: object) -> bool:
    """Whether a parsed JSON value holds a lone surrogate anywhere, in a key or a string (a pair in JSON's
    ``\\ud83d\\ude00`` is parsed as the one character it encodes, so what is left is lone). For bodies
    that no model of the contract checks; looked through without recursion, however deep the value."""
    left = [value]
    while left:
        item = left.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            left.extend(item.keys())
            left.extend(item.values())
        elif isinstance(item, list):
            left.extend(item)
    return False
