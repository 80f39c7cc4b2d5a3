"""The service's pages in Korean or English, by the person's switch or the browser's language.

The language is the platform's one rule (``oma_contract.languages``: the person's
``oma_lang`` switch, else Accept-Language by its weights); the words from a gettext
catalog whose message ids are the English texts, used by the templates
through Jinja's i18n extension (``_()`` and ``{% trans %}``). The Korean
catalog is ``locale/ko/LC_MESSAGES/oma-service.po`` beside this module; Babel
compiles it when the service first needs it, so no compiled file is kept in
the repository. To gather new texts into it (the mapping is the project's
``babel.cfg``)::

    pybabel extract -F babel.cfg -o /tmp/oma-service.pot agents_extension/service
    pybabel update -D oma-service -i /tmp/oma-service.pot -d agents_extension/service/locale

The user-server extension has a catalog of its own (another domain); both load
them with ``oma_contract.catalogs``.
"""

from __future__ import annotations

import gettext
from pathlib import Path

from tornado.web import RequestHandler

from oma_contract.catalogs import Catalogs
from oma_contract.languages import page_language

CATALOGS = Catalogs("oma-service", Path(__file__).with_name("locale"))
DEFAULT_LANGUAGE = "en"  # the message ids themselves: English has no catalog


def request_language(handler: RequestHandler) -> str:
    """"en" or "ko": the person's switch, else the browser's first language we have, by weight; else English."""
    return page_language(handler)


def translations(language: str) -> gettext.NullTranslations:
    """The service's texts in ``language`` (English, the message ids, for any language without a catalog)."""
    return CATALOGS.translations(language)


def template_callables(language: str) -> dict:
    """What Jinja's i18n extension calls in a template (``_``, ``gettext``, ``ngettext``), in ``language``."""
    texts = translations(language)
    return {"_": texts.gettext, "gettext": texts.gettext, "ngettext": texts.ngettext}
