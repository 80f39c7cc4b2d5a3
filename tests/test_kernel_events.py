"""The translator turns the SDK messages of a turn into the events a cell shows.

Every test here feeds it a sequence recorded from the real Claude Code CLI
talking to the fake model (tests/recorded/, re-recorded with
``python -m tests.recorded.record``): pure functions, no process started.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses

import pytest

from claude_kernel.events import (
    PermissionAsked,
    Retrying,
    SessionStarted,
    Text,
    TextEnded,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    TurnFinished,
    TurnRules,
    TurnTranslator,
    turn_over,
)
from tests.recorded.record import record
from tests.recorded.sdk_messages import AGENT_FOLDER, PermissionCall, load, names


def translate(steps: list, rules: TurnRules = TurnRules(), cli_cost_before: float = 0.0) -> list:
    """All the events of one recorded turn, in order."""
    translator = TurnTranslator(rules, cli_cost_before)
    events: list = []
    for step in steps:
        if isinstance(step, PermissionCall):
            events.append(translator.permission(step.tool_name, step.input, concurrent.futures.Future()))
        else:
            events.extend(translator.read(step))
    return events


def of_type(events: list, kind: type) -> list:
    return [event for event in events if isinstance(event, kind)]


def answer_text(events: list) -> str:
    return "".join(event.piece for event in of_type(events, Text))


def test_recordings_cover_every_kind_of_turn_the_kernel_shows():
    assert {"plain_answer", "tool_call", "failed_tool_call", "permission_prompt", "api_retry",
            "rejected_credentials", "api_error", "turn_limit", "budget_limit", "interrupt"} <= set(names())


@pytest.mark.parametrize("name", names())
def test_every_turn_ends_with_one_final_event_and_nothing_after_it(name):
    events = translate(load(name))
    finals = [i for i, event in enumerate(events) if turn_over(event)]
    assert finals == [len(events) - 1], events
    assert events[0] == SessionStarted(events[-1].usage.session_id)


def test_a_streamed_answer_comes_piece_by_piece_once_and_the_turn_is_billed():
    events = translate(load("plain_answer"))
    assert answer_text(events) == "Here is **a plan**:\n\n1. read the data\n2. write the report\n"
    assert len(of_type(events, Text)) > 1  # streamed, not only the whole message at the end
    assert [type(e) for e in events[-2:]] == [TextEnded, TurnFinished]
    usage = events[-1].usage
    assert (usage.turns, usage.input_tokens, usage.output_tokens) == (1, 12, 7)
    assert usage.cost_usd > 0 and usage.duration_seconds > 0


def test_an_answer_that_was_not_streamed_is_shown_whole():
    steps = [step for step in load("plain_answer") if type(step).__name__ != "StreamEvent"]
    events = translate(steps)
    assert of_type(events, Text) == [Text("Here is **a plan**:\n\n1. read the data\n2. write the report\n")]
    assert of_type(events, TextEnded) == [TextEnded()]


def test_a_tool_call_starts_then_finishes_with_its_output_before_the_answer():
    events = translate(load("tool_call"))
    started, finished = of_type(events, ToolStarted), of_type(events, ToolFinished)
    assert [(s.name, dict(s.tool_input)) for s in started] == [
        ("Write", {"file_path": f"{AGENT_FOLDER}/report.md", "content": "# Report\n"})]
    assert [f.tool_use_id for f in finished] == [started[0].tool_use_id]
    assert not finished[0].is_error and "report.md" in finished[0].output
    assert events.index(started[0]) < events.index(finished[0]) < events.index(of_type(events, Text)[0])
    assert answer_text(events) == "Saved report.md."
    assert events[-1].usage.turns == 2


def test_a_failed_tool_call_says_so():
    (finished,) = of_type(translate(load("failed_tool_call")), ToolFinished)
    assert finished.is_error and "does not exist" in finished.output


def test_a_permission_request_comes_while_its_tool_waits_with_the_agents_headless_answer():
    events = translate(load("permission_prompt"), TurnRules(headless_permission="allow"))
    (asked,) = of_type(events, PermissionAsked)
    (started,) = of_type(events, ToolStarted)
    (finished,) = of_type(events, ToolFinished)
    assert events.index(started) < events.index(asked) < events.index(finished)
    assert asked.tool == "Write" and asked.tool_input == started.tool_input
    assert asked.headless_permission == "allow"


def test_an_api_retry_within_the_limit_is_announced_and_the_answer_follows():
    events = translate(load("api_retry"), TurnRules(retry_limit=2))
    (retry,) = of_type(events, Retrying)
    assert retry.attempt == 1 and retry.status == 529 and retry.delay_seconds > 0
    assert answer_text(events) == "Made it." and isinstance(events[-1], TurnFinished)


def test_an_api_retry_past_the_limit_fails_the_turn_while_the_cli_still_runs():
    events = translate(load("api_retry"), TurnRules(retry_limit=0))
    assert of_type(events, Retrying) == []
    gave_up = of_type(events, TurnFailed)[0]
    assert gave_up.still_running and gave_up.usage is None and not turn_over(gave_up)
    assert gave_up.error.kind == "Overloaded" and "HTTP 529" in str(gave_up.error)


@pytest.mark.parametrize("retry_limit", [0, 2, 10])
def test_rejected_credentials_fail_at_the_first_retry_notice_whatever_the_limit(retry_limit):
    events = translate(load("rejected_credentials"), TurnRules(retry_limit=retry_limit))
    first = next(event for event in events if not isinstance(event, SessionStarted))
    assert isinstance(first, TurnFailed) and first.still_running
    assert first.error.kind == "CredentialsRejected" and "ANTHROPIC_API_KEY" in str(first.error)


def test_an_api_error_result_shows_the_clis_words_and_fails_with_advice_and_its_bill():
    events = translate(load("api_error"))
    assert "API Error: 400" in answer_text(events)
    failed = events[-1]
    assert isinstance(failed, TurnFailed) and not failed.still_running and failed.usage is not None
    assert failed.error.kind == "ModelUnavailable" and "HTTP 400" in str(failed.error)


def test_the_turn_limit_names_the_agents_limit():
    failed = translate(load("turn_limit"), TurnRules(max_turns=1))[-1]
    assert isinstance(failed, TurnFailed) and failed.usage is not None
    assert failed.error.kind == "TurnLimitReached" and "limit of 1 turns" in str(failed.error)


def test_the_budget_names_the_agents_budget():
    failed = translate(load("budget_limit"), TurnRules(max_budget_usd=0.5))[-1]
    assert isinstance(failed, TurnFailed) and failed.usage.cost_usd > 0
    assert failed.error.kind == "BudgetReached" and "$0.50" in str(failed.error)


def test_an_interrupted_turn_keeps_what_was_said_and_still_ends():
    events = translate(load("interrupt"))
    assert answer_text(events) == "Let me think about"
    assert turn_over(events[-1]) and events[-1].usage is not None


def test_a_turn_is_billed_only_for_what_it_added_to_the_clis_running_cost():
    whole = translate(load("tool_call"))[-1].usage.cost_usd
    assert translate(load("tool_call"), cli_cost_before=whole / 4)[-1].usage.cost_usd == pytest.approx(whole * 3 / 4)
    assert translate(load("tool_call"), cli_cost_before=whole * 2)[-1].usage.cost_usd == 0.0


def test_a_subagents_inner_messages_are_not_shown():
    steps = [dataclasses.replace(step, parent_tool_use_id="toolu_task") if hasattr(step, "parent_tool_use_id") else step
             for step in load("tool_call")]
    events = translate(steps)
    assert of_type(events, Text) == [] and of_type(events, ToolStarted) == []
    assert isinstance(events[-1], TurnFinished)  # the result is the turn's own


def test_events_cannot_change_after_they_are_made():
    steps = load("tool_call")
    events = translate(steps)
    started = of_type(events, ToolStarted)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        started.name = "Bash"  # type: ignore[misc]
    with pytest.raises(TypeError):
        started.tool_input["file_path"] = "/etc/passwd"  # type: ignore[index]
    # the event holds its own copy: what the SDK does to its message later does not reach it
    block = next(b for step in steps for b in getattr(step, "content", []) if type(b).__name__ == "ToolUseBlock")
    block.input["file_path"] = "/etc/passwd"
    assert started.tool_input["file_path"] == f"{AGENT_FOLDER}/report.md"


def outline(events: list) -> list:
    """What a turn's events say, without what changes from one recording to the next (ids, timings, chunking)."""
    said: list = []
    for event in events:
        if isinstance(event, Text):
            if said and said[-1][0] == "text":
                said[-1] = ("text", said[-1][1] + event.piece)
            else:
                said.append(("text", event.piece))
        elif isinstance(event, ToolStarted):
            said.append(("tool started", event.name, dict(event.tool_input)))
        elif isinstance(event, ToolFinished):
            said.append(("tool finished", event.is_error))
        elif isinstance(event, PermissionAsked):
            said.append(("permission asked", event.tool, dict(event.tool_input)))
        elif isinstance(event, Retrying):
            said.append(("retrying", event.attempt, event.status))
        elif isinstance(event, TurnFinished):
            said.append(("finished", event.usage.turns, event.usage.input_tokens, event.usage.output_tokens))
        elif isinstance(event, TurnFailed):
            said.append(("failed", event.error.kind, event.still_running))
        else:
            said.append((type(event).__name__,))
    return said


@pytest.mark.parametrize("name", ["plain_answer", "tool_call", "permission_prompt", "api_retry"])
async def test_the_recordings_still_match_what_the_cli_says_today(name, model, tmp_path):
    """After an upgrade of claude-agent-sdk this fails until the recordings are made again."""
    fresh = load(name, folder=(await record(name, model, into=tmp_path)).parent)
    assert outline(translate(fresh)) == outline(translate(load(name)))
