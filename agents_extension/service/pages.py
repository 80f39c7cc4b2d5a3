"""The service's pages: its own templates and stylesheet, nothing of the hub's, and the words
the pages say about what happened (a decision's feedback, the outbox's events).

The pages extend templates/layout.html, which looks like the hub's pages but
uses only the hub's public URLs; static/service.css is served by the service
itself (tornado's static handler, under <prefix>static/).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import jinja2

if TYPE_CHECKING:
    from .beta import Outcome

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def page_environment() -> jinja2.Environment:
    # The i18n extension: the pages' words come from the gettext catalog (i18n.template_callables).
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                                     extensions=["jinja2.ext.i18n"])
    # The outbox's words, translated in the template with _() like every other text.
    environment.globals.update(event_words=EVENT_WORDS, status_words=STATUS_WORDS)
    return environment


def N_(message: str) -> str:
    """Marks a text for the catalog (Babel extracts N_ calls); it is translated when a page is shown."""
    return message


# The outbox in words: what each e-mail is about, and where it stands.
EVENT_WORDS = {
    "beta.applied.applicant": N_("To the applicant: application received"),
    "beta.applied.admin": N_("Notice to admins: new application"),
    "beta.approved": N_("To the applicant: approved"),
    "beta.rejected": N_("To the applicant: not accepted"),
}
STATUS_WORDS = {
    "pending": N_("Waiting to be sent"),
    "sent": N_("Sent"),
    "failed": N_("Could not be sent"),
}


def _counted(count: int, one: str, many: str, gettext: Callable[[str], str]) -> str:
    # Two texts rather than ngettext: Korean has one form, and English needs only "1" against "many".
    return gettext(one) if count == 1 else gettext(many) % {"count": count}


def decision_feedback(outcome: Outcome, mail_configured: bool, gettext: Callable[[str], str]) -> str:
    """What a batch of decisions really did: saved, e-mails sent or only queued, left as it was, servers
    stopped. Without an SMTP server the e-mails wait in the outbox, and the page says so."""
    _ = gettext
    said = [_counted(len(outcome.changed), N_("1 decision saved."), N_("%(count)s decisions saved."), _)]
    mailed = len(outcome.mailed)  # one e-mail to each person whose decision changed, if any
    if mailed and mail_configured:
        said.append(_counted(mailed, N_("Sending 1 e-mail now: the Outbox shows when it has gone."),
                             N_("Sending %(count)s e-mails now: the Outbox shows when each has gone."), _))
    elif mailed:
        said.append(_counted(mailed, N_("Queued: 1 e-mail will be sent when e-mail is set up (see the Outbox)."),
                             N_("Queued: %(count)s e-mails will be sent when e-mail is set up (see the Outbox)."), _))
    if outcome.unchanged:
        said.append(_("Already decided that way, so nothing changed and no e-mail was queued: %(people)s.")
                    % {"people": ", ".join(outcome.unchanged)})
    if outcome.revoked:
        said.append(_("Access revoked: the running servers of %(people)s were stopped.")
                    % {"people": ", ".join(outcome.revoked)})
    return " ".join(said)
