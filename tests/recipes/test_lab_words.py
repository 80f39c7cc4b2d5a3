"""The recipe words of the JupyterLab extension (lab_extension/src/recipe_agent.ts) all have their Korean
(in text.ts, with the extension's other words), and the File menu entry names the command the extension
registers. (Their behaviour: tests/hub/test_lab_browser.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

LAB = Path(__file__).resolve().parents[2] / "lab_extension"


def test_every_recipe_word_in_jupyterlab_has_its_korean():
    text = (LAB / "src" / "text.ts").read_text(encoding="utf-8")
    table = text[text.index("const KOREAN"):text.index("};")]
    korean = set(re.findall(r"^\s*'([^']+)':", table, re.M)) | set(re.findall(r"^\s*(\w+):", table, re.M))
    shown = set(re.findall(r"\bt\(\s*'([^']+)'", (LAB / "src" / "recipe_agent.ts").read_text(encoding="utf-8")))
    assert shown, "no t('...') calls found: the pattern of this test is out of date"
    assert shown - korean == set()
    everywhere = set()
    for source in (LAB / "src").glob("*.ts"):
        everywhere |= set(re.findall(r"\bt\(\s*'([^']+)'", source.read_text(encoding="utf-8")))
    assert korean - everywhere == set()  # nothing kept that is no longer shown


def test_the_file_menu_entry_is_the_share_command():
    schema = json.loads((LAB / "schema" / "share-recipe.json").read_text(encoding="utf-8"))
    [file_menu] = [menu for menu in schema["jupyter.lab.menus"]["main"] if menu["id"] == "jp-mainmenu-file"]
    commands = [item["command"] for item in file_menu["items"] if "command" in item]
    source = (LAB / "src" / "recipe_agent.ts").read_text(encoding="utf-8")
    assert commands == ["oh-my-agent:share-recipe"] and "'oh-my-agent:share-recipe'" in source
    assert "id: 'oh-my-agent-lab:share-recipe'" in source  # the schema's file name is the plugin's id
