"""The platform stops in seconds on SIGTERM or Ctrl-C, in the middle of everything, and leaves nothing behind.

A real hub with its proxy, the agents service delivering e-mail to a real
(slow) SMTP server, a signed-in person's server and a Claude kernel in the
middle of a streamed turn (the fake model stalls it). Started as a script's
background job starts it (SIGINT ignored) and stopped with SIGTERM, or stopped
with Ctrl-C on its process group, as a terminal does.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time

import psutil
import pytest
from jupyter_client.session import Session
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from agents_extension.store import open_store
from tests.email.conftest import MAIL_FROM, Mailbox, certificates, smtp_server  # noqa: F401 (fixtures)
from tests.fake_model import stall
from tests.hub.conftest import ADMIN, SERVICE, Hub, person
from tests.polling import wait_for

STOP_WITHIN = 5.0
MAIL_DELAY = 0.3  # the SMTP server takes this long to accept a message


class SlowMailbox(Mailbox):
    """Accepts each message MAIL_DELAY seconds after it arrived, so a stop can land mid-delivery."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.arrived.set()
        await asyncio.sleep(MAIL_DELAY)
        return await super().handle_DATA(server, session, envelope)


def start_turn(hub: Hub, token: str, name: str) -> None:
    """Start a Claude kernel in the person's server and send it a cell (over the kernel's websocket)."""
    kernel = hub.api(token, "POST", f"/user/{name}/api/kernels", json={"name": "claude"})
    assert kernel.status_code == 201, kernel.text
    url = f"{hub.url.replace('http', 'ws')}/user/{name}/api/kernels/{kernel.json()['id']}/channels"
    message = Session(username=name).msg("execute_request", {
        "code": "Write a long report", "silent": False, "store_history": True, "user_expressions": {},
        "allow_stdin": False, "stop_on_error": True})
    message["channel"] = "shell"

    async def send() -> None:
        socket = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
        await socket.write_message(json.dumps(message, default=str))
        await asyncio.sleep(0.5)
        socket.close()

    asyncio.run(send())


def the_platform(start_hub, smtp_server, model, *, ignore_sigint: bool):  # noqa: F811
    """A hub mid-everything: returns (hub, its process tree, the SMTP server)."""
    smtp = smtp_server("none")
    smtp.controller.handler = smtp.mailbox = SlowMailbox()
    hub = start_hub(ignore_sigint=ignore_sigint, OMA_SMTP_HOST="127.0.0.1", OMA_SMTP_PORT=str(smtp.port),
                    OMA_SMTP_SECURITY="none", OMA_MAIL_FROM=MAIL_FROM, OMA_MAIL_INTERVAL_SECONDS="0.2")
    admin = hub.sign_in(ADMIN)
    token = hub.token_for(admin)
    hub.start_server(token, ADMIN)
    model.script(stall("Here is the first part of the report"))
    start_turn(hub, token, ADMIN)
    wait_for(lambda: model.requests, 60)  # Claude Code is streaming the answer now

    applicant = hub.sign_in(person("jun"))
    applicant.post(SERVICE + "beta", data={"name": "Jun", "purpose": "Newsletters"}, xsrf_path=SERVICE)
    assert smtp.mailbox.arrived.wait(30), "the first e-mail never reached the SMTP server"
    tree = [psutil.Process(hub.process.pid), *psutil.Process(hub.process.pid).children(recursive=True)]
    for process in tree:  # what each was, for the failure message once it is gone
        process.info = {"cmdline": " ".join(process.cmdline())[:100]}
    names = {p.info["cmdline"] for p in tree}
    assert any("agents_extension.user_server" in n for n in names) and any("claude_kernel" in n for n in names), names
    assert any("_bundled/claude" in name for name in names), "no Claude Code CLI was running"
    return hub, tree, smtp


def wait_until_gone(processes: list[psutil.Process], deadline: float, gone: dict[int, float]) -> list[psutil.Process]:
    """Those of ``processes`` still running at ``deadline`` (monotonic); ``gone`` gets the time each
    of the others ended. An exited process that its parent, or this machine's init, has not reaped yet
    (a zombie) holds nothing and counts as gone."""
    def running(process: psutil.Process) -> bool:
        try:
            alive = process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            alive = False
        if not alive:
            gone.setdefault(process.pid, time.monotonic())
        return alive

    left = [p for p in processes if running(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [p for p in left if running(p)]
    return left


def assert_stopped_cleanly(hub: Hub, tree: list[psutil.Process], smtp, signalled_at: float, mark: int) -> None:
    gone: dict[int, float] = {}
    late = wait_until_gone(tree, signalled_at + STOP_WITHIN, gone)
    slow = [f"{p.info['cmdline']} (pid {p.pid})" for p in late]
    alive = wait_until_gone(late, time.monotonic() + 10, gone)
    ended = "\n".join(f"{gone[p.pid] - signalled_at:5.2f} s  {p.info['cmdline']}" for p in sorted(tree, key=lambda p: gone.get(p.pid, 1e9))
                      if p.pid in gone)
    print(f"After the signal, these ended:\n{ended}\nand the hub logged:\n{hub.log_since(mark)}")
    assert not alive, f"still running {STOP_WITHIN + 10:g} s after the signal: {slow}"
    assert not late, f"still running {STOP_WITHIN:g} s after the signal: {slow} (the stop's log is printed above)"
    log = hub.log_path.read_text()
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log[-4000:]
    assert "Agents service stopped on" in log

    # The e-mail being delivered was delivered once (and is recorded so) or is still pending.
    store = asyncio.run(_outbox(hub.env["OMA_DATA_DIR"]))
    delivered = [r.message["Message-ID"].split("@")[0].lstrip("<") for r in smtp.mailbox.received]
    assert delivered and len(delivered) == len(set(delivered))
    for message in store:
        if message.status == "sent":
            assert delivered.count(message.id) == 1, message
        else:
            assert message.status == "pending" and message.id not in delivered, message


async def _outbox(data_dir: str):
    store = open_store(f"sqlite:///{data_dir}/oh-my-agent.sqlite")
    try:
        return await store.list_outbox(100)
    finally:
        await store.close()


@pytest.mark.parametrize("stop", ["SIGTERM with SIGINT ignored", "Ctrl-C on the process group"])
def test_the_platform_stops_within_seconds_mid_turn_and_mid_mail(stop, start_hub, smtp_server, model):  # noqa: F811
    hub, tree, smtp = the_platform(start_hub, smtp_server, model, ignore_sigint=stop.startswith("SIGTERM"))
    mark, signalled_at = hub.log_mark(), time.monotonic()
    if stop.startswith("SIGTERM"):
        hub.process.send_signal(signal.SIGTERM)
    else:  # the hub leads its own process group, as a shell's foreground job does
        os.killpg(hub.process.pid, signal.SIGINT)
    assert_stopped_cleanly(hub, tree, smtp, signalled_at, mark)
