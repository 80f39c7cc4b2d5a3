"""The hub's own pages in Korean or English: the language of each request, the switch that keeps a
person's choice, and the web font that shows Korean on any machine.

The language follows the platform's one rule (oma_contract/languages.py: the ``oma_lang`` cookie,
else Accept-Language). The words come from the gettext catalog ``locale/ko/LC_MESSAGES/oma-hub.po``
beside this module (message ids are the English texts), used by the templates in ``templates/``
through Jinja's i18n extension (``_()`` and ``{% trans %}``). To gather new texts into it::

    pybabel extract -F babel.cfg -o /tmp/oma-hub.pot hub_config
    pybabel update -D oma-hub -i /tmp/oma-hub.pot -d hub_config/locale

JupyterHub renders every page from one Jinja environment for all requests, so the translation
functions are installed once (``HubLanguage``) and find the request they are rendering for in the
template's context.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from babel.dates import format_date
from jinja2 import pass_context
from jinja2.ext import Extension
from jupyterhub.handlers import BaseHandler
from tornado import web
from tornado.escape import url_escape

from oma_contract.catalogs import Catalogs
from oma_contract.languages import (LANGUAGE_COOKIE, LANGUAGE_COOKIE_DAYS, LANGUAGE_NAMES, WEB_FONTS,
                                    choose_language)
from oma_contract.beta import Language

CATALOGS = Catalogs("oma-hub", Path(__file__).with_name("locale"))
FONTS_PATH = r"/oma-fonts/(.*)"  # under the hub's prefix: /hub/oma-fonts/
LANGUAGE_PATH = r"/language"  # /hub/language?lang=ko&next=/hub/home


def _handler(context):
    """The request handler rendering this template. JupyterHub's template namespace holds no
    request, but every page's holds ``static_url``, the handler's own bound method."""
    return getattr(context.get("static_url"), "__self__", None)


def request_language(handler) -> Language:
    """The language of a request to the hub (the platform's rule), found once per request."""
    language = getattr(handler, "_oma_language", None)
    if language is None:
        language = choose_language(handler.get_cookie(LANGUAGE_COOKIE), handler.request.headers.get("Accept-Language"))
        handler._oma_language = language
    return language


@pass_context
def page_language(context) -> str:
    handler = _handler(context)
    return (request_language(handler) if handler is not None else Language.EN).value


@pass_context
def _gettext(context, message: str) -> str:
    # {% trans %} blocks put their variables in themselves (Jinja's i18n, old style: escaped).
    return CATALOGS.translations(page_language(context)).gettext(message)


@pass_context
def _ngettext(context, singular: str, plural: str, n: int) -> str:
    return CATALOGS.translations(page_language(context)).ngettext(singular, plural, n)


@pass_context
def long_date(context, moment) -> str:
    """A date as people write it in the page's language ("December 2, 2026", "2026년 12월 2일")."""
    return format_date(moment, format="long", locale=page_language(context))


@pass_context
def switch_languages(context) -> list[dict[str, str]]:
    """The links of the language switch: each language in its own words, with the one shown marked."""
    handler = _handler(context)
    here = handler.request.uri if handler is not None else "/hub/home"
    base = context.get("base_url", "/hub/")
    current = page_language(context)
    return [{"code": code.value, "name": name, "current": code.value == current,
             "href": f"{base}language?lang={code.value}&next={url_escape(here, plus=False)}"}
            for code, name in LANGUAGE_NAMES.items()]


class HubLanguage(Extension):
    """Jinja extension (with ``jinja2.ext.i18n``) giving the hub's templates ``_``/``gettext``/``ngettext``
    in the language of the request being rendered, ``page_language()``, ``long_date()`` and
    ``switch_languages()``."""

    def __init__(self, environment) -> None:
        super().__init__(environment)
        environment.globals.update(_=_gettext, gettext=_gettext, ngettext=_ngettext, page_language=page_language,
                                   long_date=long_date, switch_languages=switch_languages)


def _local_path(target: str, default: str) -> str:
    """``target`` if it is a path on this site (never another host, nor ``//host``), else ``default``."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


class LanguageHandler(BaseHandler):
    """Keeps the language a person picked (``?lang=``) in the platform's cookie and goes back to the page
    they were on (``?next=``, a path on this site). Signed in or not: the sign-in page has the switch too."""

    def get(self) -> None:
        code = self.get_query_argument("lang", "")
        try:
            language = Language(code)
        except ValueError:
            raise web.HTTPError(400, f"lang must be one of {', '.join(Language)}, not {code[:20]!r}.") from None
        # Not HttpOnly: the dashboard's script in a person's server reads it too. It says nothing secret.
        self.set_cookie(LANGUAGE_COOKIE, language.value, path="/", expires_days=LANGUAGE_COOKIE_DAYS,
                        samesite="Lax")
        self.redirect(_local_path(self.get_query_argument("next", ""), self.hub.base_url + "home"))


class FontHandler(web.StaticFileHandler):
    """The web font (oma_contract/web_fonts), for anyone: the sign-in page needs it before sign-in."""

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "public, max-age=604800")


def handlers() -> list[tuple]:
    """The hub's extra handlers of this module (JupyterHub puts them under its prefix)."""
    return [(LANGUAGE_PATH, LanguageHandler), (FONTS_PATH, FontHandler, {"path": str(WEB_FONTS)})]
