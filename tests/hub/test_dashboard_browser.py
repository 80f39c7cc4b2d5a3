"""The agents dashboard as a person who does not code meets it, in headless Chromium: the agent form
in words, its confirmation, its errors beside their fields, editing in place, statuses explained;
at desktop and phone width, in English and Korean, with an accessibility scan. And the cost the
dashboard shows is the sum of what the cells showed, read by the same formatter as ``%session``.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
import websocket

from oma_contract.money import format_usd
from oma_contract.permission_choices import Answer, PermissionChoices, tool_lists
from tests.browser import DESKTOP, PHONE, axe_violations, chromium, fits_the_screen, screenshot  # noqa: F401 (a fixture)
from tests.fake_model import say
from tests.hub.browser_pages import signed_in_page
from tests.hub.conftest import ADMIN, Hub
from tests.polling import wait_for

# What a person reads, per language: the form's choices, its confirmation and its errors.
WORDS = {
    "en": {"new": "New agent", "read": "Read files in its folder", "change": "Change and create files in its folder",
           "run": "Run commands", "search": "Search the web", "fetch": "Fetch web pages", "allow": "Without asking",
           "never": "Never", "ask": "Ask me first", "mode": "Refuse it without asking",
           "ready_help": "Ready: it is in JupyterLab's launcher", "paused_help": "Paused: its notebooks refuse",
           "saved": "Saved. {name} is ready", "edit": "Edit {name}", "empty_name": "Give the agent a name.",
           "taken": "You already have an agent called {name}. Pick another name.", "ready": "Ready",
           "turns": "Give a whole number from 1 to 500, or leave it empty for no limit.", "advanced": "Advanced"},
    "ko": {"new": "새 에이전트", "read": "폴더 안 파일 읽기", "change": "폴더 안 파일 수정·생성", "run": "명령 실행",
           "search": "웹 검색", "fetch": "웹 페이지 가져오기", "allow": "묻지 않고", "never": "절대 안 함",
           "ask": "먼저 나에게 묻기", "mode": "묻지 않고 거절하기", "ready_help": "준비됨: JupyterLab 런처에 있고",
           "paused_help": "일시 중지: 다시 준비됨으로", "saved": "저장했습니다. {name} 에이전트가 준비되었습니다",
           "edit": "{name} 편집", "empty_name": "에이전트 이름을 입력하세요.",
           "taken": "이미 {name}라는 에이전트가 있습니다. 다른 이름을 고르세요.", "ready": "준비됨",
           "turns": "1에서 500 사이의 정수를 입력하거나, 제한이 없으면 비워 두세요.", "advanced": "고급"},
}
@pytest.fixture(scope="module")
def owner(hub: Hub):
    """A person approved for the beta, with a running server: (email, token)."""
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    return hub.person_with_server(admin_token, "dash")


def browser_page(chromium, hub: Hub, owner, language: str, viewport: dict):  # noqa: F811
    return signed_in_page(chromium, hub, owner[0], language, viewport)


def agents_of(hub: Hub, owner) -> list[dict]:
    email, token = owner
    return hub.api(token, "GET", f"/user/{email}/api/agents").json()


def no_serious_violations(page) -> None:
    assert axe_violations(page) == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_agent_form_speaks_the_persons_language_and_confirms_what_it_saved(hub, chromium, owner, request,  # noqa: F811
                                                                               language, viewport):
    words = WORDS[language]
    email = owner[0]
    name = f"Newsletter writer {uuid.uuid4().hex[:4]}"
    context, page = browser_page(chromium, hub, owner, language, viewport)
    page.goto(f"{hub.url}/user/{email}/agents")
    page.click("#new-agent")
    form = page.locator("#agent-form")
    assert form.locator("#form-heading").inner_text() == words["new"]
    # what the agent may do, as choices in words; the rule syntax only behind "Advanced"
    for key in ("read", "change", "run", "search", "fetch"):
        assert form.locator(f'[data-capability="{key}"] legend').inner_text() == words[key]
    assert form.locator('[data-capability="change"]').inner_text().count(words["allow"]) == 1
    assert not page.locator("#f-allowed_tools").is_visible()
    assert words["advanced"] in form.locator("#advanced summary").inner_text()
    # the statuses, explained on the form
    status_help = form.locator("#help-status").inner_text()
    assert words["ready_help"] in status_help and words["paused_help"] in status_help
    assert fits_the_screen(page)
    screenshot(page, request, "new-agent-form")
    no_serious_violations(page)

    # an error is a sentence beside its field
    page.click("#save")
    name_error = form.locator('[data-field-box="name"] .field-error')
    name_error.wait_for()
    assert name_error.inner_text() == words["empty_name"]
    assert page.locator("#f-name").get_attribute("aria-invalid") == "true"
    page.fill("#f-name", name)
    page.fill("#f-max_turns", "9999")
    page.click("#save")
    turns_error = form.locator('[data-field-box="max_turns"] .field-error')
    turns_error.wait_for()
    assert turns_error.inner_text() == words["turns"]
    assert "'max_turns'" not in page.inner_text("body")
    screenshot(page, request, "field-error")
    page.fill("#f-max_turns", "")

    page.check('input[name="may-change"][value="allow"]')
    page.check('input[name="may-fetch"][value="never"]')
    page.select_option("#f-permission_mode", label=words["mode"])
    page.click("#advanced summary")
    page.fill("#f-allowed_tools", "Bash(ls:*)")
    page.click("#save")
    # the confirmation, said by the saved agent's card
    confirmation = page.locator(".agent #confirmation")
    confirmation.wait_for()
    assert confirmation.inner_text().startswith(words["saved"].format(name=name))
    card = page.locator(".agent", has=page.locator("h2", has_text=name))
    assert card.locator(".badge").inner_text() == words["ready"]
    assert fits_the_screen(page)
    screenshot(page, request, "saved")
    no_serious_violations(page)

    # stored in Claude Code's shape, as the one mapping module says
    stored = next(a for a in agents_of(hub, owner) if a["name"] == name)
    answers = {"read": Answer.ALLOW, "change": Answer.ALLOW, "run": Answer.ASK, "search": Answer.ASK,
               "fetch": Answer.NEVER}
    assert (stored["allowed_tools"], stored["disallowed_tools"]) == tool_lists(PermissionChoices(answers, ["Bash(ls:*)"]))
    assert stored["permission_mode"] == "dontAsk" and stored["status"] == "active"

    # editing in place: the form opens in the card, with a heading naming the agent, holding its choices
    card.locator("button.edit").click()
    assert card.locator("#agent-form").is_visible()
    assert card.locator("#form-heading").inner_text() == words["edit"].format(name=name)
    assert page.is_checked('input[name="may-change"][value="allow"]')
    assert page.is_checked('input[name="may-fetch"][value="never"]')
    assert page.is_checked('input[name="may-run"][value="ask"]')
    assert page.input_value("#f-allowed_tools") == "Bash(ls:*)"
    assert fits_the_screen(page)
    screenshot(page, request, "editing-in-place")
    no_serious_violations(page)
    page.click("#cancel")

    # a name already taken: said beside the name, in words
    page.click("#new-agent")
    page.fill("#f-name", name.upper())
    page.click("#save")
    name_error.wait_for()
    assert name_error.inner_text() == words["taken"].format(name=name.upper())
    # taken by an agent made elsewhere since the page loaded: the service refuses it, said the same way
    elsewhere = f"Made elsewhere {uuid.uuid4().hex[:4]}"
    assert hub.api(owner[1], "POST", f"/user/{email}/api/agents", json={"name": elsewhere}).status_code == 201
    page.fill("#f-name", elsewhere)
    page.click("#save")
    page.locator('[data-field-box="name"] .field-error', has_text=elsewhere).wait_for()
    assert name_error.inner_text() == words["taken"].format(name=elsewhere)
    context.close()


# -- cost ----------------------------------------------------------------------------------------
class Notebook:
    """One kernel of the owner's server, driven as JupyterLab does (over its websocket)."""

    def __init__(self, hub: Hub, token: str, email: str, kernel: str) -> None:
        started = hub.api(token, "POST", f"/user/{email}/api/kernels", json={"name": kernel})
        assert started.status_code == 201, started.text
        self.ws = websocket.create_connection(
            f"ws://127.0.0.1:{hub.port}/user/{email}/api/kernels/{started.json()['id']}/channels",
            header=[f"Authorization: token {token}"], timeout=120)
        self.session = uuid.uuid4().hex

    def run(self, code: str) -> str:
        """The cell's text, once the kernel is idle again."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "", "session": self.session, "msg_type": "execute_request",
                       "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        output, replied, idle = [], False, False
        while not (replied and idle):
            message = json.loads(self.ws.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                output.append(content["text"])
            elif kind in ("display_data", "update_display_data", "execute_result"):
                output.append(content["data"].get("text/plain", ""))
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        return "\n".join(output)

    def close(self) -> None:
        self.ws.close()


FOOTER_COST = re.compile(r"tokens · (< \$0\.0001|\$[0-9.,]+) · [0-9.]+ s")


def test_the_dashboard_cost_is_the_sum_of_the_cells_costs_as_percent_session_says(hub, chromium, owner, fake_model,  # noqa: F811
                                                                                   request):
    email, token = owner
    made = hub.api(token, "POST", f"/user/{email}/api/agents", json={"name": "Cost counter", "status": "active"})
    assert made.status_code == 201, made.text
    agent = made.json()
    # token counts whose cost is a whole number of hundredths of a cent, as every figure shows it
    fake_model.script(say("One.", input_tokens=100, output_tokens=10), say("Two.", input_tokens=200, output_tokens=30))
    notebook = Notebook(hub, token, email, f"claude-{agent['slug']}")
    try:
        cells = [notebook.run("First question"), notebook.run("Second question")]
        session = notebook.run("%session")
    finally:
        notebook.close()
    costs = [FOOTER_COST.search(cell).group(1) for cell in cells]
    # fractions of a cent, each shown as counted (rounded to cents, both would read "$0.00")
    assert all(cost.startswith("$0.00") and 0 < float(cost.lstrip("$")) < 0.01 for cost in costs), costs
    total = format_usd(sum(float(cost.lstrip("$")) for cost in costs))
    assert f"Cost: {total}" in session

    def usage() -> dict:
        return next(a for a in agents_of(hub, owner) if a["id"] == agent["id"])["usage"]

    wait_for(lambda: usage()["turns"] == 2, 30)
    for language in ("en", "ko"):
        context, page = browser_page(chromium, hub, owner, language, DESKTOP)
        page.goto(f"{hub.url}/user/{email}/agents")
        shown = page.locator(f'#agent-{agent["id"]} [data-stat="cost"] b').inner_text()
        assert shown == total
        screenshot(page, request, f"cost-{language}")
        context.close()
