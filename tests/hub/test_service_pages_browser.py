"""The agents service's pages as an admin and an applicant see them, in headless Chromium, at desktop
and phone width, in English and Korean: the decision's feedback says what really happened (here no
SMTP server is set up, so the e-mails are queued), the outbox speaks in words, the "what they want
to do" column stays on a phone, the logo leads to the hub's home; each page with an axe scan."""

from __future__ import annotations

import pytest

from tests.browser import DESKTOP, PHONE, axe_violations, chromium, fits_the_screen, screenshot  # noqa: F401 (a fixture)
from tests.email.conftest import MAIL_FROM, certificates, smtp_server  # noqa: F401 (fixtures)
from tests.hub.browser_pages import signed_in_page
from tests.hub.conftest import ADMIN, SERVICE, person

WORDS = {
    "en": {"feedback": "1 decision saved. Queued: 1 e-mail will be sent when e-mail is set up (see the Outbox).",
           "outbox_state": "E-mail is not set up yet", "pending": "Waiting to be sent",
           "approved": "To the applicant: approved", "received": "To the applicant: application received",
           "purpose_label": "What they want to do", "apply": "Apply for the beta"},
    "ko": {"feedback": "1건의 결정을 저장했습니다. 대기 중: 메일 발송이 설정되면 메일 1통이 발송됩니다(보낼 편지함 참고).",
           "outbox_state": "아직 메일 발송이 설정되지 않아", "pending": "발송 대기", "approved": "신청자에게: 승인",
           "received": "신청자에게: 신청 접수", "purpose_label": "하고 싶은 일", "apply": "베타 신청"},
}

@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("language", ["en", "ko"])
def test_an_admin_is_told_what_really_happened_and_reads_the_outbox_in_words(hub, chromium, request,  # noqa: F811
                                                                           language, viewport):
    words = WORDS[language]
    applicant = person("mina")
    purpose = "Summaries of customer reviews for our weekly meeting, in plain words"

    # the applicant applies on the beta page
    context, page = signed_in_page(chromium, hub, applicant, language, viewport)
    page.goto(f"{hub.url}{SERVICE}beta")
    assert words["apply"] in page.inner_text("h1")
    assert fits_the_screen(page)
    screenshot(page, request, "apply")
    assert axe_violations(page) == []
    page.fill("#name", "Mina")
    page.fill("#purpose", purpose)
    page.click("#apply")
    page.wait_for_selector('#beta-status[data-status="pending"]')
    assert axe_violations(page) == []
    # the logo leads to the hub's home page, not to its image
    page.click("#logo")
    page.wait_for_url(f"{hub.url}/hub/home")
    context.close()

    context, admin = signed_in_page(chromium, hub, ADMIN, language, viewport)
    admin.goto(f"{hub.url}{SERVICE}admin/beta")
    row = admin.locator(f'#table-pending tr[data-email="{applicant}"]')
    # what they want to do stays readable on a phone, labelled there
    purpose_cell = row.locator(".application-purpose")
    assert purpose_cell.is_visible() and purpose in purpose_cell.inner_text()
    assert fits_the_screen(admin)
    screenshot(admin, request, "applications")
    assert axe_violations(admin) == []
    row.locator("input[type=checkbox]").check()
    admin.click("#approve")
    admin.wait_for_selector("#admin-message")
    # no SMTP server here: the page says the e-mail is queued, not that it is on its way
    assert admin.inner_text("#admin-message") == words["feedback"]
    screenshot(admin, request, "decided")
    assert axe_violations(admin) == []

    admin.click("#outbox-link")
    admin.wait_for_selector("#outbox-state")
    assert words["outbox_state"] in admin.inner_text("#outbox-state")
    approval = admin.locator('.outbox-message[data-event="beta.approved"]', has_text=applicant)
    summary = approval.locator("summary").inner_text()
    assert words["approved"] in summary and words["pending"] in summary
    received = admin.locator('.outbox-message[data-event="beta.applied.applicant"]', has_text=applicant)
    assert words["received"] in received.locator("summary").inner_text()
    # the events' keys are for machines: not one is shown
    assert "beta.approved" not in admin.inner_text("main") and "beta.applied" not in admin.inner_text("main")
    assert fits_the_screen(admin)
    screenshot(admin, request, "outbox")
    assert axe_violations(admin) == []
    context.close()


@pytest.mark.parametrize("language, sending, sent", [
    ("en", "1 decision saved. Sending 1 e-mail now: the Outbox shows when it has gone.", "Sent: 1 e-mail went."),
])
def test_with_smtp_set_up_the_admin_is_told_the_e_mail_went_once_it_did(start_hub, smtp_server, chromium, request,  # noqa: F811
                                                                       language, sending, sent):
    server = smtp_server("none")
    hub = start_hub(OMA_SMTP_HOST="127.0.0.1", OMA_SMTP_PORT=str(server.port), OMA_SMTP_SECURITY="none",
                    OMA_MAIL_FROM=MAIL_FROM, OMA_MAIL_INTERVAL_SECONDS="0.5")
    applicant = person("sena")
    hub.sign_in(applicant).post(SERVICE + "beta", data={"name": "Sena", "purpose": "Research notes"}, xsrf_path=SERVICE)
    context, admin = signed_in_page(chromium, hub, ADMIN, language, DESKTOP)
    admin.goto(f"{hub.url}{SERVICE}admin/beta")
    admin.check(f'#table-pending tr[data-email="{applicant}"] input[type=checkbox]')
    admin.click("#approve")
    admin.wait_for_selector("#admin-message")
    assert admin.inner_text("#admin-message").startswith(sending)
    # the page asks the outbox, and says "sent" only once the SMTP server has the e-mail
    admin.locator("#mail-progress", has_text=sent).wait_for(timeout=30_000)
    assert any(r.rcpt_tos == [applicant] for r in server.mailbox.received)
    assert admin.title() == "Beta applications · oh-my-agent"
    screenshot(admin, request, "sent")
    assert axe_violations(admin) == []
    context.close()
