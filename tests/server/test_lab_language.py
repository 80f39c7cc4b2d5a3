"""JupyterLab's own words in the person's language (agents_extension/server/lab_language.py): the
translations JupyterLab asks for at start ("default") follow the platform's rule, the person's
``oma_lang`` switch first, then the browser's Accept-Language; an explicit locale is still JupyterLab's.
A real jupyter_server with JupyterLab and the agents extension loaded as in a person's server, no hub.
(The menus themselves, in a browser: tests/hub/test_lab_browser.py.)"""

from __future__ import annotations

import json

import pytest
from traitlets.config import Config

from agents_extension.server.lab_language import lab_locale

FILE_MENU = "menu\x04File"  # gettext's key of "File" in the context "menu" (JupyterLab's main menu)


@pytest.fixture
def jp_server_config() -> Config:
    """Overrides the folder's: no agents service is needed to choose a language."""
    return Config({"ServerApp": {"jpserver_extensions": {"agents_extension.server": True, "jupyterlab": True}}})


async def translations(jp_fetch, locale: str = "default", **headers: str) -> dict:
    answer = await jp_fetch("lab", "api", "translations", locale, headers=headers)
    assert answer.code == 200
    return json.loads(answer.body)


@pytest.mark.parametrize(("headers", "korean"), [
    ({"Cookie": "oma_lang=ko"}, True),
    ({"Cookie": "oma_lang=ko", "Accept-Language": "en-US,en;q=0.9"}, True),  # the switch beats the browser
    ({"Cookie": "oma_lang=en", "Accept-Language": "ko-KR,ko;q=0.9"}, False),
    ({"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"}, True),
    ({"Accept-Language": "fr-FR,ko;q=0.5"}, True),  # the first language the platform has
    ({"Accept-Language": "en-US"}, False),
    ({}, False),
    ({"Cookie": "oma_lang=xx", "Accept-Language": "ko"}, True),  # an unknown switch value: the browser decides
])
async def test_jupyterlab_starts_in_the_persons_language(jp_fetch, headers, korean):
    answer = await translations(jp_fetch, **headers)
    if korean:
        catalog = answer["data"]["jupyterlab"]
        # JupyterLab takes the language of what it is given from the catalog's own header.
        assert catalog[""]["language"] == "ko-KR"
        assert catalog[FILE_MENU] == ["파일"]
        assert answer["message"] == ""
    else:
        assert answer == {"data": {}, "message": ""}  # JupyterLab's own English


async def test_a_locale_picked_in_jupyterlabs_menu_is_still_jupyterlabs_to_answer(jp_fetch):
    answer = await translations(jp_fetch, "ko_KR", Cookie="oma_lang=en")
    assert answer["data"]["jupyterlab"][FILE_MENU] == ["파일"]
    listed = json.loads((await jp_fetch("lab", "api", "translations")).body)
    assert {"en", "ko_KR"} <= set(listed["data"])  # the language pack is installed in the server


@pytest.mark.parametrize(("language", "locale"), [("ko", "ko_KR"), ("en", "en")])
def test_each_platform_language_has_its_jupyterlab_locale(language, locale):
    assert lab_locale(language) == locale


async def test_the_language_jupyterlab_starts_in_is_kept_for_the_persons_kernels(jp_fetch, jp_runtime_dir):
    """The Claude kernels write their cells in it (claude_kernel/words.py reads the same file)."""
    from oma_contract.languages import PERSON_LANGUAGE_FILE

    kept = jp_runtime_dir / PERSON_LANGUAGE_FILE
    await translations(jp_fetch, **{"Accept-Language": "ko-KR,ko;q=0.9"})
    assert kept.read_text() == "ko"
    await translations(jp_fetch, **{"Cookie": "oma_lang=en", "Accept-Language": "ko-KR"})
    assert kept.read_text() == "en"
