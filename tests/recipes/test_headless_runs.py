"""Headless runs of a recipe: by `oh-my-agent run`, by papermill, and in-process (cancel), on the real Claude
kernel and CLI against the fake model."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import nbformat

from recipes.runner import RecipeRun
from tests.fake_model import say, stall, use_tool

from .notebooks import THREE_CELLS, code, prompts_seen, recipe, write

BIN = Path(sys.executable).parent


def run_command(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "oh-my-agent"), "run", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=240)


def test_the_command_runs_a_recipe_with_parameters_and_records_provenance(claude_env, model, tmp_path):
    path = write(tmp_path / "weekly.ipynb", recipe(*THREE_CELLS))
    model.script(say("Here is the note."), say("1. a 2. b 3. c"))
    done = run_command("weekly.ipynb", "-p", "topic=solar power", "-o", "out/run.ipynb", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cell 1 of 4" in done.stderr and "cell 4 of 4" in done.stderr  # parameters, injected, two prompts
    assert done.stdout.strip().endswith("out/run.ipynb")
    seen = prompts_seen(model)
    assert "Write a note about solar power for analysts." in seen and "three sources on solar power" in seen
    nb = nbformat.read(tmp_path / "out" / "run.ipynb", as_version=4)
    cells = code(nb)
    assert [c.metadata.get("tags") for c in cells[:2]] == [["parameters"], ["injected-parameters"]]
    assert all("oh_my_agent" in c.metadata for c in cells)
    answered = [c.metadata["oh_my_agent"] for c in cells[2:]]
    assert [a["turn"] for a in answered] == [1, 2]
    assert answered[0]["session_id"] and answered[0]["session_id"] == answered[1]["session_id"]
    assert all(a["input_tokens"] > 0 and a["status"] == "ok" for a in answered)
    run = nb.metadata["oh_my_agent"]["run"]
    assert run["parameters"] == {"topic": "solar power", "audience": "analysts"}
    assert run["status"] == "finished" and run["cells"] == run["cells_done"] == 4
    assert run["recipe"] == "weekly.ipynb" and run["recipe_version"].startswith("sha256:")
    assert run["finished_at"] >= run["started_at"]
    assert abs(run["cost_usd"] - sum(a["cost_usd"] for a in answered)) < 1e-6
    # the recipe itself is unchanged
    assert len(code(nbformat.read(path, as_version=4))) == 3


def test_each_run_is_a_fresh_session(claude_env, model, tmp_path):
    write(tmp_path / "r.ipynb", recipe("Hello {{topic}}"))
    sessions = []
    for name in ("a", "b"):
        assert run_command("r.ipynb", "-o", f"{name}.ipynb", cwd=tmp_path).returncode == 0
        sessions.append(code(nbformat.read(tmp_path / f"{name}.ipynb", as_version=4))[-1].metadata["oh_my_agent"]["session_id"])
    assert sessions[0] and sessions[0] != sessions[1]
    assert "Hello AI agents" in prompts_seen(model)


def test_papermill_injects_the_parameters_into_a_claude_notebook(claude_env, model, tmp_path):
    write(tmp_path / "weekly.ipynb", recipe(*THREE_CELLS))
    model.script(say("Note."), say("Sources."))
    done = subprocess.run([str(BIN / "papermill"), "weekly.ipynb", "out.ipynb", "-p", "topic", "wind power",
                           "-p", "audience", "engineers", "--engine", "oh-my-agent"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    seen = prompts_seen(model)
    assert "Write a note about wind power for engineers." in seen and "three sources on wind power" in seen
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert injected.source.startswith("%parameters\n# Parameters\n") and 'topic = "wind power"' in injected.source
    for cell in code(nb)[2:]:
        assert cell.metadata["oh_my_agent"]["session_id"]


def test_papermill_default_engine_keeps_provenance_in_the_outputs(claude_env, model, tmp_path):
    write(tmp_path / "r.ipynb", recipe("About {{topic}}"))
    done = subprocess.run([str(BIN / "papermill"), "r.ipynb", "out.ipynb", "-p", "topic", "tides"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "About tides" in prompts_seen(model)
    last = code(nbformat.read(tmp_path / "out.ipynb", as_version=4))[-1]
    assert any(o.get("metadata", {}).get("oh_my_agent", {}).get("session_id") for o in last.outputs)


def test_a_failed_cell_ends_the_run_with_its_error_and_the_notebook_is_written(claude_env, model, tmp_path):
    write(tmp_path / "r.ipynb", recipe("About {{topic}}", "About {{topik}}", "Never run"))
    done = run_command("r.ipynb", "-o", "out.ipynb", cwd=tmp_path)
    assert done.returncode == 1
    assert "Cell 3 of 4 failed: UnknownParameter" in done.stderr
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    failed, never = code(nb)[2], code(nb)[3]
    assert failed.outputs[-1]["output_type"] == "error" and "{{topik}}" in failed.outputs[-1]["evalue"]
    assert failed.metadata["oh_my_agent"]["status"] == "error"
    assert never.outputs == [] and "oh_my_agent" not in never.metadata
    assert nb.metadata["oh_my_agent"]["run"]["status"] == "failed"
    assert "Never run" not in prompts_seen(model)


def test_a_headless_cell_asking_for_a_denied_tool_says_so(claude_env, model, tmp_path, agent_dir):
    write(tmp_path / "r.ipynb", recipe("Save the note", parameters=None))
    model.script(use_tool("Write", {"file_path": str(agent_dir / "note.md"), "content": "x"}), say("I could not save it."))
    assert run_command("r.ipynb", "-o", "out.ipynb", cwd=tmp_path).returncode == 0
    cell = code(nbformat.read(tmp_path / "out.ipynb", as_version=4))[0]
    text = "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")
    assert "Denied: Write: note.md (no one to ask in this run" in text
    assert cell.metadata["oh_my_agent"]["denied"] == [{"name": "Write", "argument": "note.md"}]
    assert not (agent_dir / "note.md").exists()


def test_bad_parameters_are_refused_before_anything_runs(claude_env, model, tmp_path):
    write(tmp_path / "r.ipynb", recipe("About {{topic}}", parameters='%parameters\ntopic = "AI"\npages = 3'))
    unknown = run_command("r.ipynb", "-p", "topik=x", cwd=tmp_path)
    assert unknown.returncode == 2 and "'topik' is not a parameter of this recipe. Its parameters are: topic, pages" \
        in unknown.stderr
    wrong = run_command("r.ipynb", "-p", "pages=three", cwd=tmp_path)
    assert wrong.returncode == 2 and "'pages' must be a whole number" in wrong.stderr
    shape = run_command("r.ipynb", "-p", "pages", cwd=tmp_path)
    assert shape.returncode == 2 and "is not name=value" in shape.stderr
    assert model.requests == [] and not (tmp_path / "runs").exists()


def test_a_recipe_whose_agent_is_not_here_is_refused_saying_how_to_get_it(claude_env, model, tmp_path):
    write(tmp_path / "theirs.ipynb", recipe("Hello", kernel={"name": "claude-their-agent", "language": "markdown",
                                                             "display_name": "Claude · Theirs"}))
    done = run_command("theirs.ipynb", cwd=tmp_path)
    assert done.returncode == 2 and "kernel claude-their-agent is not on your server" in done.stderr
    assert "Create the agent from the recipe" in done.stderr and model.requests == []


async def test_a_run_can_be_cancelled_mid_cell_and_still_writes_its_notebook(claude_env, model, tmp_path):
    path = write(tmp_path / "r.ipynb", recipe("First", "Second, which stalls", "Third"))
    model.script(say("One."), stall("Thinking"))
    seen: list[int] = []
    run = RecipeRun(path, {}, runs_dir=tmp_path / "runs", on_progress=lambda r: seen.append(r.progress.cell)).prepare()
    task = asyncio.create_task(run.run())
    for _ in range(600):  # the stalled cell (parameters, First, then it) has started
        if 3 in seen:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    await run.cancel()
    progress = await asyncio.wait_for(task, 60)
    model.release_stalls()
    assert progress.status == "cancelled" and "during cell 3 of 4" in progress.error
    assert run.output.parent == tmp_path / "runs" and run.output.name.startswith("r-")
    nb = nbformat.read(run.output, as_version=4)
    assert nb.metadata["oh_my_agent"]["run"]["status"] == "cancelled"
    stopped, third = code(nb)[2], code(nb)[3]
    assert "Stopped" in "".join(o.get("text", "") for o in stopped.outputs)
    assert third.outputs == [] and "Third" not in prompts_seen(model)


def test_a_gallery_recipe_runs_on_when_the_gallery_cannot_count_the_run(claude_env, model, tmp_path, monkeypatch):
    import socket

    nb = recipe("Hello {{topic}}")
    nb.metadata["oh_my_agent"] = {"gallery": {"recipe": "a" * 32, "version": 2, "title": "Hello"}}
    write(tmp_path / "r.ipynb", nb)
    with socket.socket() as free:  # a port nothing listens on: the agents service is unreachable
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    monkeypatch.setenv("OMA_AGENTS_SERVICE_URL", f"http://127.0.0.1:{port}/services/agents/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "the-servers-token")
    done = run_command("r.ipynb", "-o", "run.ipynb", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"The run of recipe {'a' * 32} (version 2) was not counted" in done.stderr
    assert "the-servers-token" not in done.stderr
    assert nbformat.read(tmp_path / "run.ipynb", as_version=4).metadata["oh_my_agent"]["run"]["status"] == "finished"
    # papermill's engine of the project counts too, and goes on the same way
    done = subprocess.run([str(BIN / "papermill"), "r.ipynb", "out.ipynb", "--engine", "oh-my-agent"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert f"The run of recipe {'a' * 32} (version 2) was not counted" in done.stderr
