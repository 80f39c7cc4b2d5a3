"""Puts "My agents" in JupyterLab's File menu, so the dashboard is one click away.

JupyterLab lets menus be extended through its settings; the item opens the
dashboard through JupyterHub's /hub/user-redirect/, which works whatever page
of JupyterLab the person is on. The person's own menu settings are never
overwritten: the item is added only when they have none.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger("oh-my-agent.agents")
MENU_SETTINGS = Path("@jupyterlab") / "mainmenu-extension" / "plugin.jupyterlab-settings"


def menu_settings(hub_prefix: str) -> dict:
    return {"menus": [{"id": "jp-mainmenu-file", "items": [
        {"type": "separator", "rank": 0.5},
        {"command": "help:open", "rank": 0.6,
         "args": {"url": f"{hub_prefix}user-redirect/agents", "text": "My agents · 내 에이전트", "newBrowserTab": True}},
    ]}]}


def add_dashboard_to_menu(user_settings_dir: Path, hub_prefix: str) -> None:
    path = user_settings_dir / MENU_SETTINGS
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(menu_settings(hub_prefix), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as err:
        log.warning("Could not add the agents dashboard to JupyterLab's menu: %s", err)
