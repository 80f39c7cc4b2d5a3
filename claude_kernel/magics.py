"""Cell magics: lines starting with ``%`` at the top of a cell.

They let people who don't code steer the session without leaving the
notebook; everything after them is the prompt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .words import ENGLISH, N_, Words

MAGICS = {
    "new": N_("%new: forget this notebook's conversation and start a fresh Claude session"),
    "model": N_("%model NAME: answer with model NAME from now on (without NAME: show the model)"),
    "session": N_("%session: show the session id, turns, tokens and cost so far"),
    "help": N_("%help: list the magics"),
    "parameters": N_("%parameters: this cell declares the notebook's parameters, one name = \"value\" per line; "
                     "later cells use them as {{name}}"),
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


def help_text(say: Words = ENGLISH) -> str:
    return "\n".join(say(text) for text in MAGICS.values())


def folder_for_people(folder: Path, home: str | None = None) -> str:
    """The agent's folder as its owner knows it, from their home (``~/agents/newsletter-writer``):
    the server's absolute path says nothing to them (and names the machine's layout)."""
    home = home if home is not None else os.path.expanduser("~")
    for base in dict.fromkeys((Path(home), Path(os.path.realpath(home)))):  # the folder is resolved
        try:
            inside = Path(folder).relative_to(base)
        except ValueError:
            continue
        return "~" if inside == Path(".") else f"~/{inside.as_posix()}"
    return str(folder)
