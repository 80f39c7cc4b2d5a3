"""papermill's parameters for Claude notebooks: ``papermill recipe.ipynb out.ipynb -p topic "..."``.

papermill injects a cell tagged ``injected-parameters`` after the cell tagged
``parameters``, written by the translator registered for the notebook's kernel
or language. A Claude cell's language is Markdown, so the injected cell is a
``%parameters`` cell (oma_contract.parameters), which the kernel reads as the
values of the notebook's parameters.

papermill loads translators from no entry point, only engines
(``papermill.engine``): this module is registered as the ``oh-my-agent``
engine, so papermill imports it at start and the translator is registered
for every run, whichever engine the run uses. The engine itself is nbclient's,
plus copying each cell's provenance into its metadata (``--engine oh-my-agent``).
"""

from __future__ import annotations

from papermill.engines import NBClientEngine
from papermill.translators import Translator, papermill_translators

from oma_contract.parameters import ParameterError, declaration, parse_declaration

from .counting import count_finished_run
from .notebook import lift_provenance

KERNEL_NAME = "claude"
LANGUAGE = "markdown"  # the Claude kernel's language_info name


class ClaudeTranslator(Translator):
    @classmethod
    def translate_str(cls, val):
        return val

    @classmethod
    def comment(cls, cmt_str):
        return f"# {cmt_str}".strip()

    @classmethod
    def codify(cls, parameters, comment="Parameters"):
        """The injected cell: ``%parameters``, papermill's comment, then ``name = <JSON>`` lines."""
        lines = declaration({name: value for name, value in parameters.items()}).splitlines()
        return "\n".join([lines[0], cls.comment(comment), *lines[1:]]) + "\n"

    @classmethod
    def inspect(cls, parameters_cell):
        """The parameters a cell declares, for ``papermill --help-notebook`` (nothing for a malformed cell)."""
        from papermill.models import Parameter

        try:
            declared = parse_declaration(parameters_cell.source)
        except ParameterError:
            return []
        return [Parameter(name=name, inferred_type_name=type(value).__name__, default=repr(value), help="")
                for name, value in declared.items()]


class RecipeEngine(NBClientEngine):
    """nbclient's engine, with each executed cell's provenance lifted into the cell's metadata."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
        try:
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
        finally:  # also when a cell failed: the cells run until then keep what produced them
            for cell in nb_man.nb.cells:
                if cell.cell_type == "code":
                    lift_provenance(cell)
            count_finished_run(nb_man.nb.metadata)  # a run of a gallery recipe, counted there


def register() -> None:
    for name in (KERNEL_NAME, LANGUAGE):
        papermill_translators.register(name, ClaudeTranslator)


register()
