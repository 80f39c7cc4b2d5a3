"""The README's settings tables say what the traits say (scripts/settings_tables.py renders them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SCRIPT = PROJECT / "scripts" / "settings_tables.py"


def check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--check", *args], capture_output=True, text=True, timeout=120)


def test_the_readme_tables_are_the_traits():
    done = check()
    assert done.returncode == 0, done.stderr


def test_a_readme_whose_default_differs_from_the_trait_fails_the_check(tmp_path):
    readme = tmp_path / "README.md"
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    row = "| `OMA_MAIL_INTERVAL_SECONDS` | `OutboxSender.interval` | `10` |"
    assert row in text
    readme.write_text(text.replace(row, row.replace("`10`", "`30`")), encoding="utf-8")
    done = check("--readme", str(readme))
    assert done.returncode == 1
    assert "differ from the traits (e-mail)" in done.stderr
