"""The JupyterLab extension as installed: what it replaces, its words in both languages, and the
settings that spare people JupyterLab's developer questions. (Its behaviour in a browser:
tests/hub/test_lab_browser.py.)"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "lab_extension" / "src"
INSTALLED = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "oh-my-agent-lab"


def test_every_word_the_extension_shows_has_its_korean():
    text = (SOURCES / "text.ts").read_text(encoding="utf-8")
    table = text[text.index("const KOREAN"):text.index("};")]
    korean = set(re.findall(r"^\s*'([^']+)':", table, re.M)) | set(re.findall(r"^\s*(\w+):", table, re.M))
    shown = set()
    for source in SOURCES.glob("*.ts"):
        shown |= set(re.findall(r"\bt\(\s*'([^']+)'", source.read_text(encoding="utf-8")))
    assert shown, "no t('...') calls found: the pattern of this test is out of date"
    assert shown - korean == set()


def test_the_installed_extension_replaces_exactly_the_two_plugins_it_provides_again():
    built = json.loads((INSTALLED / "package.json").read_text(encoding="utf-8"))
    assert built["name"] == "oh-my-agent-lab"
    assert sorted(built["jupyterlab"]["disabledExtensions"]) == [
        "@jupyterlab/apputils-extension:resolver", "@jupyterlab/notebook-extension:factory"]
    assert (INSTALLED / "static" / "style.js").is_file()
    assert list((INSTALLED / "static").glob("remoteEntry.*.js"))


def test_jupyterlab_asks_nobody_about_its_news_or_updates():
    overrides = json.loads((ROOT / "jupyterlab-settings" / "oh-my-agent.json").read_text(encoding="utf-8"))
    assert overrides["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false", "checkForUpdates": False}
    installed = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / "oh-my-agent.json"
    assert json.loads(installed.read_text(encoding="utf-8")) == overrides
