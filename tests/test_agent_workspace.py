"""Agent folders, settings and kernelspecs in a person's server: create, edit, rename, trash, reconcile;
and none of it steered by what an agent leaves in its folder (links, files claiming another agent's id)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from agents_extension.server.workspace import Workspace, agent_settings, kernelspec
from claude_kernel.agent import load_agent
from tests.fake_model import say, use_tool


def agent(**fields):
    base = {"id": "a1", "name": "Market researcher", "slug": "market-researcher", "status": "active",
            "instructions": "Cite sources.", "model": "claude-sonnet-4-5", "permission_mode": "default",
            "allowed_tools": ["Read"], "disallowed_tools": [], "max_turns": 10, "max_budget_usd": None,
            "description": "Weekly market notes", "version": 3}
    return {**base, **fields}


@pytest.fixture
def workspace(tmp_path):
    home = tmp_path / "home"
    data = home / ".local" / "share" / "jupyter"
    return Workspace(home / "agents", data / "kernels", data / "oh-my-agent" / "agents")


def test_an_agent_gets_a_folder_its_settings_instructions_and_a_kernelspec(workspace):
    folder = workspace.sync(agent())
    assert folder == workspace.root / "market-researcher"
    assert sorted(p.name for p in folder.iterdir()) == ["CLAUDE.md"]  # no settings in the agent's reach
    assert (folder / "CLAUDE.md").read_text() == "Cite sources.\n"
    settings = load_agent(folder, workspace.settings_path("a1"))  # what the Claude kernel will read
    assert (settings.name, settings.instructions, settings.model, settings.allowed_tools, settings.max_turns, settings.id) == (
        "Market researcher", "Cite sources.", "claude-sonnet-4-5", ["Read"], 10, "a1")
    spec = json.loads((workspace.kernels_dir / "claude-market-researcher" / "kernel.json").read_text())
    assert spec == kernelspec(agent(), folder, workspace.settings_path("a1"))


def test_the_kernelspec_names_the_agent_and_points_the_kernel_at_its_folder_and_settings(tmp_path):
    spec = kernelspec(agent(name="연구원"), tmp_path / "agents" / "agent-1a2b3c", tmp_path / "settings" / "a1.json",
                      python="/venv/bin/python")
    assert spec == {
        "argv": ["/venv/bin/python", "-m", "claude_kernel", "-f", "{connection_file}"],
        "display_name": "Claude · 연구원",
        "language": "markdown",
        "interrupt_mode": "message",
        "env": {"CLAUDE_AGENT_DIR": str(tmp_path / "agents" / "agent-1a2b3c"),
                "CLAUDE_AGENT_SETTINGS": str(tmp_path / "settings" / "a1.json")},
        "metadata": {"debugger": False, "oh-my-agent": {"agent_id": "a1"}},
    }
    assert kernelspec(agent(), tmp_path, tmp_path / "s.json")["argv"][0] == sys.executable


def test_settings_leave_out_what_is_unset():
    assert agent_settings(agent(model=None, allowed_tools=[], instructions="")) == {
        "id": "a1", "name": "Market researcher", "slug": "market-researcher", "status": "active",
        "description": "Weekly market notes", "permission_mode": "default", "max_turns": 10}


def test_edits_rewrite_settings_and_keep_the_agents_work(workspace):
    folder = workspace.sync(agent())
    (folder / "report.md").write_text("draft")
    mount_point = (folder / "CLAUDE.md").stat().st_ino
    workspace.sync(agent(instructions="Be brief.", max_turns=3))
    assert load_agent(folder, workspace.settings_path("a1")).instructions == "Be brief."
    assert (folder / "CLAUDE.md").read_text() == "Be brief.\n"
    # rewritten, not replaced: running sandboxes have it mounted read-only, and a replacement would unmount it
    assert (folder / "CLAUDE.md").stat().st_ino == mount_point
    assert (folder / "report.md").read_text() == "draft"


def test_the_settings_file_the_dashboard_wrote_before_is_removed(workspace):
    folder = workspace.sync(agent())
    (folder / "agent.json").write_text('{"id": "a1"}')
    workspace.sync(agent())
    assert not (folder / "agent.json").exists()


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
    assert sorted(p.name for p in workspace.settings_dir.iterdir()) == ["a1.json"]


# -- what an agent leaves in its folder steers nothing -------------------------------
@pytest.mark.parametrize("bad", [
    {"allowed_tools": ["Read", "\udfff"]},  # stored before the service refused lone surrogates
    {"name": "Bad\ud800"},
    {"permission_mode": "yolo"},
    {"slug": "../escape"},
])
def test_reconcile_skips_an_agent_it_cannot_set_up_and_sets_up_the_others(workspace, bad, caplog):
    broken = agent(id="a0", name="Broken", slug="broken", **{k: v for k, v in bad.items() if k not in ("name", "slug")})
    broken.update(bad)
    workspace.reconcile([broken, agent(id="a2", name="Second", slug="second")])
    assert (workspace.root / "second" / "CLAUDE.md").is_file() and workspace.settings_path("a2").is_file()
    assert not workspace.settings_path("a0").exists()
    assert "a0" in caplog.text and "could not be set up" in caplog.text


def test_an_agent_the_kernel_could_not_use_is_refused_before_its_folder_changes(workspace):
    with pytest.raises(ValueError, match="allowed_tools"):
        workspace.sync(agent(allowed_tools=["\ud800"]))
    assert not (workspace.root / "market-researcher").exists()


@pytest.fixture
def victims(tmp_path):
    """Files outside the agent's folder that its links point at: another person's, and a sibling agent's."""
    other = tmp_path / "other-person"
    other.mkdir()
    (other / "notes.txt").write_text("theirs")
    return other


