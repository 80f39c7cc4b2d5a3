"""The agents API's request bodies (checked by the contract's models) and folder names, without a server."""

from __future__ import annotations

import re

import pytest

from agents_extension.service.agent_fields import (
    AgentFieldError,
    agent_input,
    derive_slug,
    expected_version,
    if_match_version,
    models_setting,
    name_taken,
    session_report,
    unique_slug,
)
from oma_contract import DEFAULT_MODELS, AgentCreate, PermissionMode

MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5")
FULL = {
    "name": "Market researcher", "description": "Weekly digests", "instructions": "Answer in Korean.",
    "model": "claude-haiku-4-5", "permission_mode": "acceptEdits", "allowed_tools": ["Read", "Bash(ls:*)"],
    "disallowed_tools": ["WebFetch"], "max_turns": 20, "max_budget_usd": 2.5, "status": "active",
    "monthly_limit_usd": 30.0,
}
# What a missing field gets on create and on a full replace (PUT).
DEFAULTS = {"description": "", "instructions": "", "model": None, "permission_mode": "default", "allowed_tools": [],
            "disallowed_tools": [], "max_turns": None, "max_budget_usd": None, "monthly_limit_usd": None,
            "status": "draft"}

# (field, bad value, words the message must hold); one row per way a field can be wrong.
BAD_AGENT_FIELDS = [
    ("name", "", "empty"),
    ("name", "   ", "empty"),
    ("name", "x" * 81, "at most 80"),
    ("name", 7, "text"),
    ("name", None, "text"),
    ("name", "two\nlines", "one line"),
    ("description", "x" * 501, "at most 500"),
    ("description", ["x"], "text"),
    ("instructions", "x" * 20_001, "at most 20,000"),
    ("instructions", {"text": "x"}, "text"),
    ("model", "gpt-4", "claude-sonnet-4-5, claude-haiku-4-5"),
    ("model", "claude-opus-4-5", "one of"),  # a default model, but not in this configured list
    ("model", 4, "one of"),
    ("permission_mode", "yolo", "bypassPermissions"),
    ("permission_mode", None, "one of"),
    ("allowed_tools", "Read", "list"),
    ("allowed_tools", ["Read", ""], "entry 2"),
    ("allowed_tools", ["  "], "entry 1"),
    ("allowed_tools", [3], "entry 1"),
    ("allowed_tools", ["Read"] * 101, "at most 100"),
    ("allowed_tools", ["x" * 201], "200"),
    ("disallowed_tools", None, "list"),
    ("disallowed_tools", ["WebFetch", None], "entry 2"),
    ("max_turns", 0, "1 to 500"),
    ("max_turns", 501, "1 to 500"),
    ("max_turns", 2.5, "whole number"),
    ("max_turns", 10.0, "whole number"),
    ("max_turns", "10", "whole number"),
    ("max_turns", True, "whole number"),
    ("max_budget_usd", 0, "above 0"),
    ("max_budget_usd", -1, "above 0"),
    ("max_budget_usd", 1000.01, "at most 1000"),
    ("max_budget_usd", "5", "US dollars"),
    ("max_budget_usd", float("nan"), "US dollars"),
    ("max_budget_usd", float("inf"), "US dollars"),
    ("max_budget_usd", False, "US dollars"),
    ("monthly_limit_usd", -0.01, "from 0 to 1,000,000"),
    ("monthly_limit_usd", 1_000_001, "from 0 to 1,000,000"),
    ("monthly_limit_usd", "5", "US dollars"),
    ("monthly_limit_usd", float("nan"), "US dollars"),
    ("monthly_limit_usd", True, "US dollars"),
    ("status", "archived", "draft, active, paused"),
    ("status", 1, "one of"),
]


@pytest.mark.parametrize(("field", "value", "words"), BAD_AGENT_FIELDS)
@pytest.mark.parametrize("partial", [False, True], ids=["put", "patch"])
def test_a_bad_field_is_refused_with_its_name_and_what_to_do(field, value, words, partial):
    with pytest.raises(AgentFieldError) as refused:
        agent_input({**FULL, field: value}, MODELS, partial=partial)
    assert refused.value.field == field
    assert words in str(refused.value) and field in str(refused.value)


def test_every_editable_field_has_rows_in_the_bad_input_table():
    assert {row[0] for row in BAD_AGENT_FIELDS} == set(AgentCreate.model_fields)


