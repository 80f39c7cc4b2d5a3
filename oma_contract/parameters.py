"""A recipe's parameters: named inputs declared in one cell, used as ``{{name}}`` in later ones.

The cell tagged ``parameters`` (papermill's convention) is a Claude cell that
starts with the ``%parameters`` magic, one ``name = value`` line per input::

    %parameters
    # what the report is about
    topic = "AI agents"
    pages = 3

A value is a JSON scalar (a double-quoted string, a number, true or false):
nothing is evaluated. A later cell's ``{{topic}}`` becomes the value before the
prompt is sent. The kernel, papermill's translator, the ``oh-my-agent run``
command and the Run form all parse and fill with this module, so they agree.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping

from .problems import FieldInvalid

PARAMETERS_MAGIC = "%parameters"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"  # papermill's tag for the cell it adds after the parameters cell
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_LINE = re.compile(r"^\s*(?P<name>[^=\s]+)\s*=\s*(?P<value>.*?)\s*$")
PLACEHOLDER = re.compile(r"\{\{\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
MAX_VALUE = 10_000  # characters of one value

Value = str | int | float | bool


class ParameterError(FieldInvalid):
    """A parameter that cannot be used; ``field`` is its name ("" when the whole declaration is at fault)."""


def is_parameters_cell(source: str) -> bool:
    lines = [line.strip() for line in source.splitlines() if line.strip()]
    return bool(lines) and lines[0].split()[0] == PARAMETERS_MAGIC


def _scalar(name: str, text: str, line: int) -> Value:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, (str, bool, int, float)) and not (isinstance(value, float) and value != value):
        if isinstance(value, str) and len(value) > MAX_VALUE:
            raise ParameterError(name, f"Parameter '{name}' is {len(value):,} characters long: at most "
                                       f"{MAX_VALUE:,} are allowed.")
        return value
    raise ParameterError(name, f"Line {line}: the value of '{name}' must be text in double quotes "
                               f'(e.g. {name} = "{text.strip(chr(39))}"), a number, true or false; found {text!r}.')


def parse_declaration(body: str) -> dict[str, Value]:
    """The parameters a ``%parameters`` cell declares (the magic line itself may be included), in order."""
    found: dict[str, Value] = {}
    for number, raw in enumerate(body.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line.split()[0] == PARAMETERS_MAGIC:
            continue
        match = _LINE.match(line)
        if not match:
            raise ParameterError("", f"Line {number} of the parameters cell is not 'name = value': {line!r}.")
        name = match["name"]
        if not NAME.fullmatch(name):
            raise ParameterError(name, f"Line {number}: '{name}' cannot name a parameter: use letters, digits and _ "
                                       "(not first), at most 64 characters.")
        found[name] = _scalar(name, match["value"], number)
    return found


def declaration(values: Mapping[str, Value]) -> str:
    """The ``%parameters`` cell for these values (what papermill's injected cell holds)."""
    lines = [PARAMETERS_MAGIC]
    for name, value in values.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ParameterError(str(name), f"'{name}' cannot name a parameter: use letters, digits and _ (not first).")
        if not isinstance(value, (str, bool, int, float)):
            raise ParameterError(name, f"Parameter '{name}' must be text, a number, true or false, not "
                                       f"{type(value).__name__}.")
        lines.append(f"{name} = {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines)


def coerce(name: str, text: str, default: Value | None) -> Value:
    """A value given as text (``-p pages=5``, a form field) as the type of the declared default."""
    if isinstance(default, bool):
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off", ""):
            return False
        raise ParameterError(name, f"Parameter '{name}' must be true or false, not {text!r}.")
    if isinstance(default, int):
        try:
            return int(text.strip())
        except ValueError:
            raise ParameterError(name, f"Parameter '{name}' must be a whole number, not {text!r}.") from None
    if isinstance(default, float):
        try:
            value = float(text.strip())
        except ValueError:
            value = float("nan")
        if value != value or value in (float("inf"), float("-inf")):
            raise ParameterError(name, f"Parameter '{name}' must be a number, not {text!r}.")
        return value
    if len(text) > MAX_VALUE:
        raise ParameterError(name, f"Parameter '{name}' is {len(text):,} characters long: at most {MAX_VALUE:,} "
                                   "are allowed.")
    return text


def merge(declared: Mapping[str, Value], given: Mapping[str, Any]) -> dict[str, Value]:
    """The declared defaults overridden by the values given as text; an undeclared name is refused."""
    values = dict(declared)
    for name, text in given.items():
        if name not in declared:
            known = ", ".join(declared) or "none (the recipe has no parameters cell)"
            raise ParameterError(name, f"'{name}' is not a parameter of this recipe. Its parameters are: {known}.")
        values[name] = coerce(name, text, declared[name]) if isinstance(text, str) else text
    return values


def as_text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fill(prompt: str, values: Mapping[str, Value]) -> str:
    """The prompt with every ``{{name}}`` replaced by its value; an unknown name is refused, naming it."""
    missing = [m["name"] for m in PLACEHOLDER.finditer(prompt) if m["name"] not in values]
    if missing:
        known = ", ".join(values) or "none yet"
        raise ParameterError(missing[0], f"{{{{{missing[0]}}}}} is not a parameter of this notebook (its parameters: "
                                         f"{known}). Declare it in the parameters cell (starting with %parameters) "
                                         "and run that cell first.")
    return PLACEHOLDER.sub(lambda m: as_text(values[m["name"]]), prompt)


def placeholders(sources: Iterable[str]) -> list[str]:
    """The names used as ``{{name}}`` in these cells, in order of first use."""
    seen: dict[str, None] = {}
    for source in sources:
        for match in PLACEHOLDER.finditer(source):
            seen.setdefault(match["name"])
    return list(seen)
