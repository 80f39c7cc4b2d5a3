"""The hub's own pages as a person sees them, in headless Chromium at desktop and phone width, in English
and Korean: sign-in, the home page in each beta state (not applied, waiting, rejected, approved) and the
pages that refuse (a spawn refused by the beta gate, a stopped server's address, a missing page, an
admin's page). Each page's visible words are checked, a screenshot of it kept (test-artifacts/), and an
axe-core scan has nothing serious or critical to report.

One hub for the module; the people in each state are made through the API, so the browser only looks.
"""

from __future__ import annotations

import pytest

from tests.browser import DESKTOP, PHONE, axe_violations, chromium, screenshot, sign_in  # noqa: F401 (chromium: a fixture)
from tests.hub.conftest import ADMIN, SERVICE, person

WIDTHS = {"desktop": DESKTOP, "phone": PHONE}
BROWSER_LANGUAGES = {"en": "en-US", "ko": "ko-KR"}

# What each page must say, in each language: the words a person reads to know where they stand.
SAYS = {
    "en": {
        "sign-in": ["oh-my-agent", "Build AI agents", "Development sign-in",
                    "For trying the platform on this machine", "E-mail address"],
        "not applied": ["Apply for the beta", "an admin reviews each application"],
        "pending": ["Your application is waiting for review", "You applied on", "An admin decides",
                    "you will get an e-mail at"],
        "rejected": ["Your application was not accepted", "an admin decided not to open the beta to you",
                     "The admin's note", "Not this month, sorry", "Apply again"],
        "approved": ["Your notebooks", "Open my notebooks", "My agents"],
        "spawn refused": ["Your notebooks can't start yet", "Only people approved for the beta",
                          "Go to the beta page"],
        "server address": ["Your application is waiting for review", "See my application"],
        "missing page": ["Page not found", "There is no page at this address", "Go to the home page"],
        "admin page": ["Not possible", "Your account may not open this page", "Go to the home page"],
        "nav": ["Home", "Token", "Logout"],
    },
    "ko": {
        "sign-in": ["oh-my-agent", "AI 에이전트를 만들고", "개발용 로그인", "이 컴퓨터에서 플랫폼을 시험해 보기",
                    "이메일 주소"],
        "not applied": ["베타 신청하기", "관리자가 신청서를 검토하고"],
        "pending": ["신청서가 검토를 기다리고 있습니다", "에 신청했습니다", "관리자가 신청서를 하나씩 검토하며"],
        "rejected": ["신청이 승인되지 않았습니다", "관리자가 지금은 베타를 열어 드리지 않기로", "관리자의 메모",
                     "Not this month, sorry", "다시 신청하기"],
        "approved": ["내 노트북", "내 노트북 열기", "내 에이전트"],
        "spawn refused": ["아직 노트북을 시작할 수 없습니다", "베타 승인을 받은 분만", "베타 페이지로 가기"],
        "server address": ["신청서가 검토를 기다리고 있습니다", "내 신청서 보기"],
        "missing page": ["페이지를 찾을 수 없습니다", "이 주소에는 페이지가 없습니다", "홈으로 가기"],
        "admin page": ["열 수 없는 페이지", "이 계정으로는 이 페이지를 열 수 없습니다", "홈으로 가기"],
        "nav": ["홈", "토큰", "로그아웃"],
    },
}
# Words that must not be seen: JupyterHub's, which say something untrue or mean nothing to these people.
NEVER = ["Password", "contact admin", "JupyterHub home page", "Spawn failed", "Relaunch", "moons",
         "Start My Server"]


