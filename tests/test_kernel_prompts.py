"""What the kernel tells a person about permissions: the question our JupyterLab
extension turns into buttons, why a tool ran without asking, and %session's
folder as its owner knows it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from claude_kernel import events
from claude_kernel.events import TurnRules, rule_matches, unasked_reason
from claude_kernel.kernel import PERMISSION_PROMPT
from claude_kernel.magics import folder_for_people
from claude_kernel.render import tool_bundle, without_asking
from tests.fake_model import say, use_tool

EXTENSION_PROMPT = Path(__file__).parents[1] / "lab_extension" / "src" / "permission.ts"


def extension_pattern() -> re.Pattern[str]:
    """The pattern lab_extension/src/permission.ts recognises the kernel's question by."""
    source = EXTENSION_PROMPT.read_text(encoding="utf-8")
    found = re.search(r"export const PERMISSION_PROMPT = /(.+)/;\n", source)
    assert found, "lab_extension/src/permission.ts no longer defines PERMISSION_PROMPT as a regex literal"
    return re.compile(found.group(1))


@pytest.mark.parametrize("summary", ["Bash: touch hello.txt", "Write: notes/today.md", "mcp__drive__search",
                                     "Bash: echo 'y = once? n = no: '"])
def test_the_extension_recognises_the_kernels_permission_question(summary):
    asked = PERMISSION_PROMPT.format(summary=summary)
    match = extension_pattern().fullmatch(asked)
    assert match and match.group(1) == summary


def test_the_extension_leaves_other_input_requests_alone():
    pattern = extension_pattern()
    assert not pattern.match("Your name: ")
    assert not pattern.match("Allow it? (y/n) ")


@pytest.mark.parametrize("folder, home, shown", [
    ("/home/ada/agents/newsletter-writer", "/home/ada", "~/agents/newsletter-writer"),
    ("/home/ada", "/home/ada", "~"),
    ("/srv/agents/x", "/home/ada", "/srv/agents/x"),  # outside the home: the path is all there is
    ("/home/adam/agents/x", "/home/ada", "/home/adam/agents/x"),  # a sibling home is not inside
])
def test_session_shows_the_agents_folder_from_the_home(folder, home, shown):
    assert folder_for_people(Path(folder), home) == shown


@pytest.mark.parametrize("rule, tool, tool_input, matches", [
    ("Bash", "Bash", {"command": "rm -rf x"}, True),
    ("Bash(ls:*)", "Bash", {"command": "ls -la"}, True),
    ("Bash(ls:*)", "Bash", {"command": "ls"}, True),
    ("Bash(ls:*)", "Bash", {"command": "lsblk"}, False),
    ("Bash(git status)", "Bash", {"command": "git status"}, True),
    ("Bash(git status)", "Bash", {"command": "git push"}, False),
    ("Bash(npm run *)", "Bash", {"command": "npm run test"}, True),
    ("Write", "Write", {"file_path": "/a/b.md"}, True),
    ("Write", "Edit", {"file_path": "/a/b.md"}, False),
    ("Read(*.md)", "Read", {"file_path": "/a/b.md"}, True),
    ("Read(*.md)", "Read", {"file_path": "/a/b.csv"}, False),
    ("WebFetch(domain:example.com)", "WebFetch", {"url": "https://example.com/x"}, True),
    ("WebFetch(domain:example.com)", "WebFetch", {"url": "https://evil.test/example.com"}, False),
    ("WebFetch(domain:*.example.com)", "WebFetch", {"url": "https://docs.example.com/"}, True),
])
def test_permission_rules_match_as_claude_code_reads_them(rule, tool, tool_input, matches):
    assert rule_matches(rule, tool, tool_input) is matches


@pytest.mark.parametrize("tool, tool_input, rules, reason", [
    ("Bash", {"command": "ls -la"}, TurnRules(), events.READ_ONLY_COMMAND),
    ("Read", {"file_path": "a.md"}, TurnRules(), events.READ_ONLY_TOOL),
    ("Grep", {"pattern": "x"}, TurnRules(), events.READ_ONLY_TOOL),
    ("Bash", {"command": "touch a"}, TurnRules(allowed_tools=("Bash(touch:*)",)), events.PRE_APPROVED),
    ("Write", {"file_path": "a"}, TurnRules(permission_mode="acceptEdits"), events.EDITS_ALLOWED),
    ("Bash", {"command": "touch a"}, TurnRules(permission_mode="bypassPermissions"), events.ALL_ALLOWED),
    ("WebSearch", {"query": "x"}, TurnRules(), events.NEVER_ASKS),
])
def test_a_call_nobody_was_asked_about_names_why_it_ran(tool, tool_input, rules, reason):
    assert unasked_reason(tool, tool_input, rules) == reason


