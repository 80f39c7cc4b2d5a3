"""The beta e-mails: both languages, every event, escaping, fallbacks, and compose()."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from email_hook.templates import EVENTS, LANGUAGES, compose, normalize_language, render

HUB = "https://agents.example.org"

CONTEXT = {
    "hub_url": HUB + "/",
    "name": "Jiwoo Park",
    "email": "jiwoo@example.com",
    "organisation": "Example Lab",
    "purpose": "Summarise research papers every morning\nand file them by topic",
    "note": "",
}

HOSTILE = {
    "hub_url": HUB,
    "name": '<img src=x onerror="alert(1)">',
    "email": "evil@example.com",
    "organisation": "Tom & Jerry <Inc>",
    "purpose": "<script>steal()</script>",
    "note": "<b>bold</b> & 'quoted'",
}

# A phrase of each language's greeting or title, to tell the two apart.
MARKERS = {"en": "oh-my-agent", "ko": "베타"}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event", EVENTS)
def test_every_event_renders_subject_text_and_html_in_both_languages(event, language):
    email = render(event, language, CONTEXT)

    assert email.subject.startswith("[oh-my-agent] ")
    assert "\n" not in email.subject
    assert MARKERS[language] in email.subject + email.text
    assert "oh-my-agent" in email.text
    assert email.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{language}">' in email.html
    assert f"<title>{email.subject}</title>" in email.html
    assert "{{" not in email.text + email.html and "{%" not in email.text + email.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_korean_and_english_bodies_differ(language):
    other = "en" if language == "ko" else "ko"
    assert render("beta.approved", language, CONTEXT).text != render("beta.approved", other, CONTEXT).text


@pytest.mark.parametrize("language", LANGUAGES)
def test_applicant_confirmation_echoes_their_purpose(language):
    email = render("beta.applied.applicant", language, CONTEXT)

    assert "Summarise research papers every morning" in email.text
    assert "    and file them by topic" in email.text  # quoted as an indented block
    assert "Summarise research papers every morning<br>\nand file them by topic" in email.html
    assert "Jiwoo Park" in email.text and "Jiwoo Park" in email.html
    assert "Example Lab" in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_admin_notification_names_the_applicant_and_links_the_applications_page(language):
    email = render("beta.applied.admin", language, CONTEXT)

    for value in ("Jiwoo Park", "jiwoo@example.com", "Example Lab", "Summarise research papers"):
        assert value in email.text
        assert value in email.html
    assert "Jiwoo Park" in email.subject and "jiwoo@example.com" in email.subject
    link = f"{HUB}/services/agents/admin/beta"
    assert link in email.text
    assert f'href="{link}"' in email.html


def test_admin_notification_without_organisation_shows_a_dash():
    email = render("beta.applied.admin", "en", {**CONTEXT, "organisation": ""})
    assert "Organisation: -" in email.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_approval_links_to_starting_a_server(language):
    email = render("beta.approved", language, CONTEXT)

    assert f"{HUB}/hub/spawn" in email.text
    assert f'href="{HUB}/hub/spawn"' in email.html


def test_links_can_be_given_explicitly():
    context = {**CONTEXT, "start_url": f"{HUB}/hub/home", "admin_url": f"{HUB}/custom/beta-admin"}
    assert f"{HUB}/hub/home" in render("beta.approved", "en", context).text
    assert f"{HUB}/custom/beta-admin" in render("beta.applied.admin", "en", context).text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event", ["beta.rejected", "beta.approved"])
def test_decision_includes_the_admin_note_only_when_given(event, language):
    with_note = render(event, language, {**CONTEXT, "note": "We will open more seats in March."})
    without = render(event, language, CONTEXT)

    assert "We will open more seats in March." in with_note.text
    assert "We will open more seats in March." in with_note.html
    heading = "A note from the oh-my-agent team" if language == "en" else "oh-my-agent 팀의 메모"
    assert heading in with_note.text
    assert heading not in without.text and heading not in without.html


def test_rejection_is_polite():
    assert "sorry" in render("beta.rejected", "en", CONTEXT).text
    assert "감사합니다" in render("beta.rejected", "ko", CONTEXT).text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("event", EVENTS)
def test_values_people_typed_are_escaped_in_html(event, language):
    email = render(event, language, HOSTILE)

    for raw in ("<script>", "<img", "<b>bold</b>", "<Inc>"):
        assert raw not in email.html
    if event != "beta.applied.admin":
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in email.html
    if event.startswith("beta.applied"):
        assert "&lt;script&gt;steal()&lt;/script&gt;" in email.html
    if event == "beta.applied.admin":
        assert "Tom &amp; Jerry &lt;Inc&gt;" in email.html
    if event == "beta.rejected":
        assert "&lt;b&gt;bold&lt;/b&gt; &amp; &#39;quoted&#39;" in email.html


def test_plain_text_keeps_values_as_typed():
    email = render("beta.applied.admin", "en", HOSTILE)
    assert "<script>steal()</script>" in email.text
    assert "Tom & Jerry <Inc>" in email.text


def test_a_line_break_in_a_name_cannot_add_headers_to_the_subject():
    email = render("beta.applied.admin", "en", {**CONTEXT, "name": "Mallory\r\nBcc: victim@example.com"})
    assert "\n" not in email.subject and "\r" not in email.subject
    assert email.subject == "[oh-my-agent] New beta application: Mallory Bcc: victim@example.com (jiwoo@example.com)"


def test_a_very_long_name_is_cut_in_the_subject():
    email = render("beta.applied.admin", "en", {**CONTEXT, "name": "x" * 1000})
    assert len(email.subject) <= 200
    assert "x" * 1000 in email.text


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "en"),
        ("ko", "ko"),
        ("ko-KR", "ko"),
        ("KO_kr", "ko"),
        ("en-GB", "en"),
        ("fr", "en"),
        ("ja-JP", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_language_is_normalized_and_falls_back_to_english(language, expected):
    assert normalize_language(language) == expected
    assert render("beta.approved", language, CONTEXT) == render("beta.approved", expected, CONTEXT)


def test_name_is_optional_in_the_greeting():
    context = {**CONTEXT, "name": ""}
    assert render("beta.approved", "en", context).text.startswith("Hello,\n")
    assert render("beta.approved", "ko", context).text.startswith("안녕하세요.\n")


@pytest.mark.parametrize(
    "event, context, message",
    [
        ("beta.unknown", CONTEXT, "unknown e-mail event"),
        ("beta.applied.applicant", {**CONTEXT, "purpose": "  "}, "needs purpose"),
        ("beta.applied.admin", {**CONTEXT, "email": None}, "needs email"),
        ("beta.approved", {**CONTEXT, "hub_url": ""}, "hub_url"),
        ("beta.approved", {**CONTEXT, "hub_url": "javascript:alert(1)"}, "hub_url"),
        ("beta.approved", {**CONTEXT, "hub_url": "agents.example.org"}, "hub_url"),
    ],
)
def test_bad_input_is_refused(event, context, message):
    with pytest.raises(ValueError, match=message):
        render(event, "en", context)


def test_compose_makes_a_pending_outbox_message_due_now():
    before = datetime.now(timezone.utc)
    message = compose("beta.applied.applicant", "ko", to=[" jiwoo@example.com "], context=CONTEXT)
    after = datetime.now(timezone.utc)

    assert uuid.UUID(message.id)
    assert message.event == "beta.applied.applicant"
    assert message.to == ["jiwoo@example.com"]
    assert message.status == "pending"
    assert message.attempts == 0
    assert before <= message.created_at <= after
    assert message.created_at.utcoffset() == timedelta(0)
    assert message.next_attempt_at == message.created_at
    rendered = render("beta.applied.applicant", "ko", CONTEXT)
    assert (message.subject, message.text, message.html) == (rendered.subject, rendered.text, rendered.html)


def test_compose_gives_every_message_its_own_id():
    ids = {compose("beta.approved", "en", to=["a@example.com"], context=CONTEXT).id for _ in range(5)}
    assert len(ids) == 5


def test_compose_needs_a_recipient():
    with pytest.raises(ValueError, match="no recipients"):
        compose("beta.approved", "en", to=["", " "], context=CONTEXT)
