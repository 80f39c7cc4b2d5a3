"""How tool calls, results, footers and magics look in a cell."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from claude_kernel.events import Notice, Retrying, Text, TextEnded, ToolFinished, ToolStarted, TurnUsage
from claude_kernel.magics import UnknownMagic, parse_cell
from claude_kernel.render import CellOutput, footer, result_preview, retry_line, tool_bundle, tool_summary


@pytest.mark.parametrize(
    ("name", "tool_input", "line"),
    [
        ("Bash", {"command": "ls -la", "description": "list"}, "Bash: ls -la"),
        ("Write", {"file_path": "/agents/r/report.md", "content": "x"}, "Write: report.md"),
        ("Read", {"file_path": "/etc/hosts"}, "Read: /etc/hosts"),
        ("Edit", {"file_path": "/agents/r/sub/a.py", "old_string": "a", "new_string": "b"}, "Edit: sub/a.py"),
        ("Grep", {"pattern": "TODO", "path": "."}, "Grep: TODO"),
        ("WebFetch", {"url": "https://example.org", "prompt": "summarise"}, "WebFetch: https://example.org"),
        ("mcp__x__lookup", {"term": "kimchi"}, "mcp__x__lookup: kimchi"),
        ("TodoWrite", {"todos": []}, "TodoWrite"),
        ("Bash", {"command": "echo " + "x" * 200}, "Bash: echo " + "x" * 94 + "…"),
        ("Bash", {"command": "cd data &&\n  ls"}, "Bash: cd data && ls"),
    ],
)
def test_a_tool_call_is_one_line_with_its_key_argument(name, tool_input, line):
    assert tool_summary(name, tool_input, Path("/agents/r")) == line


def test_long_results_are_cut_to_a_preview():
    preview = result_preview("\n".join(f"line {i}" for i in range(40)))
    assert preview.splitlines()[:2] == ["line 0", "line 1"]
    assert preview.endswith("… 28 more lines")


def test_result_blocks_are_read_as_text():
    assert result_preview([{"type": "text", "text": "hello"}, {"type": "image"}]) == "hello\n[image]"


def test_a_finished_tool_folds_its_result_in_html():
    bundle = tool_bundle("Bash: ls", "✓", "a <b>")
    assert bundle["text/html"].startswith("<details")
    assert "a &lt;b&gt;" in bundle["text/html"]
    assert bundle["text/plain"] == "✓ Bash: ls\n  a <b>"


def test_footer_reads_like_a_receipt():
    assert footer(3, 1234, 56, 0.01234, 2.04) == "3 turns · 1,234 in / 56 out tokens · $0.0123 · 2.0 s"
    assert footer(1, 1, 1, 0, 0.5).startswith("1 turn ·")


def test_magics_at_the_top_then_the_prompt():
    cell = parse_cell("%model claude-haiku-4-5\n\n%session\nSummarise %this please")
    assert cell.magics == [("model", "claude-haiku-4-5"), ("session", "")]
    assert cell.prompt == "Summarise %this please"


def test_unknown_magic_lists_the_known_ones():
    with pytest.raises(UnknownMagic, match="%new, %model, %session, %help"):
        parse_cell("%resume")


def test_a_turns_events_render_as_streamed_text_tool_lines_notes_and_a_receipt():
    sent: list[tuple[str, dict]] = []
    out = CellOutput(lambda msg_type, content: sent.append((msg_type, content)), Path("/agents/r"))
    for event in (Notice("The earlier conversation could not be found."),
                  Retrying(attempt=1, status=529, delay_seconds=0.6),
                  ToolStarted("toolu_1", "Write", MappingProxyType({"file_path": "/agents/r/report.md"})),
                  ToolFinished("toolu_1", "File created", is_error=False),
                  Text("Saved "), Text("report.md."), TextEnded()):
        out.show(event)
    out.receipt(TurnUsage("s1", 2, 24, 14, 0.000376, 1.2), seconds=1.5)
    shown: dict[str, str] = {}
    for msg_type, content in sent:
        key = content.get("transient", {}).get("display_id") or f"{msg_type}-{len(shown)}"
        shown[key] = content["text"] if msg_type == "stream" else content["data"]["text/plain"]
    assert list(shown.values()) == [
        "The earlier conversation could not be found.\n",
        "",  # the retry notice, cleared when the tool started
        "✓ Write: report.md\n  File created",
        "Saved report.md.",
        "2 turns · 24 in / 14 out tokens · $0.0004 · 1.5 s",
    ]


def test_a_retry_reads_as_what_happens_next():
    assert retry_line(Retrying(attempt=2, status=529, delay_seconds=1.25)) == (
        "The model API answered HTTP 529; retrying in 1.2 s (attempt 2)…")
    assert retry_line(Retrying(attempt=None, status=None, delay_seconds=0)) == (
        "The model API answered HTTP ?; retrying in 0.0 s (attempt ?)…")
