"""A cell is a streamed turn: text, tools, permissions, magics (real CLI, fake model)."""

from __future__ import annotations

import json

from jupyter_client.kernelspec import KernelSpecManager

from tests.fake_model import say, use_tool


def test_installing_the_project_installs_the_claude_kernelspec():
    spec = KernelSpecManager().get_kernel_spec("claude")
    assert spec.display_name == "Claude"
    assert spec.language == "markdown"
    assert spec.interrupt_mode == "message"


def test_answer_streams_into_the_cell_as_markdown_before_the_turn_ends(kernel, model):
    answer = "Here is **a plan**:\n\n1. read the data\n2. write the report\n" * 3
    model.script(say(answer, chunk=6, delay=0.02))
    run = kernel.run("Make a plan")
    assert run.status == "ok"
    displays = [m for m in run.messages if m["msg_type"] in ("display_data", "update_display_data")]
    text_displays = [m for m in displays if "text/markdown" in m["content"]["data"]
                     and m["content"]["data"]["text/markdown"].startswith("Here")]
    # several outputs while the answer grew, each a longer prefix of it
    assert len(text_displays) >= 4
    lengths = [len(m["content"]["data"]["text/markdown"]) for m in text_displays]
    assert lengths == sorted(lengths) and lengths[0] < len(answer)
    assert text_displays[-1]["content"]["data"]["text/markdown"] == answer
    assert "Make a plan" in model.seen()


def test_tool_use_runs_in_the_agent_folder_and_shows_one_line_and_a_footer(kernel, model, agent_dir, settings_file):
    settings_file.write_text(json.dumps({"allowed_tools": ["Write"]}))
    target = agent_dir / "report.md"
    model.script(use_tool("Write", {"file_path": str(target), "content": "# Report\n"}), say("Saved report.md."))
    run = kernel.run("Write the report")
    assert run.status == "ok", run.error
    assert target.read_text() == "# Report\n"
    texts = run.texts()
    assert any(t.startswith("✓ Write: report.md") for t in texts), texts
    html = [m["content"]["data"].get("text/html", "") for m in run.messages if m["msg_type"] == "update_display_data"]
    assert any("<details" in h and "Write: report.md" in h for h in html)
    assert "Saved report.md." in texts
    footer = texts[-1]
    assert "2 turns" in footer and "in /" in footer and "$" in footer and footer.endswith(" s")
    # the CLI sent the tool's result back to the model
    assert "report.md" in model.seen()


def test_bash_tool_line_shows_the_command(kernel, model, agent_dir, settings_file):
    settings_file.write_text(json.dumps({"allowed_tools": ["Bash"]}))
    (agent_dir / "data.csv").write_text("a,b\n")
    model.script(use_tool("Bash", {"command": "ls -la", "description": "list"}), say("One file."))
    run = kernel.run("What files are there?")
    assert run.status == "ok", run.error
    line = next(t for t in run.texts() if "Bash: ls -la" in t)
    assert line.startswith("✓") and "data.csv" in line


def test_permission_prompt_allowed_once_through_stdin(kernel, model, agent_dir):
    target = agent_dir / "notes.txt"
    model.script(use_tool("Write", {"file_path": str(target), "content": "ok"}), say("Done."))
    run = kernel.run("Save a note", answer=lambda prompt: "y")
    assert run.status == "ok", run.error
    assert run.prompts and "Write: notes.txt" in run.prompts[0]
    assert target.read_text() == "ok"


def test_permission_allowed_for_the_session_is_not_asked_again(kernel, model, agent_dir):
    model.script(use_tool("Write", {"file_path": str(agent_dir / "a.txt"), "content": "1"}), say("a"),
                 use_tool("Write", {"file_path": str(agent_dir / "b.txt"), "content": "2"}), say("b"))
    first = kernel.run("Save a", answer=lambda prompt: "a")
    second = kernel.run("Save b", answer=lambda prompt: "n")
    assert len(first.prompts) == 1 and second.prompts == []
    assert (agent_dir / "b.txt").read_text() == "2"


def test_permission_prompt_denied_through_stdin(kernel, model, agent_dir):
    target = agent_dir / "secret.txt"
    model.script(use_tool("Write", {"file_path": str(target), "content": "x"}), say("I could not write it."))
    run = kernel.run("Save it", answer=lambda prompt: "n")
    assert run.status == "ok"
    assert not target.exists()
    assert "Denied: Write: secret.txt" in run.text
    assert any(t.startswith("✗ Write: secret.txt") for t in run.texts())


def test_headless_run_denies_unapproved_tools_and_says_so(kernel, model, agent_dir):
    target = agent_dir / "out.txt"
    model.script(use_tool("Write", {"file_path": str(target), "content": "x"}), say("Not written."))
    run = kernel.run("Save it")  # no stdin, as under nbclient
    assert run.status == "ok"
    assert not target.exists()
    assert "Denied: Write: out.txt" in run.text and "allowed_tools" in run.text


def test_headless_policy_allow_lets_tools_run(kernel, model, agent_dir, settings_file):
    settings_file.write_text(json.dumps({"headless_permission": "allow"}))
    target = agent_dir / "out.txt"
    model.script(use_tool("Write", {"file_path": str(target), "content": "x"}), say("Written."))
    run = kernel.run("Save it")
    assert run.status == "ok"
    assert target.read_text() == "x"


def test_agent_settings_reach_the_model(kernel, model, agent_dir, settings_file):
    settings_file.write_text(json.dumps({
        "instructions": "Always answer like a pirate.", "model": "claude-haiku-4-5",
    }))
    run = kernel.run("Hello")
    assert run.status == "ok", run.error
    request = model.requests[-1]
    assert request["model"] == "claude-haiku-4-5"
    assert "Always answer like a pirate." in json.dumps(request["system"])


def test_magics_help_model_session(kernel, model):
    help_run = kernel.run("%help")
    assert all(f"%{name}" in help_run.text for name in ("new", "model", "session", "help"))
    kernel.run("Hi")
    switch = kernel.run("%model claude-sonnet-4-5\nAnd now?")
    assert switch.status == "ok", switch.error
    assert model.requests[-1]["model"] == "claude-sonnet-4-5"
    session = kernel.run("%session")
    assert "Turns: 2" in session.text and "Cost: $" in session.text and "Session: " in session.text


def test_unknown_magic_lists_the_magics(kernel):
    run = kernel.run("%bogus")
    assert run.status == "error"
    assert run.error["ename"] == "UnknownMagic"
    assert "%new, %model, %session, %help" in run.error["evalue"]


def test_new_magic_starts_a_fresh_conversation(kernel, model):
    kernel.run("My name is Ada.")
    kernel.run("%new")
    kernel.run("What is my name?")
    last = json.dumps(model.requests[-1]["messages"])
    assert "My name is Ada." not in last


def test_edited_agent_settings_apply_from_the_next_cell_in_the_same_conversation(kernel, model, agent_dir, settings_file):
    kernel.run("Remember the word kiwi.")
    settings_file.write_text(json.dumps({"instructions": "Be brief.", "model": "claude-opus-4-5"}))
    run = kernel.run("Which word?")
    assert run.status == "ok", run.error
    assert model.requests[-1]["model"] == "claude-opus-4-5"
    assert "kiwi" in model.seen()
    # Claude Code keeps a resumed conversation's system prompt, so the person is told
    assert "instructions changed" in run.text and "%new" in run.text
    fresh = kernel.run("%new\nHello")
    assert fresh.status == "ok", fresh.error
    assert "Be brief." in json.dumps(model.requests[-1]["system"])
    assert "kiwi" not in model.seen()
