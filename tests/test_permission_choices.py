"""The agent form's choices in words map onto Claude Code's tool lists and back, losing nothing."""

from __future__ import annotations

import pytest

from oma_contract.permission_choices import (CAPABILITIES, NEW_AGENT, Answer, PermissionChoices, choices_of, table,
                                             tool_lists)

ALL_ASK = {"read": Answer.ALLOW, "change": Answer.ASK, "run": Answer.ASK, "search": Answer.ASK, "fetch": Answer.ASK}


@pytest.mark.parametrize(("allowed", "disallowed", "answers", "other_allowed", "other_disallowed"), [
    # Nothing named: Claude Code reads without asking and asks before the rest.
    ([], [], ALL_ASK, [], []),
    (["Read", "Glob", "Grep", "Edit", "Write", "NotebookEdit"], [],
     {**ALL_ASK, "change": Answer.ALLOW}, [], []),
    (["Bash"], ["WebFetch", "WebSearch"],
     {**ALL_ASK, "run": Answer.ALLOW, "search": Answer.NEVER, "fetch": Answer.NEVER}, [], []),
    # A rule narrower than a capability is not that capability: it stays, as written, for "Advanced".
    (["Bash(ls:*)", "Read"], ["Bash(rm:*)"], ALL_ASK, ["Bash(ls:*)", "Read"], ["Bash(rm:*)"]),
    # Only part of a capability's tools: the capability still asks, the part is kept.
    (["Edit"], [], ALL_ASK, ["Edit"], []),
    # Deny wins in Claude Code: an allow of a denied tool did nothing and is dropped.
    (["Bash", "mcp__notes__search"], ["Bash"], {**ALL_ASK, "run": Answer.NEVER}, ["mcp__notes__search"], []),
    (["Read", "Glob"], ["Read", "Glob", "Grep"], {**ALL_ASK, "read": Answer.NEVER}, [], []),
])
def test_stored_tool_lists_read_as_answers_and_leftover_rules(allowed, disallowed, answers, other_allowed,
                                                              other_disallowed):
    choices = choices_of(allowed, disallowed)
    assert choices.answers == answers
    assert (choices.other_allowed, choices.other_disallowed) == (other_allowed, other_disallowed)


@pytest.mark.parametrize(("answers", "other_allowed", "other_disallowed", "allowed", "disallowed"), [
    (NEW_AGENT, [], [], ["Read", "Glob", "Grep"], []),
    ({**NEW_AGENT, "change": Answer.ALLOW, "run": Answer.NEVER}, [], [],
     ["Read", "Glob", "Grep", "Edit", "Write", "NotebookEdit"], ["Bash"]),
    ({**NEW_AGENT, "read": Answer.NEVER, "search": Answer.ALLOW, "fetch": Answer.ALLOW}, ["Bash(ls:*)"], ["Bash(rm:*)"],
     ["WebSearch", "WebFetch", "Bash(ls:*)"], ["Read", "Glob", "Grep", "Bash(rm:*)"]),
    # An Advanced rule that repeats a choice is stored once.
    ({**NEW_AGENT, "run": Answer.ALLOW}, ["Bash", "Read"], [], ["Read", "Glob", "Grep", "Bash"], []),
    # An Advanced allow of what a choice forbids would do nothing: it is not stored.
    ({**NEW_AGENT, "run": Answer.NEVER}, ["Bash"], [], ["Read", "Glob", "Grep"], ["Bash"]),
    # "Ask first" is not something reading offers: unanswered or impossible answers count as the default.
    ({"read": Answer.ASK}, [], [], ["Read", "Glob", "Grep"], []),
    ({}, [], [], ["Read", "Glob", "Grep"], []),
])
def test_answers_become_the_tool_lists_claude_code_obeys(answers, other_allowed, other_disallowed, allowed, disallowed):
    assert tool_lists(PermissionChoices(answers, other_allowed, other_disallowed)) == (allowed, disallowed)


@pytest.mark.parametrize(("allowed", "disallowed"), [
    ([], []), (["Bash(ls:*)", "Edit", "Write", "NotebookEdit", "WebSearch"], ["WebFetch"]),
    (["Read", "Glob", "Grep", "mcp__x__y"], ["Bash(curl:*)", "Read", "Glob", "Grep"]),
])
def test_opening_and_saving_an_agent_unchanged_keeps_what_claude_code_allows(allowed, disallowed):
    saved_allowed, saved_disallowed = tool_lists(choices_of(allowed, disallowed))
    assert set(saved_disallowed) == set(disallowed)
    effective_before = set(allowed) - set(disallowed) | {"Read", "Glob", "Grep"} - set(disallowed)
    assert set(saved_allowed) - set(saved_disallowed) == effective_before
    # and a second round changes nothing at all
    assert tool_lists(choices_of(saved_allowed, saved_disallowed)) == (saved_allowed, saved_disallowed)


def test_the_pages_table_is_the_modules():
    assert [row["key"] for row in table()] == [c.key for c in CAPABILITIES] == list(NEW_AGENT)
    assert all(set(row["answers"]) <= set(Answer) and row["unnamed"] in row["answers"] for row in table())