def test_a_full_body_comes_back_as_store_fields():
    assert agent_input(FULL, MODELS, partial=False) == (FULL, None)


def test_create_and_replace_fill_in_defaults_and_trim():
    fields, version = agent_input({"name": "  Researcher ", "description": " notes ", "instructions": "  keep  "},
                                  MODELS, partial=False)
    assert fields == {**DEFAULTS, "name": "Researcher", "description": "notes", "instructions": "  keep  "}
    assert version is None


def test_a_change_holds_only_the_fields_given():
    assert agent_input({"status": "paused", "version": 3}, MODELS, partial=True) == ({"status": "paused"}, 3)
    assert agent_input({}, MODELS, partial=True) == ({}, None)


def test_nulls_and_an_empty_model_mean_the_defaults():
    fields, _ = agent_input({"name": "A", "model": "", "max_turns": None, "max_budget_usd": None}, MODELS, partial=True)
    assert fields == {"name": "A", "model": None, "max_turns": None, "max_budget_usd": None}


def test_tool_names_are_trimmed_and_whole_dollar_budgets_become_numbers():
    fields, _ = agent_input({"allowed_tools": [" Read ", "Write"], "max_budget_usd": 3}, MODELS, partial=True)
    assert fields == {"allowed_tools": ["Read", "Write"], "max_budget_usd": 3.0}
    assert isinstance(fields["max_budget_usd"], float)


def test_limits_are_inclusive():
    fields, _ = agent_input({"name": "x" * 80, "description": "d" * 500, "instructions": "i" * 20_000,
                             "allowed_tools": ["t" * 200] * 100, "max_turns": 500, "max_budget_usd": 1000}, MODELS,
                            partial=False)
    assert fields["max_turns"] == 500 and len(fields["name"]) == 80
    assert agent_input({"max_turns": 1, "max_budget_usd": 0.01}, MODELS, partial=True)[0]["max_turns"] == 1


def test_a_name_is_required_on_create_and_replace_only():
    with pytest.raises(AgentFieldError) as refused:
        agent_input({"description": "x"}, MODELS, partial=False)
    assert refused.value.field == "name" and "required" in str(refused.value)
    assert agent_input({"description": "x"}, MODELS, partial=True) == ({"description": "x"}, None)


@pytest.mark.parametrize("field", ["colour", "headless_permission", "Name"])
def test_unknown_fields_are_named(field):
    with pytest.raises(AgentFieldError) as refused:
        agent_input({"name": "A", field: "x"}, MODELS, partial=False)
    assert refused.value.field == field and "not an agent field" in str(refused.value)


@pytest.mark.parametrize("field", ["id", "owner", "slug", "created_at", "updated_at", "usage"])
def test_fields_the_service_sets_are_refused_by_name(field):
    with pytest.raises(AgentFieldError) as refused:
        agent_input({"name": "A", field: "x"}, MODELS, partial=True)
    assert refused.value.field == field and "set by the service" in str(refused.value)


def test_a_version_is_refused_on_create_and_checked_on_change():
    with pytest.raises(AgentFieldError) as refused:
        agent_input({"name": "A", "version": 1}, MODELS, partial=False, version_allowed=False)
    assert refused.value.field == "version"
    for bad in (0, -1, "3", 2.0, True, None):
        with pytest.raises(AgentFieldError) as refused:
            agent_input({"version": bad}, MODELS, partial=True)
        assert refused.value.field == "version"


@pytest.mark.parametrize("body", [[], "agent", 3, None])
def test_a_body_that_is_not_an_object_is_refused(body):
    with pytest.raises(AgentFieldError, match="JSON object"):
        agent_input(body, MODELS, partial=False)


@pytest.mark.parametrize(("header", "version"),
                         [(None, None), ("", None), ("*", None), ('"3"', 3), ('W/"12"', 12), ("7", 7)])
def test_if_match_holds_the_version_its_etag_gave(header, version):
    assert if_match_version(header) == version


@pytest.mark.parametrize("header", ['"abc"', '"0"', "-1", '"3", "4"', '"²"', "²", "٣", '"' + "9" * 5000 + '"',
                                    "9" * 19])
def test_an_if_match_that_is_not_a_version_is_refused(header):
    with pytest.raises(AgentFieldError) as refused:
        if_match_version(header)
    assert refused.value.field == "version" and "If-Match" in str(refused.value)


