"""How tool calls, results, footers and magics look in a cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from claude_kernel.magics import UnknownMagic, parse_cell
from claude_kernel.render import footer, result_preview, tool_bundle, tool_summary


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