def test_the_tool_line_says_why_in_words_beside_the_call():
    bundle = tool_bundle("Bash: ls -la", "✓", "a.txt", without_asking(events.READ_ONLY_COMMAND, "Bash"))
    assert bundle["text/plain"].startswith("✓ Bash: ls -la · ran without asking: a read-only command")
    assert "<span class='claude-tool-why'>· ran without asking: a read-only command" in bundle["text/html"]
    assert without_asking(events.SESSION, "Write") == "ran without asking: you allowed Write for this session"
    assert without_asking(None, "Bash") is None
    assert tool_bundle("Bash: ls", "✓", "")["text/plain"] == "✓ Bash: ls"


# -- with the real CLI and the fake model ---------------------------------------------------------

def tool_line(run, summary: str) -> str:
    return next(t for t in run.texts() if t.startswith(("✓ ", "✗ ")) and summary in t)


def test_a_read_only_command_says_claude_code_let_it_through(kernel, model, agent_dir):
    (agent_dir / "data.csv").write_text("a,b\n")
    model.script(use_tool("Bash", {"command": "ls -la", "description": "list"}), say("One file."))
    run = kernel.run("What files are there?", answer=lambda prompt: "n")
    assert run.status == "ok", run.error
    assert run.prompts == []  # nobody was asked
    assert "ran without asking: a read-only command" in tool_line(run, "Bash: ls -la")


def test_a_pre_approved_tool_says_so(kernel, model, agent_dir, settings_file):
    settings_file.write_text(json.dumps({"allowed_tools": ["Write"]}))
    model.script(use_tool("Write", {"file_path": str(agent_dir / "r.md"), "content": "x"}), say("Saved."))
    run = kernel.run("Save it", answer=lambda prompt: "n")
    assert run.status == "ok", run.error
    assert "ran without asking: pre-approved in the agent's settings" in tool_line(run, "Write: r.md")


def test_a_call_someone_answered_has_no_reason_and_the_next_one_allowed_for_the_session_says_so(kernel, model, agent_dir):
    model.script(use_tool("Write", {"file_path": str(agent_dir / "a.txt"), "content": "1"}), say("a"),
                 use_tool("Write", {"file_path": str(agent_dir / "b.txt"), "content": "2"}), say("b"))
    first = kernel.run("Save a", answer=lambda prompt: "a")
    assert first.prompts == [PERMISSION_PROMPT.format(summary="Write: a.txt")]
    assert "without asking" not in tool_line(first, "Write: a.txt")
    second = kernel.run("Save b", answer=lambda prompt: "n")
    assert second.prompts == []
    assert "ran without asking: you allowed Write for this session" in tool_line(second, "Write: b.txt")


def test_allowing_once_by_keyboard_is_noted_in_the_cell(kernel, model, agent_dir):
    model.script(use_tool("Write", {"file_path": str(agent_dir / "n.txt"), "content": "ok"}), say("Done."))
    run = kernel.run("Save a note", answer=lambda prompt: "y")
    assert run.status == "ok", run.error
    assert "Allowed once: Write: n.txt" in run.text
    assert (agent_dir / "n.txt").read_text() == "ok"


def test_session_magic_shows_the_folder_from_the_home(start_kernel, agent_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # the agent's folder is tmp_path/agents/researcher
    run = start_kernel().run("%session")
    assert "Agent folder: ~/agents/researcher\n" in run.text + "\n"
    assert str(tmp_path) not in run.text


def test_a_headless_run_with_nbclient_is_never_asked_and_says_what_it_did(claude_env, model, agent_dir):
    import nbformat
    from nbclient import NotebookClient

    model.script(use_tool("Write", {"file_path": str(agent_dir / "out.txt"), "content": "x"}), say("Not written."))
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "claude", "display_name": "Claude", "language": "markdown"}
    nb.cells = [nbformat.v4.new_code_cell("Save it")]
    NotebookClient(nb, timeout=120, kernel_name="claude", resources={"metadata": {"path": str(agent_dir)}}).execute()
    text = "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in nb.cells[0].outputs)
    assert "Denied: Write: out.txt (no one to ask in this run" in text
    assert not any(o.get("name") == "stdin" for o in nb.cells[0].outputs)  # no question was put
    assert not (agent_dir / "out.txt").exists()
