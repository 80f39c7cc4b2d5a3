"""JupyterLab's own menus and buttons in the person's language: the one the platform speaks to them.

JupyterLab translates its interface with language packs (the user server installs Korean's,
``jupyterlab-language-pack-ko-KR``). Which pack it uses comes from its setting
``@jupyterlab/translation-extension:plugin`` → ``locale``; left at ``"default"`` (as the platform
leaves it), JupyterLab asks the server for ``/lab/api/translations/default`` and takes the language
of the pack it gets. JupyterLab's server answers that with the server process's own locale, which
says nothing about the person in front of the screen.

This handler answers that one URL instead, with the pack of the platform's language rule
(``oma_contract.languages``: the person's switch in the ``oma_lang`` cookie, else the browser's
Accept-Language), so a person who picked Korean on the hub's pages, or whose browser asks for
Korean, sees "파일" where JupyterLab says "File", on every visit, without a setting to keep in step.
A language the person picks in JupyterLab's own Settings → Language menu is an explicit locale
(``/lab/api/translations/ko_KR``), still answered by JupyterLab, for that one load: the extension
then makes it the platform's choice and hands the setting back (lab_extension/src/language.ts).

The language chosen is also the one the person's Claude kernels write their cells in: the handler
keeps it in ``PERSON_LANGUAGE_FILE`` of the Jupyter runtime folder, which the kernels read at each
cell (claude_kernel/words.py).

It is found before JupyterLab's own handler because jupyter_server loads extensions in the order of
their names ("agents_extension" before "jupyterlab") and tornado takes the first route that matches;
tests/server/test_lab_language.py fails if that changes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from jupyter_core.paths import jupyter_runtime_dir
from jupyter_server.base.handlers import APIHandler
from jupyterlab_server.translation_utils import get_language_pack
from tornado import web
from tornado.ioloop import IOLoop

from oma_contract.beta import Language
from oma_contract.languages import PERSON_LANGUAGE_FILE, page_language

# JupyterLab's locale for each of the platform's languages. English is JupyterLab's own words: no pack.
LAB_LOCALES = {Language.EN: "en", Language.KO: "ko_KR"}
DEFAULT_TRANSLATIONS_PATH = r"lab/api/translations/default"  # under the server's base URL


def remember_language(language: str) -> None:
    """Keep the person's language for their kernels (a server is one person's); a runtime folder that
    cannot be written leaves the kernels in English, never fails the page."""
    path = Path(jupyter_runtime_dir()) / PERSON_LANGUAGE_FILE
    try:
        if not path.exists() or path.read_text(encoding="utf-8") != language:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(language, encoding="utf-8")
    except OSError as problem:
        logging.getLogger("agents_extension").warning("lab language: cannot keep it for the kernels: %s", problem)


def lab_locale(language: str) -> str:
    """JupyterLab's locale for one of the platform's language codes (see LAB_LOCALES)."""
    return LAB_LOCALES[Language(language)]


class PersonTranslationsHandler(APIHandler):
    """``GET /lab/api/translations/default``: the language pack of the person's language, in the shape
    of JupyterLab's translations API (``{"data": {domain: catalog}, "message": ""}``); English as an
    empty ``data``, which JupyterLab shows as its own English."""

    @web.authenticated
    async def get(self) -> None:
        language = page_language(self)
        remember_language(language)
        locale = lab_locale(language)
        data, message = {}, ""
        if locale != LAB_LOCALES[Language.EN]:
            # Reads the pack's catalogs from disk: off the event loop, as JupyterLab's handler does.
            data, message = await IOLoop.current().run_in_executor(None, get_language_pack, locale)
            if not data:
                message = message or f"The language pack for {locale} is not installed in this server."
                self.log.warning("lab language: %s", message)
        self.set_header("Vary", "Cookie, Accept-Language")
        self.finish(json.dumps({"data": data, "message": message}))


def language_routes() -> list[tuple[str, type]]:
    """This module's handler, by URL path under the server's base URL (see extension.py)."""
    return [(DEFAULT_TRANSLATIONS_PATH, PersonTranslationsHandler)]
