"""What the service's pages say about what happened: a decision's feedback, the outbox's events."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents_extension.service.beta import Outcome
from agents_extension.service.i18n import translations
from agents_extension.service.pages import EVENT_WORDS, STATUS_WORDS, decision_feedback
from oma_contract import MessageStatus

EMAIL_TEMPLATES = Path(__file__).resolve().parents[1] / "email_hook" / "templates"


@pytest.mark.parametrize(("mail_configured", "mailed", "said"), [
    (False, ["a@x.org"], "1 decision saved. Queued: 1 e-mail will be sent when e-mail is set up (see the Outbox)."),
    (False, ["a@x.org", "b@x.org"],
     "2 decisions saved. Queued: 2 e-mails will be sent when e-mail is set up (see the Outbox)."),
    (True, ["a@x.org"], "1 decision saved. Sending 1 e-mail now: the Outbox shows when it has gone."),
    (True, ["a@x.org", "b@x.org"], "2 decisions saved. Sending 2 e-mails now: the Outbox shows when each has gone."),
])
def test_the_feedback_says_whether_the_e_mails_go_now_or_wait_for_smtp(mail_configured, mailed, said):
    outcome = Outcome(changed=list(mailed), mailed=list(mailed))
    assert decision_feedback(outcome, mail_configured, translations("en").gettext) == said


def test_nothing_mailed_says_nothing_of_e_mail_and_the_rest_is_said_too():
    outcome = Outcome(changed=["a@x.org"], unchanged=["b@x.org"], revoked=["a@x.org"])
    said = decision_feedback(outcome, False, translations("en").gettext)
    assert said.startswith("1 decision saved. Already decided that way") and "e-mail will" not in said
    assert said.endswith("the running servers of a@x.org were stopped.")


def test_the_feedback_is_korean_for_a_korean_admin():
    outcome = Outcome(changed=["a@x.org"], mailed=["a@x.org"])
    assert decision_feedback(outcome, False, translations("ko").gettext) == (
        "1건의 결정을 저장했습니다. 대기 중: 메일 발송이 설정되면 메일 1통이 발송됩니다(보낼 편지함 참고).")


def test_every_e_mail_event_and_status_has_words():
    events = {path.name.rsplit(".", 1)[0] for path in EMAIL_TEMPLATES.glob("beta.*.txt")}
    assert events and events == set(EVENT_WORDS)
    assert set(STATUS_WORDS) == set(MessageStatus)
