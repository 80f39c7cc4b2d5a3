"""A browser page signed in as someone, for the tests of pages behind the sign-in (the hub's own
sign-in page has journeys of its own): the hub's cookies, from the test hub's ``sign_in``."""

from __future__ import annotations

from urllib.parse import urlparse

from tests.hub.conftest import Hub

LOCALES = {"en": "en-US", "ko": "ko-KR"}


def signed_in_page(chromium, hub: Hub, email: str, language: str, viewport: dict):
    """(context, page) at ``viewport``, in ``language`` ("en", "ko"), signed in as ``email``."""
    session = hub.sign_in(email, LOCALES[language])
    context = chromium.new_context(viewport=viewport, locale=LOCALES[language],
                                   extra_http_headers={"Accept-Language": LOCALES[language]})
    host = urlparse(hub.url).hostname
    context.add_cookies([{"name": c.name, "value": c.value, "domain": host, "path": c.path or "/"} for c in session.cookies])
    return context, context.new_page()
