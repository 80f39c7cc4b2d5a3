"""Agent folders and kernelspecs in a person's server: create, edit, rename, trash, reconcile."""

from __future__ import annotations

import json
import sys

import pytest

from agents_extension.server.workspace import Workspace, agent_settings, kernelspec
from claude_kernel.agent import load_agent


def agent(**fields):
    base = {"id": "a1", "name": "Market researcher", "slug": "market-researcher", "status": "active",
            "instructions": "Cite sources.", "model": "claude-sonnet-4-5", "permission_mode": "default",
            "allowed_tools": ["Read"], "disallowed_tools": [], "max_turns": 10, "max_budget_usd": None,
            "description": "Weekly market notes", "version": 3}
    return {**base, **fields}


@pytest.fixture
def workspace(tmp_path):
    return Workspace(tmp_path / "home" / "agents", tmp_path / "home" / ".local" / "share" / "jupyter" / "kernels")


def test_an_agent_gets_a_folder_its_settings_instructions_and_a_kernelspec(workspace):
    folder = workspace.sync(agent())
    assert folder == workspace.root / "market-researcher"
    assert (folder / "CLAUDE.md").read_text() == "Cite sources.\n"
    settings = load_agent(folder)  # what the Claude kernel will read
    assert (settings.name, settings.instructions, settings.model, settings.allowed_tools, settings.max_turns) == (
        "Market researcher", "Cite sources.", "claude-sonnet-4-5", ("Read",), 10)
    spec = json.loads((workspace.kernels_dir / "claude-market-researcher" / "kernel.json").read_text())
    assert spec == kernelspec(agent(), folder)


def test_the_kernelspec_names_the_agent_and_points_the_kernel_at_its_folder(tmp_path):
    spec = kernelspec(agent(name="연구원"), tmp_path / "agents" / "agent-1a2b3c", python="/venv/bin/python")
    assert spec == {
        "argv": ["/venv/bin/python", "-m", "claude_kernel", "-f", "{connection_file}"],
        "display_name": "Claude · 연구원",
        "language": "markdown",
        "interrupt_mode": "message",
        "env": {"CLAUDE_AGENT_DIR": str(tmp_path / "agents" / "agent-1a2b3c")},
        "metadata": {"debugger": False, "oh-my-agent": {"agent_id": "a1"}},
    }
    assert kernelspec(agent(), tmp_path)["argv"][0] == sys.executable


def test_settings_leave_out_what_is_unset():
    assert agent_settings(agent(model=None, allowed_tools=[], instructions="")) == {
        "id": "a1", "name": "Market researcher", "status": "active", "permission_mode": "default", "max_turns": 10}


def test_edits_rewrite_settings_and_keep_the_agents_work(workspace):
    folder = workspace.sync(agent())
    (folder / "report.md").write_text("draft")
    workspace.sync(agent(instructions="Be brief.", max_turns=3))
    assert load_agent(folder).instructions == "Be brief."
    assert (folder / "CLAUDE.md").read_text() == "Be brief.\n"
    assert (folder / "report.md").read_text() == "draft"


def test_rename_moves_the_folder_and_replaces_the_kernelspec(workspace):
    old = workspace.sync(agent())
    (old / "report.md").write_text("draft")
    new = workspace.sync(agent(name="Trend scout", slug="trend-scout"))
    assert not old.exists() and (new / "report.md").read_text() == "draft"
    assert not (workspace.kernels_dir / "claude-market-researcher").exists()
    spec = json.loads((workspace.kernels_dir / "claude-trend-scout" / "kernel.json").read_text())
    assert spec["display_name"] == "Claude · Trend scout" and spec["env"]["CLAUDE_AGENT_DIR"] == str(new)


def test_delete_removes_the_kernelspec_and_moves_the_folder_to_the_trash(workspace):
    folder = workspace.sync(agent())
    (folder / "report.md").write_text("keep me")
    trashed = workspace.remove("a1")
    assert not folder.exists() and not (workspace.kernels_dir / "claude-market-researcher").exists()
    assert trashed.parent == workspace.root / ".trash" and (trashed / "report.md").read_text() == "keep me"
    assert workspace.remove("a1") is None


def test_a_new_agent_taking_a_trashed_slug_does_not_overwrite_anything(workspace):
    workspace.sync(agent())
    workspace.remove("a1")
    workspace.sync(agent(id="a2"))
    workspace.remove("a2")
    assert len(list((workspace.root / ".trash").iterdir())) == 2


def test_reconcile_adds_missing_agents_and_trashes_ones_the_service_no_longer_has(workspace):
    workspace.sync(agent(id="gone", slug="gone", name="Gone"))
    (workspace.kernels_dir / "claude-orphan").mkdir(parents=True)
    (workspace.kernels_dir / "claude-orphan" / "kernel.json").write_text(json.dumps({"metadata": {"oh-my-agent": {"agent_id": "x"}}}))
    (workspace.kernels_dir / "python-own").mkdir()
    workspace.reconcile([agent()])
    assert sorted(p.name for p in workspace.root.iterdir()) == [".trash", "market-researcher"]
    assert sorted(p.name for p in workspace.kernels_dir.iterdir()) == ["claude-market-researcher", "python-own"]


def test_jupyterlab_file_menu_gets_the_dashboard_without_overwriting_a_persons_settings(tmp_path):
    from agents_extension.server.lab_menu import MENU_SETTINGS, add_dashboard_to_menu

    add_dashboard_to_menu(tmp_path, "/hub/")
    item = json.loads((tmp_path / MENU_SETTINGS).read_text())["menus"][0]["items"][1]
    assert item["command"] == "help:open" and item["args"]["url"] == "/hub/user-redirect/agents"
    (tmp_path / MENU_SETTINGS).write_text('{"menus": []}')
    add_dashboard_to_menu(tmp_path, "/hub/")
    assert (tmp_path / MENU_SETTINGS).read_text() == '{"menus": []}'
