"""A Claude cell speaks the person's language: the one their server last served JupyterLab in
(agents_extension/server/lab_language.py keeps it in the Jupyter runtime folder), read at each cell."""

from __future__ import annotations

from pathlib import Path

from claude_kernel.failures import AgentPaused, api_error, failure
from claude_kernel.render import footer
from claude_kernel.words import Words
from oma_contract.languages import PERSON_LANGUAGE_FILE
from tests.fake_model import say, use_tool


def test_the_words_of_a_cell_in_korean_and_english():
    korean = Words("ko")
    assert footer(2, 1200, 14, 0.00042, 1.5, say=korean) == "2턴 · 토큰 입력 1,200 / 출력 14 · $0.0004 · 1.5 s"
    assert footer(1, 1, 1, 0, 1.0) == "1 turn · 1 in / 1 out tokens · $0.00 · 1.0 s"
    paused = failure(AgentPaused("Writer"))
    assert "Writer" in paused.worded(korean) and "준비됨" in paused.worded(korean)
    assert str(paused).startswith("The agent \u201cWriter\u201d is paused") and "Set it to Ready" in str(paused)
    limited = api_error(429)
    assert "HTTP 429" in limited.worded(korean) and "1분" in limited.worded(korean)
    # another's words (an exception's message) are shown as they are, braces and all
    assert failure(RuntimeError("bad {json}")).worded(korean) == "bad {json}"


def test_a_cell_follows_the_persons_language_from_cell_to_cell(start_kernel, model, agent_dir, tmp_path, monkeypatch):
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))  # the server's and its kernels' (connection files too)
    language = Path(runtime, PERSON_LANGUAGE_FILE)
    language.write_text("ko")
    kernel = start_kernel()
    model.script(use_tool("Write", {"file_path": str(agent_dir / "a.txt"), "content": "1"}), say("저장했어요."))
    run = kernel.run("Save a", answer=lambda prompt: "a")
    assert run.status == "ok", run.error
    assert "이 세션 동안 허용: Write" in run.text and "2턴 · 토큰 입력 " in run.text, run.text
    assert "Allowed" not in run.text and " turn" not in run.text
    assert "세션: " in kernel.run("%session").text

    language.write_text("en")  # the person switched (JupyterLab loaded again in English)
    model.script(say("Saved."))
    assert "1 turn · " in kernel.run("Again").text  # one model turn: no tool this time
    language.write_text("xx")  # a value that names no language of ours: English
    assert "Model: " in kernel.run("%model").text