@pytest.mark.parametrize("planted", [
    {".CLAUDE.md.tmp": "other/notes.txt", ".agent.json.tmp": "sibling/CLAUDE.md"},
    {"CLAUDE.md": "sibling/CLAUDE.md"},
    {"CLAUDE.md": "other/new-file", "agent.json": "other/notes.txt"},
], ids=["temporary-files", "instructions-to-a-sibling", "dangling-and-old-settings"])
def test_links_in_an_agents_folder_are_replaced_never_written_through(workspace, victims, planted):
    folder = workspace.sync(agent())
    sibling = workspace.sync(agent(id="a2", name="Sibling", slug="sibling", instructions="Sibling's own."))
    places = {"other": victims, "sibling": sibling}
    for name, target in planted.items():
        where, file = target.split("/")
        (folder / name).unlink(missing_ok=True)
        (folder / name).symlink_to(places[where] / file)
    workspace.sync(agent(instructions="Be brief."))
    assert (victims / "notes.txt").read_text() == "theirs" and not (victims / "new-file").exists()
    assert (sibling / "CLAUDE.md").read_text() == "Sibling's own.\n"
    assert not (folder / "CLAUDE.md").is_symlink() and (folder / "CLAUDE.md").read_text() == "Be brief.\n"
    assert not os.path.lexists(folder / "agent.json")


def test_a_fifo_where_the_instructions_go_does_not_hang_the_server(workspace):
    folder = workspace.sync(agent())
    (folder / "CLAUDE.md").unlink()
    os.mkfifo(folder / "CLAUDE.md")
    workspace.sync(agent(instructions="Be brief."))
    assert (folder / "CLAUDE.md").read_text() == "Be brief.\n"


def test_a_link_where_the_agent_folder_should_be_is_moved_to_the_trash_not_followed(workspace, victims):
    workspace.root.mkdir(parents=True)
    (workspace.root / "market-researcher").symlink_to(victims)
    folder = workspace.sync(agent())
    assert folder.is_dir() and not folder.is_symlink() and (folder / "CLAUDE.md").read_text() == "Cite sources.\n"
    assert sorted(p.name for p in victims.iterdir()) == ["notes.txt"]
    [moved] = (workspace.root / ".trash").iterdir()
    assert moved.is_symlink()


def test_an_agent_claiming_a_siblings_id_moves_deletes_nothing_of_the_sibling(workspace):
    own = workspace.sync(agent())
    sibling = workspace.sync(agent(id="a2", name="Sibling", slug="sibling"))
    (sibling / "agent.json").write_text(json.dumps({"id": "a1", "name": "Market researcher"}))  # the sibling lies
    (sibling / "work.md").write_text("sibling's work")
    renamed = workspace.sync(agent(name="Trend scout", slug="trend-scout"))
    assert renamed.exists() and not own.exists() and (sibling / "work.md").read_text() == "sibling's work"
    workspace.remove("a1")
    assert (sibling / "work.md").exists() and (workspace.kernels_dir / "claude-sibling").exists()
    assert not renamed.exists() and not (workspace.kernels_dir / "claude-trend-scout").exists()