def test_body_version_and_if_match_must_agree():
    assert expected_version(3, None) == 3 and expected_version(None, 4) == 4 and expected_version(5, 5) == 5
    with pytest.raises(AgentFieldError, match="send one"):
        expected_version(3, 4)


def test_the_model_list_comes_from_the_setting():
    assert models_setting(None) == DEFAULT_MODELS == ("claude-sonnet-4-5", "claude-opus-4-5", "claude-haiku-4-5")
    assert models_setting(" , ") == DEFAULT_MODELS
    assert models_setting("claude-opus-4-5, my-gateway-model,claude-opus-4-5") == ("claude-opus-4-5", "my-gateway-model")


def test_every_permission_mode_of_the_contract_is_accepted():
    fields, _ = agent_input({"name": "A"}, MODELS, partial=False)
    assert fields["permission_mode"] == "default"
    for mode in PermissionMode:
        assert agent_input({"permission_mode": mode}, MODELS, partial=True)[0] == {"permission_mode": mode}


def test_names_clash_ignoring_case_and_spaces():
    assert name_taken("researcher", ["Writer", " RESEARCHER "])
    assert not name_taken("researcher 2", ["Researcher"])


@pytest.mark.parametrize(("name", "slug"), [
    ("Market Researcher", "market-researcher"),
    ("  Weekly -- digest!! ", "weekly-digest"),
    ("Café Olé", "cafe-ole"),
    ("R2-D2", "r2-d2"),
    ("내 연구 agent", "agent"),
    ("x" * 80, "x" * 40),
    ("a" * 39 + " b", "a" * 39),
])
def test_slugs_are_folder_safe_names_from_the_name(name, slug):
    assert derive_slug(name) == slug


@pytest.mark.parametrize("name", ["시장 조사원", "데이터 분석가", "2024", "!!!", "日本語"])
def test_names_without_ascii_letters_get_a_stable_hex_slug(name):
    slug = derive_slug(name)
    assert re.fullmatch(r"agent-[0-9a-f]{6}", slug)
    assert derive_slug(name) == slug
    assert derive_slug(f"  {name.upper()} ") == slug  # the same name to a person, the same folder


def test_different_korean_names_get_different_slugs():
    assert derive_slug("시장 조사원") != derive_slug("데이터 분석가")


def test_a_taken_slug_gets_the_next_free_number():
    assert unique_slug("researcher", set()) == "researcher"
    assert unique_slug("researcher", {"researcher"}) == "researcher-2"
    assert unique_slug("researcher", {"researcher", "researcher-2", "researcher-3"}) == "researcher-4"
    long = "a" * 40
    assert unique_slug(long, {long}) == "a" * 38 + "-2"
    assert len(unique_slug(long, {long} | {"a" * 38 + f"-{n}" for n in range(2, 10)})) == 40


SESSION = {"session_id": "0f7c2a56-6a38-4e6e-9b7e-0d3c1f4c2b11", "agent_id": "a" * 32, "notebook": "work/Report.ipynb",
           "turns": 3, "input_tokens": 1200, "output_tokens": 340, "cost_usd": 0.0123, "status": "inactive"}


def test_a_session_report_comes_back_whole_and_defaults_fill_the_rest():
    assert session_report(SESSION) == SESSION
    assert session_report({"session_id": "s1", "agent_id": "a1"}) == {
        "session_id": "s1", "agent_id": "a1", "notebook": "", "turns": 0, "input_tokens": 0, "output_tokens": 0,
        "cost_usd": 0.0, "status": "active"}


@pytest.mark.parametrize(("field", "value"), [
    ("session_id", None), ("session_id", ""), ("session_id", "a/b"), ("session_id", ".."), ("session_id", "x" * 201),
    ("agent_id", None), ("agent_id", 5),
    ("notebook", 3), ("notebook", "n" * 1025), ("notebook", "a\x00.ipynb"),
    ("turns", -1), ("turns", 1.5), ("turns", True),
    ("input_tokens", "10"), ("output_tokens", -5),
    ("cost_usd", -0.01), ("cost_usd", "1"), ("cost_usd", float("nan")),
    ("status", "open"), ("status", None),
    ("tokens", 3),
])
def test_a_bad_session_report_names_the_field(field, value):
    with pytest.raises(AgentFieldError) as refused:
        session_report({**SESSION, field: value})
    assert refused.value.field == field


def test_a_session_report_must_be_an_object():
    with pytest.raises(AgentFieldError, match="JSON object"):
        session_report(["s1"])
