"""The platform's e-mail end to end: beta events on a real hub, delivered to a real SMTP server."""

from __future__ import annotations

import time

from tests.email.conftest import MAIL_FROM, SMTP_PASSWORD, SMTP_USER, certificates, smtp_server  # noqa: F401 (fixtures)
from tests.hub.conftest import ADMIN, SERVICE, person
from tests.polling import wait_for


def wait_for_mail(mailbox, count: int, timeout: float = 30.0) -> None:
    wait_for(lambda: len(mailbox.received) >= count, timeout)


def test_beta_events_are_mailed_once_each_over_starttls_and_survive_an_outage(start_hub, smtp_server, certificates):  # noqa: F811
    server = smtp_server("starttls")
    port = server.port
    hub = start_hub(OMA_SMTP_HOST="127.0.0.1", OMA_SMTP_PORT=str(port), OMA_SMTP_SECURITY="starttls",
                    OMA_SMTP_USERNAME=SMTP_USER, OMA_SMTP_PASSWORD=SMTP_PASSWORD, OMA_MAIL_FROM=MAIL_FROM,
                    OMA_SMTP_CA_FILE=str(certificates.ca_file), OMA_MAIL_INTERVAL_SECONDS="0.3", OMA_MAIL_RETRY_SECONDS="1")
    admin_token = hub.token_for(hub.sign_in(ADMIN))
    email = person("mina")
    mina = hub.sign_in(email, accept_language="ko")
    mina.post(SERVICE + "beta", data={"name": "Mina", "purpose": "블로그 초안 작성"}, xsrf_path=SERVICE)
    wait_for_mail(server.mailbox, 2)
    by_recipient = {tuple(r.rcpt_tos): r for r in server.mailbox.received}
    to_mina = by_recipient[(email,)]
    assert to_mina.tls and to_mina.login == SMTP_USER
    assert {part.get_content_type() for part in to_mina.message.iter_parts()} == {"text/plain", "text/html"}
    assert "블로그 초안 작성" in to_mina.message.get_body(("plain",)).get_content()
    assert (ADMIN,) in by_recipient

    # the SMTP server goes away; the approval waits in the outbox, then goes out once
    server.stop()
    hub.api(admin_token, "POST", SERVICE + "api/beta/decisions", json={"emails": [email], "decision": "approve"})
    time.sleep(2)
    approval = [m for m in hub.api(admin_token, "GET", SERVICE + "api/outbox").json() if m["event"] == "beta.approved" and m["to"] == [email]]
    assert approval and approval[0]["status"] == "pending"
    again = smtp_server("starttls", port=port)
    wait_for_mail(again.mailbox, 1, timeout=120)
    time.sleep(2)
    assert [r.rcpt_tos for r in again.mailbox.received] == [[email]]
    statuses = {m["event"]: m["status"] for m in hub.api(admin_token, "GET", SERVICE + "api/outbox").json() if email in m["to"]}
    assert statuses == {"beta.applied.applicant": "sent", "beta.approved": "sent"}
