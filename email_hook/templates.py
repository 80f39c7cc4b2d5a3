"""The beta e-mails: subjects and bodies (plain text and HTML), Korean and English.

Pure rendering, no I/O besides reading the template files: the agents service
calls `compose()` (through its e-mail component, `OutboxSender.compose`) and
hands the resulting `OutboxMessage` to the store in the same write as the
event that causes it; the sender delivers it later.

The templates live next to this module in `templates/<event>.txt` and
`.html`, one of each per event for every language: their words are English
message ids translated through a gettext catalog with Jinja's i18n extension
(`{% trans %}`, `_()`). The Korean catalog is
`locale/ko/LC_MESSAGES/oma-email.po`, compiled by Babel when e-mail is first
composed (no compiled file is kept in the repository). An e-mail is written in
the language stored with the person's application, not a browser's, since it
is composed outside any request (``pybabel extract -F babel.cfg`` gathers the
texts, as for the pages).

A `.txt` template sets the subject with `{% set subject %}`; the HTML bodies
extend `layout.html`. Autoescaping is on for `.html` templates, so every value
a person typed (name, purpose, organisation, note) is escaped in HTML bodies.
"""

from __future__ import annotations

import functools
import gettext
import textwrap
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

import jinja2
from babel import negotiate_locale
from markupsafe import Markup, escape

from agents_extension.store.base import OutboxMessage
from oma_contract import Language
from oma_contract.catalogs import Catalogs

PRODUCT = "oh-my-agent"
LANGUAGES = tuple(Language)
DEFAULT_LANGUAGE = Language.EN.value  # the message ids themselves: English has no catalog
DOMAIN = "oma-email"
CATALOGS = Catalogs(DOMAIN, Path(__file__).with_name("locale"))

# What each event's templates need from the caller (besides `hub_url`, which
# all of them need). Everything else is optional and renders as empty.
EVENTS: dict[str, tuple[str, ...]] = {
    "beta.applied.applicant": ("purpose",),
    "beta.applied.admin": ("name", "email", "purpose"),
    "beta.approved": (),
    "beta.rejected": (),
}

# Where the links point, relative to hub_url. The caller may pass `start_url`
# or `admin_url` in the context to override them.
START_PATH = "hub/spawn"
ADMIN_BETA_PATH = "services/agents/admin/beta"

# A name typed into a form ends up in the admin's subject line; keep it sane.
MAX_SUBJECT_LENGTH = 200

_TEXT_FIELDS = ("name", "email", "organisation", "purpose", "note")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def normalize_language(language: str | None) -> str:
    """"ko", "ko-KR", "KO_kr" -> "ko"; anything we have no catalog for -> English."""
    preferred = (language or "").strip().replace("-", "_").lower()
    return (negotiate_locale([preferred], LANGUAGES) if preferred else None) or DEFAULT_LANGUAGE


def _multiline(value: Any) -> Markup:
    """HTML filter: escape, then keep the person's line breaks."""
    lines = str(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return Markup("<br>\n").join(escape(line) for line in lines)


def _indent_text(value: Any) -> str:
    """Text filter: indent a (possibly multi-line) value as a quoted block."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return textwrap.indent(text, "    ", lambda line: True)


def _translations(language: str) -> gettext.NullTranslations:
    """The e-mails' words in ``language``; English has no catalog."""
    return CATALOGS.translations(language)


@functools.cache
def _environment(language: str) -> jinja2.Environment:
    """The templates with ``language``'s words: one environment per language, made on first use."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(_translations(language), newstyle=True)
    env.filters["multiline"] = _multiline
    env.filters["indent_text"] = _indent_text
    return env


def _hub_url(value: Any) -> str:
    url = str(value or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"hub_url must be an absolute http(s) URL, got {url!r}")
    return url.rstrip("/")


def _template_context(event: str, language: str, context: Mapping[str, Any]) -> dict[str, Any]:
    if event not in EVENTS:
        raise ValueError(f"unknown e-mail event {event!r}; known: {', '.join(EVENTS)}")
    values = {key: "" if context.get(key) is None else str(context[key]).strip() for key in _TEXT_FIELDS}
    missing = [key for key in EVENTS[event] if not values[key]]
    if missing:
        raise ValueError(f"{event} e-mail needs {', '.join(missing)} in its context")
    hub_url = _hub_url(context.get("hub_url"))
    return {
        **values,
        "product": PRODUCT,
        "language": language,
        "hub_url": hub_url,
        "start_url": str(context.get("start_url") or f"{hub_url}/{START_PATH}"),
        "admin_url": str(context.get("admin_url") or f"{hub_url}/{ADMIN_BETA_PATH}"),
    }


def render(event: str, language: str | None, context: Mapping[str, Any]) -> RenderedEmail:
    """Render one event's e-mail in `language` (English when we don't have it).

    `context` holds `hub_url` (the platform's public base URL, e.g.
    "https://agents.example.org") and, depending on the event, the person's
    `name`, `email`, `organisation`, `purpose`, and the admin's `note`.
    Raises ValueError for an unknown event, a missing value or a bad hub_url.
    """
    language = normalize_language(language)
    values = _template_context(event, language, context)
    env = _environment(language)
    text_module = env.get_template(f"{event}.txt").make_module(values)
    subject = " ".join(str(text_module.subject).split())
    if len(subject) > MAX_SUBJECT_LENGTH:
        subject = subject[: MAX_SUBJECT_LENGTH - 1].rstrip() + "…"
    text = str(text_module).strip("\n") + "\n"
    html = env.get_template(f"{event}.html").render(values, subject=subject)
    return RenderedEmail(subject=subject, text=text, html=html)


def compose(event: str, language: str | None, *, to: list[str], context: Mapping[str, Any]) -> OutboxMessage:
    """Render an event's e-mail into a new pending outbox message, due now.

    This is what the agents service calls on a beta event before handing the
    message to the store together with the change it belongs to.
    """
    recipients = [address.strip() for address in to if address and address.strip()]
    if not recipients:
        raise ValueError(f"{event} e-mail has no recipients")
    rendered = render(event, language, context)
    now = datetime.now(timezone.utc)
    return OutboxMessage(
        id=str(uuid.uuid4()),
        to=recipients,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        event=event,
        created_at=now,
        status="pending",
        attempts=0,
        next_attempt_at=now,
    )
