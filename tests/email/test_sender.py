"""The outbox sender against a real SMTP server (aiosmtpd) and the real SQLite store."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import pytest

from email_hook.sender import OutboxSender
from email_hook.templates import compose
from tests.email.conftest import MAIL_FROM, SMTP_PASSWORD, SMTP_USER, free_port

HUB = "https://agents.example.org"
APPLICANT = "jiwoo@example.com"
ADMINS = ["admin-one@example.org", "admin-two@example.org"]
PURPOSE = "매일 아침 논문을 요약하고 싶어요 (summarise papers every morning)"


def application_messages() -> list:
    context = {"hub_url": HUB, "name": "박지우", "email": APPLICANT, "purpose": PURPOSE, "organisation": "Example Lab"}
    return [
        compose("beta.applied.applicant", "ko", to=[APPLICANT], context=context),
        compose("beta.applied.admin", "en", to=ADMINS, context=context),
    ]


def approval_message(to: str = APPLICANT):
    return compose("beta.approved", "en", to=[to], context={"hub_url": HUB, "name": "Jiwoo"})


async def outbox_by_id(store) -> dict:
    return {message.id: message for message in await store.list_outbox()}


async def test_delivers_a_multipart_message_with_a_message_id_from_the_outbox_id(store, smtp_server, make_sender):
    server = smtp_server()
    sender = make_sender(server.port)
    messages = application_messages()
    await store.queue_messages(messages)

    assert await sender.deliver_due() == 2

    by_id = {r.message["Message-ID"]: r for r in server.mailbox.received}
    assert set(by_id) == {f"<{m.id}@example.org>" for m in messages}
    applicant = by_id[f"<{messages[0].id}@example.org>"]
    assert applicant.rcpt_tos == [APPLICANT]
    assert applicant.mail_from == "noreply@example.org"
    assert applicant.message["Subject"] == "[oh-my-agent] 베타 신청이 접수되었습니다"
    assert applicant.message["From"] == MAIL_FROM
    assert applicant.message["Auto-Submitted"] == "auto-generated"
    assert applicant.message.get_content_type() == "multipart/alternative"
    text = applicant.message.get_body(("plain",)).get_content()
    html = applicant.message.get_body(("html",)).get_content()
    assert PURPOSE in text and PURPOSE in html
    assert text == messages[0].text.replace("\r\n", "\n")
    admins = by_id[f"<{messages[1].id}@example.org>"]
    assert sorted(admins.rcpt_tos) == sorted(ADMINS)
    assert admins.message["To"] == ", ".join(ADMINS)

    stored = await outbox_by_id(store)
    for message in messages:
        assert stored[message.id].status == "sent"
        assert stored[message.id].attempts == 1
        assert stored[message.id].sent_at is not None

    assert await sender.deliver_due() == 0
    assert len(server.mailbox.received) == 2


async def test_starttls_with_login(store, smtp_server, make_sender, certificates, caplog):
    server = smtp_server("starttls")
    sender = make_sender(
        server.port, "starttls",
        smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD, smtp_ca_file=str(certificates.ca_file),
    )
    message = approval_message()
    await store.queue_messages([message])

    with caplog.at_level(logging.DEBUG):
        assert await sender.deliver_due() == 1

    [received] = server.mailbox.received
    assert received.tls
    assert received.login == SMTP_USER
    assert received.message["Message-ID"] == f"<{message.id}@example.org>"
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail"))
    assert message.id in ours and "beta.approved" in ours and "1 recipient(s)" in ours
    assert SMTP_PASSWORD not in ours
    assert "first agent" not in ours  # no bodies in logs


async def test_implicit_ssl_with_login(store, smtp_server, make_sender, certificates):
    server = smtp_server("ssl")
    sender = make_sender(
        server.port, "ssl",
        smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD, smtp_ca_file=str(certificates.ca_file),
    )
    await store.queue_messages(application_messages())

    assert await sender.deliver_due() == 2

    assert len(server.mailbox.received) == 2
    assert all(r.tls and r.login == SMTP_USER for r in server.mailbox.received)


@pytest.mark.parametrize(
    "problem",
    ["wrong password", "untrusted certificate", "server requires STARTTLS"],
)
async def test_a_server_we_cannot_use_sends_nothing_and_fails_no_message(store, smtp_server, make_sender, certificates, problem):
    server = smtp_server("starttls")
    settings = dict(smtp_username=SMTP_USER, smtp_password=SMTP_PASSWORD, smtp_ca_file=str(certificates.ca_file))
    security = "starttls"
    if problem == "wrong password":
        settings["smtp_password"] = "not-the-password"
    elif problem == "untrusted certificate":
        settings["smtp_ca_file"] = ""
    else:
        security, settings = "none", {}
    sender = make_sender(server.port, security, max_attempts=1, **settings)
    await store.queue_messages(application_messages())
    now = datetime.now(timezone.utc)

    for minutes in range(0, 300, 10):
        assert await sender.deliver_due(now + timedelta(minutes=minutes)) == 0

    assert server.mailbox.received == []
    stored = list((await outbox_by_id(store)).values())
    assert [m.status for m in stored] == ["pending", "pending"]
    assert sum(m.attempts for m in stored) == 1  # later rounds probe the server before claiming
    assert any(m.last_error for m in stored)
    assert "not-the-password" not in "".join(m.last_error for m in stored)


async def test_outage_loses_nothing_and_recovery_delivers_each_message_exactly_once(store, smtp_server, make_sender):
    port = free_port()  # nothing listens here yet
    sender = make_sender(port, retry_delay=30, max_attempts=2)
    messages = application_messages() + [approval_message(f"person{i}@example.com") for i in range(3)]
    await store.queue_messages(messages)
    now = datetime.now(timezone.utc) + timedelta(seconds=1)

    assert await sender.deliver_due(now) == 0

    stored = list((await outbox_by_id(store)).values())
    assert all(m.status == "pending" for m in stored)
    [attempted] = [m for m in stored if m.attempts]
    assert attempted.attempts == 1
    assert attempted.next_attempt_at > now
    assert "ConnectionRefused" in attempted.last_error or "connect" in attempted.last_error.lower()

    # Still down: the next rounds probe the server without spending attempts of any message.
    for seconds in (1, 40, 100, 200):
        assert await sender.deliver_due(now + timedelta(seconds=seconds)) == 0
    stored = list((await outbox_by_id(store)).values())
    assert all(m.status == "pending" for m in stored)
    assert sum(m.attempts for m in stored) == 1

    server = smtp_server(port=port)
    later = now + timedelta(hours=1)
    assert await sender.deliver_due(later) == len(messages)

    assert sorted(server.mailbox.message_ids) == sorted(f"<{m.id}@example.org>" for m in messages)
    stored = await outbox_by_id(store)
    assert all(m.status == "sent" for m in stored.values())

    for hours in (2, 3, 48):
        assert await sender.deliver_due(now + timedelta(hours=hours)) == 0
    assert len(server.mailbox.received) == len(messages)


async def test_a_permanently_refused_message_ends_failed_after_max_attempts(store, smtp_server, make_sender):
    server = smtp_server(refuse={"nobody@example.com"})
    sender = make_sender(server.port, retry_delay=30, max_retry_delay=100, max_attempts=4)
    refused, good = approval_message("nobody@example.com"), approval_message("jiwoo@example.com")
    await store.queue_messages([refused, good])
    now = datetime.now(timezone.utc) + timedelta(seconds=1)

    # A refused message does not stop the round: the good one still goes out.
    assert await sender.deliver_due(now) == 1
    assert server.mailbox.message_ids == [f"<{good.id}@example.org>"]

    expected_delays = [30, 60, 100]  # doubling, capped at max_retry_delay
    for attempt, delay in enumerate(expected_delays, start=1):
        message = (await outbox_by_id(store))[refused.id]
        assert (message.status, message.attempts) == ("pending", attempt)
        assert message.next_attempt_at == now + timedelta(seconds=delay)
        assert "550" in message.last_error
        assert await sender.deliver_due(now + timedelta(seconds=delay - 1)) == 0  # not due yet
        assert (await outbox_by_id(store))[refused.id].attempts == attempt
        now += timedelta(seconds=delay)
        assert await sender.deliver_due(now) == 0

    message = (await outbox_by_id(store))[refused.id]
    assert (message.status, message.attempts) == ("failed", 4)
    assert "550" in message.last_error
    assert await sender.deliver_due(now + timedelta(days=1)) == 0
    assert (await outbox_by_id(store))[refused.id].attempts == 4
    assert server.mailbox.message_ids == [f"<{good.id}@example.org>"]


async def test_a_message_refused_for_some_recipients_goes_to_the_others_once(store, smtp_server, make_sender):
    server = smtp_server(refuse={"nobody@example.org"})
    sender = make_sender(server.port)
    message = compose(
        "beta.applied.admin", "en", to=["nobody@example.org", "admin@example.org"],
        context={"hub_url": HUB, "name": "Jiwoo", "email": APPLICANT, "purpose": "papers"},
    )
    await store.queue_messages([message])

    assert await sender.deliver_due() == 1
    assert await sender.deliver_due(datetime.now(timezone.utc) + timedelta(hours=2)) == 0

    [received] = server.mailbox.received
    assert received.rcpt_tos == ["admin@example.org"]
    assert (await outbox_by_id(store))[message.id].status == "sent"


class _ForgetfulStore:
    """The real store, except that recording a send fails the first time."""

    def __init__(self, store):
        self._store = store
        self.failures_left = 1

    def __getattr__(self, name):
        return getattr(self._store, name)

    async def mark_sent(self, message_id, now):
        if self.failures_left:
            self.failures_left -= 1
            raise OSError("disk I/O error")
        await self._store.mark_sent(message_id, now)


async def test_a_sent_message_is_never_sent_again_even_when_recording_it_failed(store, smtp_server):
    server = smtp_server()
    sender = OutboxSender(
        _ForgetfulStore(store), smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none",
        mail_from=MAIL_FROM, lease_seconds=60,
    )
    message = approval_message()
    await store.queue_messages([message])
    now = datetime.now(timezone.utc) + timedelta(seconds=1)

    with pytest.raises(OSError, match="disk I/O error"):
        await sender.deliver_due(now)
    assert len(server.mailbox.received) == 1
    assert (await outbox_by_id(store))[message.id].status == "pending"

    # Next round (even after the lease ran out) records the send instead of repeating it.
    assert await sender.deliver_due(now + timedelta(minutes=5)) == 0
    assert (await outbox_by_id(store))[message.id].status == "sent"
    assert await sender.deliver_due(now + timedelta(hours=5)) == 0
    assert len(server.mailbox.received) == 1


async def test_two_senders_never_send_the_same_message(store, smtp_server, make_sender):
    server = smtp_server()
    first, second = make_sender(server.port), make_sender(server.port)
    messages = [approval_message(f"person{i}@example.com") for i in range(12)]
    await store.queue_messages(messages)

    counts = await asyncio.gather(first.deliver_due(), second.deliver_due())

    assert sum(counts) == len(messages)
    assert sorted(server.mailbox.message_ids) == sorted(f"<{m.id}@example.org>" for m in messages)


async def test_local_mode_without_an_smtp_host_leaves_messages_in_the_outbox(store, monkeypatch):
    monkeypatch.delenv("OMA_SMTP_HOST", raising=False)
    monkeypatch.delenv("OMA_MAIL_FROM", raising=False)
    sender = OutboxSender(store)
    messages = application_messages()
    await store.queue_messages(messages)

    assert not sender.configured
    assert await sender.deliver_due() == 0
    stored = await outbox_by_id(store)
    assert [(m.status, m.attempts) for m in stored.values()] == [("pending", 0), ("pending", 0)]


async def test_run_forever_delivers_when_woken_and_stops_cleanly(store, smtp_server, make_sender):
    server = smtp_server()
    sender = make_sender(server.port)
    task = asyncio.create_task(sender.run_forever(interval=3600))
    await asyncio.sleep(0.05)  # the first (empty) round

    await store.queue_messages([approval_message()])
    sender.wake()
    for _ in range(200):
        if server.mailbox.received:
            break
        await asyncio.sleep(0.02)
    assert len(server.mailbox.received) == 1

    sender.stop()
    await asyncio.wait_for(task, timeout=5)


async def test_run_forever_survives_a_failing_round(store, make_sender, caplog):
    sender = make_sender(free_port(), retry_delay=0.01, max_retry_delay=0.01)
    calls = 0

    async def broken_claim(now, lease_seconds):
        nonlocal calls
        calls += 1
        raise RuntimeError("store unavailable")

    sender.store = type("BrokenStore", (), {"claim_due_message": staticmethod(broken_claim)})()
    task = asyncio.create_task(sender.run_forever(interval=0.01))
    while calls < 3:
        await asyncio.sleep(0.01)
    sender.stop()
    await asyncio.wait_for(task, timeout=5)
    assert "Outbox delivery round failed" in caplog.text


@pytest.mark.parametrize(
    "attempts, seconds",
    [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (9, 3600), (200, 3600)],
)
def test_backoff_doubles_from_30_seconds_up_to_an_hour(store, attempts, seconds):
    assert OutboxSender(store).retry_delay_after(attempts) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, dict(smtp_host="", smtp_port=587, smtp_security="starttls", smtp_username="", mail_from="", smtp_timeout=30.0)),
        (
            {"OMA_SMTP_HOST": "smtp.example.org", "OMA_SMTP_USERNAME": "bot@example.org", "OMA_SMTP_PASSWORD": "pw"},
            dict(smtp_host="smtp.example.org", smtp_port=587, smtp_username="bot@example.org", smtp_password="pw",
                 mail_from="bot@example.org"),
        ),
        ({"OMA_SMTP_SECURITY": "SSL"}, dict(smtp_security="ssl", smtp_port=465)),
        ({"OMA_SMTP_SECURITY": "ssl", "OMA_SMTP_PORT": "2465"}, dict(smtp_port=2465)),
        ({"OMA_SMTP_SECURITY": "none", "OMA_SMTP_PORT": "25"}, dict(smtp_security="none", smtp_port=25)),
        (
            {"OMA_MAIL_FROM": "oh-my-agent <noreply@example.org>", "OMA_SMTP_USERNAME": "bot@example.org"},
            dict(mail_from="oh-my-agent <noreply@example.org>"),
        ),
        ({"OMA_SMTP_TIMEOUT": "5", "OMA_SMTP_CA_FILE": "/etc/ca.pem"}, dict(smtp_timeout=5.0, smtp_ca_file="/etc/ca.pem")),
    ],
)
def test_settings_come_from_the_environment(store, monkeypatch, env, expected):
    for name in ("HOST", "PORT", "USERNAME", "PASSWORD", "SECURITY", "TIMEOUT", "CA_FILE"):
        monkeypatch.delenv(f"OMA_SMTP_{name}", raising=False)
    monkeypatch.delenv("OMA_MAIL_FROM", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    sender = OutboxSender(store)

    assert {name: getattr(sender, name) for name in expected} == expected


@pytest.mark.parametrize(
    "name, value, setting",
    [
        ("OMA_SMTP_SECURITY", "tls", "smtp_port"),
        ("OMA_SMTP_PORT", "smtp", "smtp_port"),
        ("OMA_MAIL_FROM", "oh-my-agent", "mail_from"),
    ],
)
def test_bad_settings_in_the_environment_are_named(store, monkeypatch, name, value, setting):
    monkeypatch.setenv(name, value)
    sender = OutboxSender(store)
    with pytest.raises(Exception, match=name):
        getattr(sender, setting)


async def test_a_server_that_never_answers_times_out_as_an_outage(store, make_sender):
    async def silent(reader, writer):
        await reader.read()  # accept the connection, never greet
        writer.close()

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    sender = make_sender(port, smtp_timeout=0.3)
    await store.queue_messages([approval_message()])
    try:
        assert await asyncio.wait_for(sender.deliver_due(), timeout=5) == 0
    finally:
        listener.close()

    [message] = await store.list_outbox()
    assert (message.status, message.attempts) == ("pending", 1)
    assert "Timeout" in message.last_error
