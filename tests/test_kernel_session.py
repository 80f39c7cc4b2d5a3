"""A notebook keeps its Claude session across kernel restarts; notebooks run headless."""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient

from tests.fake_model import say, use_tool


def test_kernel_restart_continues_the_notebooks_session(monkeypatch, start_kernel, model):
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ada/research/plan.ipynb")
    kernel = start_kernel()
    kernel.run("Remember the word walnut.")
    before = kernel.run("%session").text
    kernel.restart()
    model.script(say("Walnut."))
    run = kernel.run("Which word did I ask you to remember?")
    assert run.status == "ok", run.error
    assert "walnut" in model.seen()  # the model was shown the earlier turn
    after = kernel.run("%session").text
    session_id = before.split("Session: ")[1].split()[0]
    assert f"Session: {session_id}" in after


def test_another_notebook_gets_its_own_session(monkeypatch, start_kernel, model):
    monkeypatch.setenv("JPY_SESSION_NAME", "first.ipynb")
    first = start_kernel()
    first.run("Remember the word cashew.")
    monkeypatch.setenv("JPY_SESSION_NAME", "second.ipynb")
    second = start_kernel()
    second.run("What word?")
    assert "cashew" not in model.seen()


def test_new_after_restart_forgets_the_remembered_session(monkeypatch, start_kernel, model):
    monkeypatch.setenv("JPY_SESSION_NAME", "plan.ipynb")
    kernel = start_kernel()
    kernel.run("Remember the word pecan.")
    kernel.run("%new")
    kernel.restart()
    kernel.run("What word?")
    assert "pecan" not in model.seen()


def test_a_notebook_of_several_cells_runs_headless_with_nbclient(claude_env, model, agent_dir, settings_file):
    settings_file.write_text(json.dumps({"allowed_tools": ["Write"]}))
    model.script(
        say("Hello! I am your research agent."),
        use_tool("Write", {"file_path": str(agent_dir / "summary.md"), "content": "# Summary\n"}),
        say("I wrote summary.md."),
        say("Done for today."),
    )
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "claude", "display_name": "Claude", "language": "markdown"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in ("Introduce yourself", "Write a summary", "%session", "Wrap up")]
    NotebookClient(nb, timeout=120, kernel_name="claude", resources={"metadata": {"path": str(agent_dir)}}).execute()

    def cell_text(cell) -> str:
        parts = []
        for output in cell.outputs:
            parts.append(output.get("text", "") or output.get("data", {}).get("text/plain", ""))
        return "\n".join(parts)

    assert "Hello! I am your research agent." in cell_text(nb.cells[0])
    assert "✓ Write: summary.md" in cell_text(nb.cells[1])
    assert (agent_dir / "summary.md").exists()
    assert "Turns: 3" in cell_text(nb.cells[2])
    assert "Done for today." in cell_text(nb.cells[3])
    assert all(cell.execution_count for cell in nb.cells)


def test_session_totals_carry_over_a_restart(monkeypatch, start_kernel, model):
    monkeypatch.setenv("JPY_SESSION_NAME", "totals.ipynb")
    kernel = start_kernel()
    kernel.run("One")
    kernel.run("Two")
    kernel.restart()
    kernel.run("Three")
    assert "Turns: 3" in kernel.run("%session").text


def test_a_paused_agent_refuses_new_turns_and_says_how_to_resume(kernel, model, agent_dir, settings_file):
    settings_file.write_text(json.dumps({"name": "Analyst", "status": "paused"}))
    run = kernel.run("Hello")
    assert run.status == "error" and run.error["ename"] == "AgentPaused"
    assert "Analyst" in run.error["evalue"] and "dashboard" in run.error["evalue"]
    assert model.requests == []
    settings_file.write_text(json.dumps({"name": "Analyst", "status": "active"}))
    assert kernel.run("Hello").status == "ok"
