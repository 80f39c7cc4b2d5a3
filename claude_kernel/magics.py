"""Cell magics: lines starting with ``%`` at the top of a cell.

They let people who don't code steer the session without leaving the
notebook; everything after them is the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass

MAGICS = {
    "new": "%new: forget this notebook's conversation and start a fresh Claude session",
    "model": "%model NAME: answer with model NAME from now on (without NAME: show the model)",
    "session": "%session: show the session id, turns, tokens and cost so far",
    "help": "%help: list the magics",
    "parameters": "%parameters: this cell declares the notebook's parameters, one name = \"value\" per line; "
                  "later cells use them as {{name}}",
}


class UnknownMagic(ValueError):
    def __init__(self, name: str) -> None:
        names = ", ".join(f"%{m}" for m in MAGICS)
        super().__init__(f"Unknown magic %{name}. The magics are: {names}. Type %help for what each does.")


@dataclass
class Cell:
    magics: list[tuple[str, str]]  # (name, argument)
    prompt: str


def parse_cell(code: str) -> Cell:
    lines = code.splitlines()
    magics = []
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("%")):
        line = lines.pop(0).strip()
        if not line:
            continue
        name, _, argument = line[1:].partition(" ")
        if name not in MAGICS:
            raise UnknownMagic(name)
        magics.append((name, argument.strip()))
    return Cell(magics, "\n".join(lines).strip())


def help_text() -> str:
    return "\n".join(MAGICS.values())
