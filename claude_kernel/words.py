"""What the kernel writes in a cell, in the person's language: the one the platform speaks to them.

The person's language is the one their server last served JupyterLab in: the platform's one rule (the
``oma_lang`` switch of the pages, else the browser's Accept-Language), which the user server applies
when JupyterLab loads its words and writes to ``PERSON_LANGUAGE_FILE`` in the Jupyter runtime folder
that the server and its kernels share (agents_extension/server/lab_language.py). The kernel reads it
at each cell, so the next cell after a switch speaks the new language. No file (a kernel outside the
platform, papermill on a laptop) means English.

The texts are a gettext catalog whose message ids are the English texts, marked ``N_()`` where they
are written and filled in after translation with ``str.format``; the Korean catalog is
``locale/ko/LC_MESSAGES/oma-kernel.po`` beside this module, loaded like every component's by
``oma_contract.catalogs`` (tests/test_page_languages.py checks it is complete and holds nothing unused).
What the kernel tells the model (a denied tool's reason) and messages meant for admins (isolation that
cannot work, settings to fix) stay in English.
"""

from __future__ import annotations

from pathlib import Path

from oma_contract.beta import Language
from oma_contract.catalogs import Catalogs
from oma_contract.languages import DEFAULT_LANGUAGE, PERSON_LANGUAGE_FILE

CATALOGS = Catalogs("oma-kernel", Path(__file__).with_name("locale"))


def N_(message: str) -> str:
    """Marks a text for the catalog (Babel extracts N_ calls); it is translated where it is shown."""
    return message


def person_language() -> str:
    """The language code the person's server last served JupyterLab in, else English."""
    from jupyter_core.paths import jupyter_runtime_dir

    try:
        named = (Path(jupyter_runtime_dir()) / PERSON_LANGUAGE_FILE).read_text(encoding="utf-8").strip()
        return Language(named).value
    except (OSError, ValueError):
        return DEFAULT_LANGUAGE.value


class Words:
    """The kernel's texts in one language: ``say(N_("... {name} ..."), name=...)``."""

    def __init__(self, language: str = DEFAULT_LANGUAGE.value) -> None:
        self.language = language
        self._texts = CATALOGS.translations(language)

    def __call__(self, message: str, **values: object) -> str:
        text = self._texts.gettext(message)
        return text.format(**values) if values else text


ENGLISH = Words()
