"""The service's pages in Korean or English, chosen by the browser's language.

The language comes from tornado's locale support (``RequestHandler.locale``,
which reads Accept-Language with its weights); the words from a gettext
catalog whose message ids are the English texts, used by the templates
through Jinja's i18n extension (``_()`` and ``{% trans %}``). The Korean
catalog is ``locale/ko/LC_MESSAGES/oma-service.po`` beside this module; Babel
compiles it when the service first needs it, so no compiled file is kept in
the repository. To gather new texts into it (the mapping is the project's
``babel.cfg``)::

    pybabel extract -F babel.cfg -o /tmp/oma-service.pot agents_extension/service
    pybabel update -D oma-service -i /tmp/oma-service.pot -d agents_extension/service/locale

The user-server extension has a catalog of its own (another domain): the two
sides share no code, only the languages.
"""

from __future__ import annotations

import functools
import gettext
import tempfile
from pathlib import Path

import tornado.locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from tornado.web import RequestHandler

DOMAIN = "oma-service"
CATALOGS = Path(__file__).with_name("locale")
DEFAULT_LANGUAGE = "en"  # the message ids themselves: English has no catalog
_folder: tempfile.TemporaryDirectory | None = None


@functools.cache
def _compiled_catalogs() -> str:
    """The catalogs compiled to .mo files in a folder of this process, and known to tornado's locale."""
    global _folder
    # Kept for the life of the process (and removed at its end): tornado and gettext read it.
    folder = _folder = tempfile.TemporaryDirectory(prefix=f"{DOMAIN}-catalogs-")
    for source in CATALOGS.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        target = Path(folder.name) / source.relative_to(CATALOGS).with_suffix(".mo")
        target.parent.mkdir(parents=True)
        with source.open("rb") as po, target.open("wb") as mo:
            write_mo(mo, read_po(po, locale=source.parent.parent.name, domain=DOMAIN))
    # tornado offers the languages it finds (and the default); the texts come from our own
    # translations below, so another catalog domain loaded into tornado in this process cannot mix in.
    tornado.locale.set_default_locale(DEFAULT_LANGUAGE)
    tornado.locale.load_gettext_translations(folder.name, DOMAIN)
    return folder.name


def request_language(handler: RequestHandler) -> str:
    """"en" or "ko": the browser's first language we have, by weight; English otherwise."""
    _compiled_catalogs()
    return handler.locale.code.split("_")[0]


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The service's texts in ``language`` (English, the message ids, for any language without a catalog)."""
    return gettext.translation(DOMAIN, _compiled_catalogs(), languages=[language], fallback=True)


def template_callables(language: str) -> dict:
    """What Jinja's i18n extension calls in a template (``_``, ``gettext``, ``ngettext``), in ``language``."""
    texts = translations(language)
    return {"_": texts.gettext, "gettext": texts.gettext, "ngettext": texts.ngettext}
