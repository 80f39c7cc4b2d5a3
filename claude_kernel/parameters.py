"""The notebook's parameters, as the kernel holds them between cells.

A ``%parameters`` cell (the one tagged ``parameters``, and papermill's
``injected-parameters`` cell after it) sets them; every later prompt has its
``{{name}}`` filled in before it is sent (oma_contract.parameters says the
syntax). A later declaration overrides earlier values name by name, which is
how papermill's injected cell and ``oh-my-agent run -p`` take effect.
"""

from __future__ import annotations

from oma_contract.parameters import as_text, fill, parse_declaration

from .magics import Cell


class NotebookParameters:
    def __init__(self) -> None:
        self.values: dict[str, str | int | float | bool] = {}

    @staticmethod
    def declares(cell: Cell) -> bool:
        return any(name == "parameters" for name, _ in cell.magics)

    def declare(self, body: str) -> str:
        """Take the cell's values; returns the line that shows them. Raises ParameterError (a ValueError)."""
        declared = parse_declaration(body)
        self.values.update(declared)
        if not declared:
            return "No parameters declared."
        return "Parameters: " + ", ".join(f"{name} = {as_text(value)}" for name, value in declared.items())

    def fill(self, prompt: str) -> str:
        return fill(prompt, self.values)
