"""The kernel's side of recipes: a %parameters cell, {{name}} filled in before the prompt is sent, and the
provenance every answered cell carries in its footer's metadata (real CLI, fake model)."""

from __future__ import annotations

import json

from tests.fake_model import say, use_tool


def footer_provenance(run) -> dict:
    found = [m["content"]["metadata"]["oh_my_agent"] for m in run.messages
             if m["msg_type"] == "display_data" and "oh_my_agent" in m["content"].get("metadata", {})]
    assert len(found) == 1, run.messages
    return found[0]


def test_parameters_reach_the_prompt_and_a_later_declaration_overrides(kernel, model):
    declared = kernel.run('%parameters\n# what the note is about\ntopic = "AI agents"\npages = 2')
    assert declared.status == "ok" and "topic = AI agents, pages = 2" in declared.text
    kernel.run('%parameters\ntopic = "solar power"')  # papermill's injected cell comes after the defaults
    model.script(say("Noted."))
    run = kernel.run("Write {{ topic }} notes in {{pages}} pages")
    assert run.status == "ok", run.error
    assert "Write solar power notes in 2 pages" in model.seen()


def test_an_unknown_parameter_is_a_cell_error_and_nothing_is_sent(kernel, model):
    kernel.run('%parameters\ntopic = "AI"')
    run = kernel.run("About {{topik}}")
    assert run.status == "error"
    assert run.error["ename"] == "UnknownParameter"
    assert "{{topik}} is not a parameter" in run.error["evalue"] and "topic" in run.error["evalue"]
    assert model.requests == [] or "topik" not in model.seen()


def test_a_bad_declaration_names_the_line_and_the_parameter(kernel):
    run = kernel.run("%parameters\ntopic = AI agents")
    assert run.status == "error" and run.error["ename"] == "BadParameters"
    assert "'topic'" in run.error["evalue"] and "double quotes" in run.error["evalue"]


def test_every_answered_cell_records_its_provenance(kernel, model, agent_dir, settings_file):
    settings_file.write_text(json.dumps({"name": "Researcher", "allowed_tools": ["Bash"], "model": "claude-haiku-4-5"}))
    model.script(use_tool("Bash", {"command": "ls -la", "description": "list"}), say("One file."), say("Two."))
    first = footer_provenance(kernel.run("What files are there?"))
    second = footer_provenance(kernel.run("And now?"))
    assert first["agent"] == "Researcher" and first["model"] == "claude-haiku-4-5"
    assert first["tools"] == [{"name": "Bash", "argument": "ls -la"}] and first["denied"] == []
    assert first["session_id"] and first["session_id"] == second["session_id"]
    assert (first["turn"], second["turn"]) == (1, 2)
    assert first["turns"] == 2 and first["input_tokens"] > 0 and first["output_tokens"] > 0
    assert first["cost_usd"] >= 0 and first["duration_seconds"] > 0 and first["status"] == "ok"


def test_a_headless_cell_says_which_tool_was_denied_and_records_it(kernel, model, agent_dir):
    model.script(use_tool("Write", {"file_path": str(agent_dir / "x.txt"), "content": "1"}), say("Could not."))
    run = kernel.run("Save x")  # no stdin: nobody can be asked, the agent's headless policy (deny) answers
    assert run.status == "ok", run.error
    assert "Denied: Write: x.txt (no one to ask in this run" in run.text
    assert not (agent_dir / "x.txt").exists()
    assert footer_provenance(run)["denied"] == [{"name": "Write", "argument": "x.txt"}]
