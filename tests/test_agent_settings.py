"""The agent settings file: defaults, every field, and clear errors for bad values."""

from __future__ import annotations

import json

import pytest

from claude_kernel.agent import AgentConfigError, agent_folder, load_agent


def test_a_folder_without_settings_is_an_agent_with_defaults(tmp_path):
    settings = load_agent(tmp_path)
    assert settings.name == tmp_path.name
    assert settings.permission_mode == "default"
    assert settings.headless_permission == "deny"
    assert settings.allowed_tools == () and settings.max_turns is None


def test_every_setting_is_read(tmp_path):
    (tmp_path / "agent.json").write_text(json.dumps({
        "name": "Researcher", "instructions": "Cite sources.", "model": "claude-sonnet-4-5",
        "permission_mode": "acceptEdits", "allowed_tools": ["Read", "Bash(ls:*)"],
        "disallowed_tools": ["WebFetch"], "max_turns": 12, "max_budget_usd": 1.5,
        "headless_permission": "allow",
    }))
    s = load_agent(tmp_path)
    assert (s.name, s.instructions, s.model, s.permission_mode) == ("Researcher", "Cite sources.", "claude-sonnet-4-5", "acceptEdits")
    assert s.allowed_tools == ("Read", "Bash(ls:*)") and s.disallowed_tools == ("WebFetch",)
    assert (s.max_turns, s.max_budget_usd, s.headless_permission) == (12, 1.5, "allow")


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"max_turns": 0}', "max_turns"),
        ('{"max_turns": true}', "max_turns"),
        ('{"max_turns": "5"}', "max_turns"),
        ('{"max_budget_usd": -1}', "max_budget_usd"),
        ('{"max_budget_usd": "cheap"}', "max_budget_usd"),
        ('{"permission_mode": "yolo"}', "permission_mode"),
        ('{"allowed_tools": "Bash"}', "allowed_tools"),
        ('{"disallowed_tools": [""]}', "disallowed_tools"),
        ('{"instructions": 42}', "instructions"),
        ('{"headless_permission": "ask"}', "headless_permission"),
    ],
)
def test_bad_settings_name_the_field(tmp_path, content, named):
    (tmp_path / "agent.json").write_text(content)
    with pytest.raises(AgentConfigError, match=named) as err:
        load_agent(tmp_path)
    assert str(tmp_path / "agent.json") in str(err.value)


def test_a_missing_agent_folder_says_what_to_do(tmp_path):
    with pytest.raises(AgentConfigError, match="does not exist"):
        load_agent(tmp_path / "gone")


def test_agent_folder_comes_from_the_environment_or_the_notebook(monkeypatch, tmp_path):
    monkeypatch.setenv("CLAUDE_AGENT_DIR", str(tmp_path / "a"))
    assert agent_folder("/elsewhere") == (tmp_path / "a").resolve()
    monkeypatch.delenv("CLAUDE_AGENT_DIR")
    assert agent_folder(tmp_path) == tmp_path.resolve()