@pytest.fixture(scope="module")
def people(hub):
    """One person in each beta state (for the whole module), made through the service's API."""
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    made = {}
    for state in ("not applied", "pending", "rejected", "approved"):
        email = person(state.replace(" ", "-"))
        browser = hub.sign_in(email)
        made[state] = email
        if state == "not applied":
            continue
        applied = hub.api(hub.token_for(browser), "POST", SERVICE + "api/beta/applications",
                          json={"name": "Mina", "purpose": "Weekly competitor research"})
        assert applied.status_code == 201, applied.text
        if state in ("rejected", "approved"):
            decided = hub.api(admin_token, "POST", SERVICE + "api/beta/decisions",
                              json={"emails": [email], "decision": "approve" if state == "approved" else "reject",
                                    "note": "Not this month, sorry" if state == "rejected" else ""})
            assert decided.status_code == 200, decided.text
    return made


def check(page, request, language: str, state: str, *, signed_in: bool = True) -> str:
    """The page says what ``state`` should in ``language``, names the product in its tab, fits the screen,
    has nothing serious for axe; its screenshot is kept. Returns the visible text."""
    # The served font is loaded before the screenshot (a person sees it swapped in a moment later).
    page.evaluate("Promise.all(['16px', 'bold 16px'].map(f => document.fonts.load(f + ' \"Noto Sans KR\"', '한국어')))"
                  ".then(() => document.fonts.ready)")
    text = page.inner_text("body")
    screenshot(page, request, state.replace(" ", "-"))
    wanted = SAYS[language][state] + (SAYS[language]["nav"] if signed_in else [])
    assert [words for words in wanted if words not in text] == [], f"{state}: missing words in\n{text}"
    assert [words for words in NEVER if words in text] == [], f"{state}: JupyterHub's words in\n{text}"
    assert "oh-my-agent" in page.title(), page.title()
    assert page.evaluate("document.documentElement.lang") == language
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), f"{state}: wider than the screen"
    assert axe_violations(page) == [], state
    return text


def open_navigation(page) -> None:
    """At phone width the navigation bar is folded behind its button."""
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()
        page.wait_for_selector("#thenavbar.show:not(.collapsing)")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("language", BROWSER_LANGUAGES)
def test_every_hub_page_says_where_the_person_stands_in_their_language(hub, chromium, people, request, width, language):
    context = chromium.new_context(viewport=WIDTHS[width], locale=BROWSER_LANGUAGES[language])
    page = context.new_page()
    try:
        page.goto(f"{hub.url}/hub/login")
        check(page, request, language, "sign-in", signed_in=False)
        assert page.locator("input[type=password]").count() == 0

        for state, email in people.items():
            context.clear_cookies()
            sign_in(page, hub, email)
            open_navigation(page)
            check(page, request, language, state)
            if state == "pending":
                assert email in page.inner_text("#beta-waiting")
                # Every refusal by any route says why and where to go, with the navigation bar.
                for refusal, path in (("spawn refused", "/hub/spawn"), ("server address", f"/user/{email}/"),
                                      ("missing page", "/hub/no-such-page"), ("admin page", "/hub/admin")):
                    page.goto(hub.url + path)
                    open_navigation(page)
                    check(page, request, language, refusal)
    finally:
        context.close()


def test_the_language_switch_is_kept_across_the_hub_and_sign_ins(hub, chromium, people, request):
    """An English browser switched to Korean stays Korean on every page, after signing out and in again."""
    context = chromium.new_context(viewport=PHONE, locale="en-US")
    page = context.new_page()
    try:
        page.goto(f"{hub.url}/hub/login")
        assert "Development sign-in" in page.inner_text("body")
        page.click("#login-main .oma-language-ko")
        page.wait_for_url(f"{hub.url}/hub/login")
        assert "개발용 로그인" in page.inner_text("body")
        cookie = next(c for c in context.cookies() if c["name"] == "oma_lang")
        assert cookie["value"] == "ko" and cookie["path"] == "/"
        sign_in(page, hub, people["pending"])
        assert "신청서가 검토를 기다리고 있습니다" in page.inner_text("body")
        screenshot(page, request, "switched-to-korean")
        open_navigation(page)
        page.click("#thenavbar .oma-language-en")
        page.wait_for_url(f"{hub.url}/hub/home")
        assert "Your application is waiting for review" in page.inner_text("body")
    finally:
        context.close()


