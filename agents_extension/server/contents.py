"""JupyterLab's file access (the Contents API), kept from following an agent's links out of its folder.

An agent can leave ``summary.md -> ~/agents/other/CLAUDE.md`` (or a link into
another person's home) in its folder; jupyter_server would open it, and save
through it, when its owner clicks it. Here a path inside an agent's folder
must stay inside that folder once its links are resolved, or it is refused
(403), and folder listings leave such links out. Enabled by the
``ServerApp.contents_manager_class`` setting this package installs.
"""

from __future__ import annotations

import errno
import os

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from tornado.web import HTTPError

from .recipe_saving import keep_recipe_metadata
from .workspace import AGENTS_FOLDER, TRASH


class LinkLeavesAgentFolder(HTTPError, PermissionError):
    """A 403 for the person; a PermissionError too, which jupyter_server's listings skip quietly."""

    def __init__(self, path: str) -> None:
        # (formatted here: jupyter_server's API errors show the message without its arguments)
        super().__init__(403, f"{path} is a link that leads out of its agent's folder. It is not opened, so that "
                              "an agent cannot make you read or overwrite files elsewhere; delete the link, or "
                              "open the file it points to where it is.")
        self.errno = errno.EACCES


class AgentFilesManager(AsyncLargeFileManager):
    """jupyter_server's default contents manager, refusing links that lead out of an agent's folder,
    and keeping a notebook's agent definition and cells' provenance on save (recipe_saving.py)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.register_pre_save_hook(keep_recipe_metadata)

    def _get_os_path(self, path: str) -> str:
        """Extends FileManagerMixin._get_os_path (used for every read, save, rename, delete and
        checkpoint) with the check that a path in an agent's folder resolves inside it."""
        os_path = super()._get_os_path(path)
        agents = os.path.join(os.path.abspath(self.root_dir), AGENTS_FOLDER)
        inside = os.path.relpath(os_path, agents)
        if inside == "." or inside.startswith(".."):
            return os_path
        parts = inside.split(os.sep)
        depth = 2 if parts[0] == TRASH else 1  # a trashed agent's folder is .trash/<slug>-<time>
        if len(parts) <= depth:
            return os_path  # the agent's folder itself, which the server keeps a real folder
        folder = os.path.realpath(os.path.join(agents, *parts[:depth]))
        if not os.path.realpath(os_path).startswith(folder + os.sep):
            raise LinkLeavesAgentFolder(path)
        return os_path
