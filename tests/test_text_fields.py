"""The one text check every route uses: pages and the API refuse the same things, naming the field."""

from __future__ import annotations

import pytest

from agents_extension.service.beta import check_application, check_decision
from agents_extension.service.text_fields import FieldInvalid, check_text


@pytest.mark.parametrize(("value", "one_line", "words"), [
    (3, True, "must be text"),
    ("a\x00b", False, "control characters"),
    ("a\x1bb", False, "control characters"),
    ("a\x85b", False, "control characters"),
    ("two\nlines", True, "one line"),
    ("tab\there", True, "one line"),
    ("x" * 11, False, "11 characters long: at most 10"),
])
def test_bad_text_is_refused_naming_the_field(value, one_line, words):
    with pytest.raises(FieldInvalid, match=words) as refused:
        check_text("note", value, 10, one_line=one_line)
    assert refused.value.field == "note" and "'note'" in str(refused.value)


def test_multi_line_text_keeps_its_lines_and_tabs_and_is_stripped():
    assert check_text("note", "  one\n\ttwo\r\n  ", 100, one_line=False) == "one\n\ttwo"
    assert check_text("note", " keep ", 100, one_line=False, strip=False) == " keep "


@pytest.mark.parametrize(("form", "field"), [
    (("", "x", ""), "name"), (("A", "  ", ""), "purpose"), (("A\x00", "x", ""), "name"),
    (("A", "x\x00", ""), "purpose"), (("A", "x", "Org\x07"), "organisation"), (("A" * 121, "x", ""), "name"),
])
def test_an_application_is_checked_field_by_field(form, field):
    with pytest.raises(FieldInvalid) as refused:
        check_application(*form)
    assert refused.value.field == field


@pytest.mark.parametrize(("emails", "decision", "note", "field"), [
    ([], "approve", "", "emails"), ("a@example.org", "approve", "", "emails"), (["a@example.org\x00"], "approve", "", "emails"),
    ([""], "approve", "", "emails"), (["a@example.org"], "maybe", "", "decision"),
    (["a@example.org"], "reject", "x" * 2001, "note"), (["a@example.org"], "reject", "no\x00", "note"),
])
def test_a_decision_is_checked_field_by_field(emails, decision, note, field):
    with pytest.raises(FieldInvalid) as refused:
        check_decision(emails, decision, note)
    assert refused.value.field == field


def test_a_decision_comes_back_lower_cased_once_each():
    assert check_decision(["A@Example.org", "a@example.org"], "approve", " Welcome ") == (["a@example.org"], "approved", "Welcome")
