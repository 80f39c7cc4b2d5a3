"""The hub's log at the level an operator wants: the agents service's group sync at DEBUG, one line per
beta refusal (INFO, an expected event), and no warnings for the normal course of a beta application."""

from __future__ import annotations

import logging
import re

import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port
from tornado.web import Application, RequestHandler

from hub_config import logs
from hub_config.beta_gate import BetaRefused, QuietRefusals
from tests.hub.conftest import ADMIN, SERVICE, person
from tests.polling import wait_for


# -- the rules, in one process -------------------------------------------------------------------------
class Answers(RequestHandler):
    def get(self, path: str) -> None:
        self.write("{}")


@pytest.fixture
async def hub_like():
    """A tornado server logging its requests with the hub's log function."""
    sock, port = bind_unused_port()
    app = Application([(r"/hub/api/(.*)", Answers)], log_function=logs.log_request(logs.group_sync("beta")))
    server = HTTPServer(app)
    server.add_sockets([sock])
    yield lambda path: AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}{path}", raise_error=False)
    server.stop()


async def test_the_group_sync_is_logged_at_debug_and_other_requests_as_jupyterhub_logs_them(hub_like, caplog):
    caplog.set_level(logging.DEBUG, logger="tornado.access")
    await hub_like("/hub/api/groups/beta")
    await hub_like("/hub/api/groups/other")
    await hub_like("/hub/api/users")
    levels = {re.search(r"GET (\S+)", r.getMessage()).group(1): r.levelno for r in caplog.records
              if r.name == logging.getLogger("tornado.access").name}
    assert levels == {"/hub/api/groups/beta": logging.DEBUG, "/hub/api/groups/other": logging.INFO,
                      "/hub/api/users": logging.INFO}


@pytest.mark.parametrize(("level", "message", "kept"), [
    (logging.ERROR, "Error starting alice@example.org's server: HTTP 403: error ({})", False),
    (logging.ERROR, "Previous spawn for alice@example.org failed: HTTP 403: error ({})", False),
    (logging.WARNING, "403 GET /hub/spawn (127.0.0.1): {}", False),
    (logging.INFO, "Refused a server to alice@example.org: {}", True),  # not a repeat: the gate's own line
    (logging.ERROR, "Error starting alice@example.org's server: HTTP 500: disk full", True),
])
def test_only_the_repeats_of_a_beta_refusal_are_dropped(level, message, kept):
    record = logging.LogRecord("JupyterHub", level, __file__, 1, message.format(BetaRefused.MESSAGE), (), None)
    assert QuietRefusals().filter(record) is kept


def test_a_refusal_logged_with_its_traceback_is_dropped_and_other_failures_are_kept():
    def logged(error: Exception) -> logging.LogRecord:
        return logging.LogRecord("JupyterHub", logging.ERROR, __file__, 1, "Failed to spawn single-user server with form",
                                 (), (type(error), error, None))

    assert QuietRefusals().filter(logged(BetaRefused("http://hub/services/agents/beta"))) is False
    assert QuietRefusals().filter(logged(RuntimeError("disk full"))) is True


# -- the real hub's log ----------------------------------------------------------------------------------
def whole_log(hub) -> str:
    hub.log.flush()
    return hub.log_path.read_text()


def lines_about(hub, text: str) -> list[str]:
    return [line for line in whole_log(hub).splitlines() if text in line]


def test_a_refused_spawn_is_one_info_line_by_every_route(hub):
    email = person("refused")
    browser = hub.sign_in(email)
    token = hub.token_for(browser)
    assert browser.get("/hub/spawn").status_code == 403
    assert browser.get(f"/hub/spawn-pending/{email}").status_code == 403
    assert hub.api(token, "POST", f"/hub/api/users/{email}/server").status_code == 403
    about = lines_about(hub, email)
    refusals = [line for line in about if "Refused a server to" in line]
    assert len(refusals) == 2 and all(line.startswith("[I ") for line in refusals), refusals
    assert [line for line in about if line.startswith("[E ")] == []
    assert lines_about(hub, BetaRefused.MESSAGE) == [], "the refusal repeated in the log"


def test_the_group_sync_and_a_normal_beta_journey_leave_no_info_or_warning_noise(hub):
    mark = hub.log_mark()  # the hub is shared: what other modules' tests made it write is theirs
    admin = hub.sign_in(ADMIN)
    admin_token = hub.token_for(admin)
    email = person("journey")
    someone = hub.sign_in(email)
    token = hub.token_for(someone)
    assert hub.api(token, "POST", SERVICE + "api/beta/applications", json={"name": "J", "purpose": "p"}).status_code == 201
    for decision in ("approve", "reject"):
        decided = hub.api(admin_token, "POST", SERVICE + "api/beta/decisions", json={"emails": [email], "decision": decision})
        assert decided.status_code == 200, decided.text
    assert someone.get("/hub/home").ok
    # An admin approves in JupyterHub's admin panel (the beta group): the service's sync sees it.
    assert hub.api(admin_token, "POST", "/hub/api/groups/beta/users", json={"users": [email]}).ok
    wait_for(lambda: hub.api(admin_token, "GET", SERVICE + f"api/beta/people/{email}").json()["beta_status"]
             == "approved", 30)
    assert someone.get("/hub/home").ok

    log = hub.log_since(mark).splitlines()
    assert [line for line in log if "GET /hub/api/groups/beta " in line] == [], "the group sync is logged above DEBUG"
    assert [line for line in log if "already exists" in line] == []
    problems = [line for line in log if line.startswith(("[W ", "[E ")) and (email in line or " agents]" in line)]
    assert problems == []
