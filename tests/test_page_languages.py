"""The pages' languages: chosen from Accept-Language by tornado's locale, worded by the gettext catalogs."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import Application, RequestHandler

from agents_extension.server import dashboard_text
from claude_kernel import words as kernel_words
from agents_extension.service import i18n as service_i18n
from email_hook import templates as email_templates
from hub_config import language as hub_language

PROJECT = Path(__file__).resolve().parents[1]
# Each side of the platform, with its own catalog domain.
SIDES = {
    "service": (service_i18n, PROJECT / "agents_extension" / "service"),
    "dashboard": (dashboard_text, PROJECT / "agents_extension" / "server"),
    "e-mail": (email_templates, PROJECT / "email_hook"),
    "hub": (hub_language, PROJECT / "hub_config"),
    "kernel": (kernel_words, PROJECT / "claude_kernel"),
}
SIDES_WITH_REQUESTS = ("service", "dashboard", "hub")


def texts_in_use(folder: Path) -> set[str]:
    """The texts Babel finds in one side's code and templates, by the project's babel.cfg."""
    with (PROJECT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    side = folder.relative_to(PROJECT).as_posix() + "/"

    def on_the_way(directory: str) -> bool:  # only the folders that lead to the side or are in it
        path = Path(directory).relative_to(PROJECT).as_posix() + "/"
        return side.startswith(path) or path.startswith(side)

    return {message if isinstance(message, str) else message[0]
            for filename, _, message, _, _ in extract_from_dir(PROJECT, method_map, options_map,
                                                               directory_filter=on_the_way)
            if filename.startswith(side)}


def korean_catalog(side: str) -> dict[str, str]:
    module, _ = SIDES[side]
    with (module.CATALOGS.folder / "ko" / "LC_MESSAGES" / f"{module.CATALOGS.domain}.po").open("rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id}


@pytest.mark.parametrize("side", SIDES)
def test_every_text_of_a_side_has_its_korean_and_the_catalog_holds_nothing_unused(side):
    _, folder = SIDES[side]
    in_use = texts_in_use(folder)
    catalog = korean_catalog(side)
    assert len(in_use) > 10, f"Babel found almost no texts in {folder}"
    assert sorted(in_use - set(catalog)) == [], "texts without a Korean translation"
    assert sorted(set(catalog) - in_use) == [], "translations of texts no page uses"
    assert all(catalog.values()), "empty Korean translations"


class LanguageOfTheRequest(RequestHandler):
    def get(self, side: str) -> None:
        module, _ = SIDES[side]
        self.write(module.request_language(self))


@pytest.fixture
async def language_of():
    sock, port = bind_unused_port()
    server = HTTPServer(Application([(r"/(\w+)", LanguageOfTheRequest)]))
    server.add_sockets([sock])
    client = AsyncHTTPClient()

    async def ask(side: str, accept_language: str | None) -> str:
        headers = {} if accept_language is None else {"Accept-Language": accept_language}
        return (await client.fetch(f"http://127.0.0.1:{port}/{side}", headers=headers)).body.decode()

    yield ask
    server.stop()
    await server.close_all_connections()


@pytest.mark.parametrize("side", SIDES_WITH_REQUESTS)
@pytest.mark.parametrize(("accept_language", "language"), [
    ("ko-KR,ko;q=0.9,en;q=0.5", "ko"),
    ("en-US,en;q=0.9", "en"),
    ("KO", "ko"),
    ("fr-FR, ko;q=0.5", "ko"),  # the first language we have, by weight
    ("en;q=0.3, ko;q=0.8", "ko"),
    ("ko;q=0, en", "en"),  # q=0: not wanted
    ("ko;q=abc, en;q=0.1", "en"),  # a weight that is no number counts as 0
    ("de, fr", "en"),
    ("", "en"),
    (None, "en"),
])
async def test_the_language_is_the_browsers_first_of_ours_by_weight(language_of, side, accept_language, language):
    assert await language_of(side, accept_language) == language


def test_the_service_and_the_dashboard_keep_their_own_words_in_one_process():
    """Both catalogs may be loaded by one process (as in tests): neither side shows the other's texts."""
    assert service_i18n.translations("ko").gettext("Apply for the beta") == "베타 신청"
    assert dashboard_text.dashboard_text("ko")["title"] == "내 에이전트"
    assert service_i18n.translations("ko").gettext("My agents") == "My agents"
    assert dashboard_text.dashboard_text("en")["title"] == "My agents"
