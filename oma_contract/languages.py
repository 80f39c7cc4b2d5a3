"""Which language a page speaks to a person: one rule for the hub, the agents service and the dashboard.

A person who picked a language with the switch on the pages keeps it in the cookie ``oma_lang``
(path ``/``, so the hub, the service and their own server all read it); without it the browser's
Accept-Language decides, by its weights; English when neither names a language we have.

The hub sets the cookie at ``/hub/language?lang=<code>&next=<path>`` (hub_config/language.py), so any
page can offer the switch as a plain link.
"""

from __future__ import annotations

from pathlib import Path

from .beta import Language

LANGUAGE_COOKIE = "oma_lang"
# In the Jupyter runtime folder a person's server and its kernels share: the language the server last
# served JupyterLab in (agents_extension/server/lab_language.py writes it), which the Claude kernel
# speaks in the cells (claude_kernel/words.py). One server is one person's.
PERSON_LANGUAGE_FILE = "oh-my-agent-language"
LANGUAGE_COOKIE_DAYS = 365
DEFAULT_LANGUAGE = Language.EN
# What the switch shows for each language: its own name, so a person finds theirs without reading the other.
LANGUAGE_NAMES = {Language.EN: "English", Language.KO: "한국어"}


def _weighted(accept_language: str) -> list[tuple[float, int, str]]:
    """Accept-Language's ranges as (weight, position, primary tag), a malformed or zero-weight one left out."""
    ranges = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = -1.0
        primary = tag.strip().split("-")[0].lower()
        if primary and weight > 0:
            ranges.append((-weight, position, primary))
    return sorted(ranges)


def choose_language(cookie: str | None, accept_language: str | None) -> Language:
    """The language of a page: the person's switch (``cookie``) if it names one we have, else the
    browser's most wanted one we have (``accept_language``, the header), else English."""
    if cookie:
        try:
            return Language(cookie.strip().lower())
        except ValueError:
            pass  # an old or forged value: the browser decides
    for _, _, primary in _weighted(accept_language or ""):
        try:
            return Language(primary)
        except ValueError:
            continue
    return DEFAULT_LANGUAGE


def page_language(handler) -> str:
    """The language code ("en", "ko") of the page a tornado handler answers: ``choose_language`` of its
    request's ``oma_lang`` cookie and Accept-Language header. (Duck-typed: oma_contract imports no tornado.)"""
    return choose_language(handler.get_cookie(LANGUAGE_COOKIE), handler.request.headers.get("Accept-Language")).value


# The web font that shows Korean on a machine without a Korean font (Noto Sans KR, SIL OFL 1.1): every
# component serves this folder with its pages and links WEB_FONT_STYLESHEET from it.
WEB_FONTS = Path(__file__).with_name("web_fonts")
WEB_FONT_STYLESHEET = "noto-sans-kr.css"
