"""The platform's one rule for a page's language (oma_contract/languages.py): the person's switch (the
oma_lang cookie) first, then the browser's languages by weight, then English."""

from __future__ import annotations

import pytest

from oma_contract.languages import LANGUAGE_COOKIE, WEB_FONT_STYLESHEET, WEB_FONTS, choose_language


@pytest.mark.parametrize(("cookie", "accept_language", "language"), [
    ("ko", "en-US,en;q=0.9", "ko"),  # the switch beats the browser
    ("en", "ko-KR,ko;q=0.9", "en"),
    ("KO ", None, "ko"),
    ("fr", "ko-KR", "ko"),  # a value we do not have (old, forged): the browser decides
    ("", "ko;q=0.8, en;q=0.3", "ko"),
    (None, "fr-FR, ko;q=0.5", "ko"),  # the first language we have, by weight
    (None, "ko;q=0, en", "en"),  # q=0: not wanted
    (None, "ko;q=abc, en;q=0.1", "en"),  # a weight that is no number: not wanted
    (None, "de, fr", "en"),
    (None, "", "en"),
    (None, None, "en"),
])
def test_the_switch_then_the_browser_then_english(cookie, accept_language, language):
    assert choose_language(cookie, accept_language) == language


def test_the_cookie_and_the_web_font_are_where_every_component_finds_them():
    assert LANGUAGE_COOKIE == "oma_lang"
    stylesheet = (WEB_FONTS / WEB_FONT_STYLESHEET).read_text()
    for face in ("noto-sans-kr-korean-400-normal.woff2", "noto-sans-kr-korean-700-normal.woff2"):
        assert face in stylesheet and (WEB_FONTS / face).stat().st_size > 100_000
    assert "SIL OPEN FONT LICENSE" in (WEB_FONTS / "OFL-LICENSE.txt").read_text().upper()
