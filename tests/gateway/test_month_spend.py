"""The kernel's question for the month's spend (claude_kernel/month_spend.py), without a hub: the words of
the footer, and that a missing, unreachable or silent gateway costs the cell nothing but the month."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from claude_kernel.month_spend import month_standing, month_words
from claude_kernel.render import footer


def test_the_month_reads_against_the_limits_in_the_projects_money_format():
    standing = {"spent_usd": 1.2345, "limit_usd": 20, "agent": {"agent_id": "a1", "spent_usd": 0.00042,
                                                                "limit_usd": 5}}
    assert month_words(standing) == "this month $1.23 of $20.00 · this agent $0.0004 of $5.00"
    assert month_words({"spent_usd": 0.5, "limit_usd": None, "agent": {"spent_usd": 0.1, "limit_usd": None}}) \
        == "this month $0.50"  # no limit: the spend alone; an agent without a limit of its own: nothing more
    assert month_words(None) is None
    assert footer(2, 24, 14, 0.00042, 1.5, "this month $1.23 of $20.00") \
        == "2 turns · 24 in / 14 out tokens · $0.0004 · 1.5 s · this month $1.23 of $20.00"
    assert footer(1, 1, 1, 0, 1.0) == "1 turn · 1 in / 1 out tokens · $0.00 · 1.0 s"


class Listener:
    """A port that accepts connections and never answers (a hung gateway), counting who came."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                self.accepted.append(self.socket.accept()[0])
            except OSError:
                return

    def close(self) -> None:
        for connection in self.accepted:
            connection.close()
        self.socket.close()


@pytest.fixture
def listener():
    found = Listener()
    yield found
    found.close()


def test_a_server_with_a_model_key_of_its_own_asks_nobody(monkeypatch, listener):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{listener.port}")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-direct")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "a-token")
    assert asyncio.run(month_standing("a1")) is None
    time.sleep(0.1)
    assert listener.accepted == []  # not even a connection: no token goes anywhere it would not anyway


def test_a_gateway_that_does_not_answer_leaves_the_month_out_in_time(monkeypatch, listener):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "a-gateway-token")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{listener.port}")
    started = time.monotonic()
    assert asyncio.run(month_standing(None, timeout=0.5)) is None
    assert time.monotonic() - started < 2
    assert len(listener.accepted) == 1  # it did ask

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{dead}")
    assert asyncio.run(month_standing(None, timeout=0.5)) is None
