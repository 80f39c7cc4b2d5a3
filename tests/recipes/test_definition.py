"""The agent definition a notebook carries (oma_contract.recipe) and the parameters syntax (oma_contract.parameters)."""

from __future__ import annotations

import pytest

from oma_contract.parameters import ParameterError, coerce, declaration, fill, merge, parse_declaration
from oma_contract.recipe import (
    DEFINITION_FIELDS, AgentDefinition, FieldInvalid, content_hash, definition_of, notebook_definition,
)

AGENT = {
    "id": "a-123", "owner": "ana@example.org", "slug": "market-researcher", "name": "Market researcher",
    "description": "Finds numbers", "instructions": "Cite sources.", "model": "claude-haiku-4-5",
    "permission_mode": "acceptEdits", "allowed_tools": ["Read"], "disallowed_tools": ["WebFetch"],
    "max_turns": 5, "max_budget_usd": 1.5, "status": "active", "version": 7,
    "usage": {"sessions": 3}, "created_at": "2026-01-01T00:00:00Z",
}


def test_definition_carries_the_agent_and_nothing_of_its_owner():
    definition = definition_of(AGENT).model_dump(mode="json")
    assert set(definition) == {"format", "content_hash", *DEFINITION_FIELDS}
    text = repr(definition)
    for secret in ("a-123", "ana@example.org", "market-researcher", "version", "usage"):
        assert secret not in text
    assert definition["content_hash"].startswith("sha256:")


def test_content_hash_follows_the_fields_not_their_order_or_defaults():
    first = definition_of(AGENT)
    reordered = definition_of(dict(reversed(list(AGENT.items()))))
    assert first.content_hash == reordered.content_hash
    assert first.intact()
    changed = definition_of({**AGENT, "instructions": "Cite sources twice."})
    assert changed.content_hash != first.content_hash
    assert content_hash({"name": "x"}) == content_hash({"name": "x", "allowed_tools": [], "model": None})


def test_definition_gives_the_body_that_creates_the_agent():
    assert definition_of(AGENT).agent_create() == {key: AGENT[key] for key in DEFINITION_FIELDS}


@pytest.mark.parametrize("metadata, field", [
    ({"oh_my_agent": "x"}, "metadata.oh_my_agent"),
    ({"oh_my_agent": {"agent": {"name": ""}}}, "metadata.oh_my_agent.agent.name"),
    ({"oh_my_agent": {"agent": {"name": "a", "max_turns": 0}}}, "metadata.oh_my_agent.agent.max_turns"),
    ({"oh_my_agent": {"agent": {"name": "a", "id": "a-1"}}}, "metadata.oh_my_agent.agent.id"),
])
def test_malformed_definition_names_the_field(metadata, field):
    with pytest.raises(FieldInvalid) as caught:
        notebook_definition(metadata)
    assert caught.value.field == field


def test_notebook_without_an_agent_has_no_definition():
    assert notebook_definition({}) is None
    assert notebook_definition({"oh_my_agent": {"run": {}}}) is None
    assert isinstance(notebook_definition({"oh_my_agent": {"agent": {"name": "a"}}}), AgentDefinition)


def test_parameters_are_declared_as_json_scalars():
    body = '%parameters\n# the subject\ntopic = "AI agents"\npages = 3\nshort = true\nratio = 0.5\n'
    assert parse_declaration(body) == {"topic": "AI agents", "pages": 3, "short": True, "ratio": 0.5}
    assert parse_declaration(declaration({"topic": "Ünïcode \"q\"", "pages": 4})) == {"topic": "Ünïcode \"q\"",
                                                                                        "pages": 4}


@pytest.mark.parametrize("body, field, words", [
    ("topic = AI agents", "topic", "double quotes"),
    ("topic = __import__('os').system('id')", "topic", "double quotes"),
    ("2topic = \"x\"", "2topic", "cannot name"),
    ("just words", "", "not 'name = value'"),
    ('topic = ["a"]', "topic", "double quotes"),
])
def test_bad_declarations_are_refused_naming_the_parameter(body, field, words):
    with pytest.raises(ParameterError) as caught:
        parse_declaration(body)
    assert caught.value.field == field and words in str(caught.value)


def test_values_given_as_text_take_the_declared_type():
    declared = {"topic": "AI", "pages": 3, "short": False}
    assert merge(declared, {"pages": "5", "short": "yes"}) == {"topic": "AI", "pages": 5, "short": True}
    with pytest.raises(ParameterError, match="whole number"):
        coerce("pages", "five", 3)
    with pytest.raises(ParameterError, match="not a parameter of this recipe. Its parameters are: topic"):
        merge({"topic": "AI"}, {"topik": "x"})


def test_placeholders_are_filled_and_an_unknown_one_is_named():
    assert fill("Write about {{ topic }} in {{pages}} pages; {not this}", {"topic": "AI", "pages": 2}) == \
        "Write about AI in 2 pages; {not this}"
    with pytest.raises(ParameterError, match=r"\{\{topik\}\} is not a parameter of this notebook"):
        fill("About {{topik}}", {"topic": "AI"})
