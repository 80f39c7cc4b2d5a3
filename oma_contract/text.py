"""What text people send may hold: its length, and no characters that are not text.

One rule for every text field, by a page form or the REST API alike:
- no control characters (NUL, escape sequences: they end up in e-mails, pages
  and agent folders); line breaks and tabs only in multi-line fields;
- no lone surrogates (``"\\ud800"`` is valid JSON but not text: it cannot be
  written as UTF-8, so storing it would break every later read); pydantic's
  ``str`` refuses them (``string_unicode``);
- in names, no invisible characters: formatting characters (zero-width spaces
  and joiners, bidirectional overrides and isolates, Unicode category Cf) and
  the rest of Unicode's default-ignorable code points (Hangul fillers, the
  combining grapheme joiner, variation selectors; but the emoji and text
  presentation selectors U+FE0F/U+FE0E right after a symbol, as phones send
  "❤️"), which letters-and-marks
  categories let through: they make a name look like another, or show as
  nothing at all; and at least one character that shows (a letter, digit,
  punctuation mark or symbol, not the blank Braille pattern U+2800), not a
  combining mark first (it shows only on a character before it).
"""

from __future__ import annotations

import re
import unicodedata
from functools import partial
from typing import Annotated

from pydantic import AfterValidator, Strict, StringConstraints
from pydantic_core import PydanticCustomError

_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt) that are not Cf, which is refused by
# category: what renderers show as nothing, though it is a letter (the Hangul fillers U+115F, U+1160, U+3164,
# U+FFA0), a mark (U+034F, U+17B4-U+17B5, the Mongolian and other variation selectors) or unassigned.
_IGNORABLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2065\u3164\ufe00-\ufe0f\uffa0"
                        "\ufff0-\ufff8\U000e0000-\U000e0fff]")
_BLANK = frozenset("\u2800")  # a symbol (So) that shows as a blank cell
_PRESENTATION = frozenset("\ufe0e\ufe0f")  # text or emoji style of the symbol before it
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BREAK = re.compile(r"[\t\n\r\u2028\u2029]")


def _check(text: str, *, one_line: bool, name: bool) -> str:
    if one_line and _BREAK.search(text):
        raise PydanticCustomError("text_break", "must be one line, without tabs or control characters")
    if _CONTROL.search(text):
        raise PydanticCustomError("text_control", "contains control characters (such as NUL): remove them "
                                                  "and send it again")
    if name:
        for at, char in enumerate(text):
            if char in _PRESENTATION and at and unicodedata.category(text[at - 1]).startswith("S"):
                continue  # "❤️": the heart, drawn as an emoji
            if unicodedata.category(char) == "Cf" or _IGNORABLE.match(char):
                raise PydanticCustomError(
                    "text_invisible", "holds an invisible character (U+{code}), such as a zero-width space, a "
                                      "Hangul filler or a right-to-left override: remove it, so the name reads "
                                      "as it shows", {"code": f"{ord(char):04X}"})
        if text and unicodedata.category(text[0]).startswith("M"):
            raise PydanticCustomError(
                "text_combining", "starts with a combining mark (U+{code}), which shows only on a character "
                                  "before it: put the letter it belongs to first, or remove it",
                {"code": f"{ord(text[0]):04X}"})
        if text and not any(unicodedata.category(char)[0] in "LNPS" and char not in _BLANK for char in text):
            raise PydanticCustomError(
                "text_blank", "shows nothing: it needs at least one letter, digit, punctuation mark or symbol")
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