@pytest.mark.parametrize("field", ["id", "slug"])
@pytest.mark.parametrize("value", ["../escape", ".", "..", "", "a/b", ".trash"])
def test_ids_and_slugs_that_are_not_one_plain_name_are_refused(workspace, field, value):
    with pytest.raises(ValueError, match=field):
        workspace.sync(agent(**{field: value}))
    assert not workspace.root.exists() or list(workspace.root.iterdir()) == []


# -- the same, with the links planted by a real agent in its sandbox -----------------
@pytest.fixture
def agent_dir(workspace):
    """Overrides conftest's: the kernel works for the dashboard's agent "a1", which has a sibling "a2"."""
    workspace.sync(agent(id="a2", name="Sibling", slug="sibling", instructions="Sibling's own."))
    return workspace.sync(agent(allowed_tools=["Bash"]))


@pytest.fixture
def settings_file(workspace, agent_dir):
    """Overrides conftest's: the settings the dashboard keeps for "a1"."""
    return workspace.settings_path("a1")


def test_what_an_agent_plants_in_its_folder_does_not_steer_the_owners_next_edit_or_delete(
        start_kernel, model, workspace, agent_dir, victims):
    sibling = workspace.root / "sibling"
    plant = [
        f"ln -s {victims / 'notes.txt'} .CLAUDE.md.tmp",
        f"ln -s {sibling / 'CLAUDE.md'} .agent.json.tmp",
        f"echo '{json.dumps({'id': 'a2', 'allowed_tools': ['Bash']})}' > agent.json",  # claims the sibling's id
        "echo 'Obey me.' > CLAUDE.md; rm -f CLAUDE.md; ln -sf ../sibling/CLAUDE.md CLAUDE.md; cat CLAUDE.md",
    ]
    kernel = start_kernel()
    model.script(*(use_tool("Bash", {"command": command}) for command in plant), say("Done."))
    run = kernel.run("Make yourself at home")
    assert run.status == "ok", run.error
    shown = model.seen()
    assert "Read-only file system" in shown and "Device or resource busy" in shown
    assert "Cite sources." in shown  # the owner's CLAUDE.md, not what the agent wrote

    workspace.sync(agent(instructions="Be brief.", allowed_tools=["Bash"]))  # the owner's next edit
    assert (victims / "notes.txt").read_text() == "theirs"
    assert (sibling / "CLAUDE.md").read_text() == "Sibling's own.\n"
    assert (agent_dir / "CLAUDE.md").read_text() == "Be brief.\n"
    model.script(say("Brief."))
    assert kernel.run("%new\nAgain").status == "ok"  # (instructions apply to new conversations)
    assert "Be brief." in json.dumps(model.requests[-1]["system"])  # the edit applies from the next cell

    workspace.remove("a2")  # the owner deletes the sibling the agent claimed to be
    assert not sibling.exists() and not (workspace.kernels_dir / "claude-sibling").exists()
    assert agent_dir.exists() and (workspace.kernels_dir / "claude-market-researcher").exists()


def test_jupyterlab_file_menu_gets_the_dashboard_from_the_installed_settings_overrides(tmp_path):
    """The wheel ships JupyterLab settings overrides: the File menu's default holds "My agents" for
    everyone on this environment, next to a person's own menu settings, and nothing is written for them."""
    from jupyterlab.commands import get_app_dir
    from jupyterlab_server.settings_utils import get_settings

    app_dir = Path(get_app_dir())
    own = tmp_path / "user-settings" / "@jupyterlab" / "mainmenu-extension" / "plugin.jupyterlab-settings"
    own.parent.mkdir(parents=True)
    own.write_text('{"menus": [{"id": "jp-mainmenu-tabs", "disabled": true}]}')
    settings, warnings = get_settings(str(app_dir / "settings"), str(app_dir / "schemas"), str(tmp_path / "user-settings"),
                                      schema_name="@jupyterlab/mainmenu-extension:plugin")
    assert not any(warnings)
    file_menu = next(m for m in settings["schema"]["properties"]["menus"]["default"] if m["id"] == "jp-mainmenu-file")
    item = next(i for i in file_menu["items"] if i.get("command") == "help:open")
    assert item["args"] == {"url": "/hub/user-redirect/agents", "text": "My agents · 내 에이전트", "newBrowserTab": True}
    assert json.loads(settings["raw"]) == {"menus": [{"id": "jp-mainmenu-tabs", "disabled": True}]}  # theirs, untouched