def test_korean_renders_with_the_served_web_font(hub, chromium, people):
    """Hangul is drawn with the Noto Sans KR served by the hub (the viewer may have no Korean font)."""
    context = chromium.new_context(viewport=DESKTOP, locale="ko-KR")
    page = context.new_page()
    try:
        fonts = []
        page.on("response", lambda response: fonts.append(response) if response.url.endswith(".woff2") else None)
        sign_in(page, hub, people["not applied"])
        page.evaluate("document.fonts.ready")
        assert page.evaluate("document.fonts.check('16px \"Noto Sans KR\"', '베타')")
        assert any(f.ok and "/hub/oma-fonts/" in f.url for f in fonts), [f.url for f in fonts]
    finally:
        context.close()


@pytest.mark.parametrize(("target", "lands_on"), [
    ("/hub/token", "/hub/token"),
    ("//evil.example/phish", "/hub/home"),  # another site, however written, is never where the switch leads
    ("https://evil.example/", "/hub/home"),
    ("/\\evil.example", "/hub/home"),
    ("", "/hub/home"),
])
def test_the_language_switch_only_leads_back_to_this_site(hub, target, lands_on):
    browser = hub.sign_in(person("switch"))
    answer = browser.get("/hub/language", params={"lang": "ko", "next": target}, allow_redirects=False)
    assert answer.status_code == 302 and answer.headers["Location"] == lands_on
    assert browser.cookies.get("oma_lang") == "ko"


def test_an_unknown_language_is_a_400_naming_the_field(hub):
    answer = hub.sign_in(person("switch")).get("/hub/language", params={"lang": "fr"}, allow_redirects=False)
    assert answer.status_code == 400 and "lang must be one of en, ko" in answer.text


def test_with_google_the_sign_in_page_is_one_google_button(google_hub, chromium, request):
    hub = google_hub
    for language, says in (("en", ["oh-my-agent", "Build AI agents", "Sign in with Google"]),
                           ("ko", ["oh-my-agent", "AI 에이전트를 만들고", "Google 계정으로 로그인"])):
        context = chromium.new_context(viewport=PHONE, locale=BROWSER_LANGUAGES[language])
        page = context.new_page()
        page.goto(f"{hub.url}/hub/login")
        text = page.inner_text("body")
        screenshot(page, request, f"google-{language}")
        assert [words for words in says if words not in text] == [], text
        assert page.locator("#dev-login, input[type=password], #username_input").count() == 0
        assert page.locator("a#sign-in-with-google").count() == 1
        assert axe_violations(page) == []
        context.close()


def test_a_running_server_is_stopped_from_home_and_its_address_then_says_so_in_korean(hub, chromium, request):
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    email, _ = hub.person_with_server(admin_token, "runner")
    context = chromium.new_context(viewport=PHONE, locale="ko-KR")
    page = context.new_page()
    try:
        sign_in(page, hub, email)
        assert "노트북이 실행 중입니다" in page.inner_text("body")
        assert page.inner_text("#stop") == "내 서버 중지"
        screenshot(page, request, "running")
        assert axe_violations(page) == []
        page.click("#stop")
        page.wait_for_selector("#stop", state="detached", timeout=60_000)  # the page reloads once it stopped
        assert "내 노트북 열기" in page.inner_text("#start")

        page.goto(f"{hub.url}/user/{email}/lab")
        open_navigation(page)
        text = check_not_running(page, request)
        assert "Start My Server" not in text and "Launch" not in text
    finally:
        context.close()


def check_not_running(page, request) -> str:
    page.wait_for_selector("#start")
    text = page.inner_text("body")
    screenshot(page, request, "not-running")
    for words in ("노트북이 실행 중이 아닙니다", "내 노트북 시작", "홈으로 돌아가기", "로그아웃"):
        assert words in text, text
    assert axe_violations(page) == []
    return text
