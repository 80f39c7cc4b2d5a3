"""The agents extension as a jupyter_server ExtensionApp: its settings and what it adds to a server.

Installed, it is enabled by jupyter-config/jupyter_server_config.d/agents_extension.json
(shipped in the wheel). Under the platform's hub it forwards ``/api/agents`` to
the agents service with this server's token, serves the ``/agents`` dashboard,
and keeps one folder and kernelspec per agent. Its settings are traits whose
defaults come from the variables the hub gives every user server;
``c.AgentsExtension.<setting>`` in a server's config wins over them.
"""

from __future__ import annotations

import signal
from pathlib import Path

import jinja2
from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import IOLoop
from traitlets import Unicode, default

from oma_contract.environment import DocumentedEnvironment, from_environment

from .app import HERE, AgentsService, reconcile_at_start, routes
from .lab_language import language_routes
from .workspace import AGENTS_FOLDER, Workspace


class AgentsExtension(DocumentedEnvironment, ExtensionApp):
    """The agents API, dashboard and agent folders of a person's Jupyter server."""

    name = "agents_extension"
    description = "oh-my-agent's agents in a person's Jupyter server."
    load_other_extensions = True

    service_url = Unicode(
        config=True,
        help="Where the server reaches the agents service (the hub sets it in every user server). "
        "Empty: agents are not available (a server not started by the platform's hub).",
    ).tag(env="OMA_AGENTS_SERVICE_URL")

    @default("service_url")
    def _service_url_default(self):
        return from_environment(self, "service_url", "")

    hub_api_token = Unicode(
        config=True,
        help="This server's JupyterHub token, with which it calls the agents service for its owner "
        "(the hub sets it). Never logged.",
    ).tag(env="JUPYTERHUB_API_TOKEN")

    @default("hub_api_token")
    def _hub_api_token_default(self):
        return from_environment(self, "hub_api_token", "")

    hub_prefix = Unicode(
        config=True,
        help="The hub's URL path, for the dashboard's link home (the hub sets it).",
    ).tag(env="JUPYTERHUB_BASE_URL")

    @default("hub_prefix")
    def _hub_prefix_default(self):
        return from_environment(self, "hub_prefix", "/")

    @property
    def under_the_hub(self) -> bool:
        return bool(self.service_url and self.hub_api_token)

    def initialize_settings(self) -> None:
        if self.hub_api_token:
            self._stop_on_sigint()
        if not self.under_the_hub:
            self.log.warning("agents extension: %s or %s unset; agents are not available (this server does not "
                             "run under the platform's hub)", self.class_traits()["service_url"].metadata["env"],
                             self.class_traits()["hub_api_token"].metadata["env"])
            return
        root = Path(self.serverapp.root_dir).expanduser()
        data = Path(jupyter_data_dir())
        self.workspace = Workspace(root / AGENTS_FOLDER, data / "kernels", data / "oh-my-agent" / "agents")
        self.service = AgentsService(self.service_url, self.hub_api_token)
        self.settings.update(
            oma_agents_service=self.service, oma_workspace=self.workspace,
            oma_hub_home=self.hub_prefix + "hub/home",
            oma_templates=jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True),
        )
        IOLoop.current().add_callback(reconcile_at_start, self.service, self.workspace)  # once the loop runs
        self.log.info("agents extension: agents in %s, service at %s", self.workspace.root, self.service_url)

    def initialize_handlers(self) -> None:
        self.handlers.extend(language_routes())  # JupyterLab in the person's language, hub or not
        if self.under_the_hub:
            self.handlers.extend(routes())

    def _stop_on_sigint(self) -> None:
        """Under the hub, SIGINT stops the server as SIGTERM does, whatever was inherited.

        The hub stops a server with SIGINT first. jupyter_server handles SIGINT only
        when its stdin is a terminal (and then asks for confirmation), so a server
        whose hub runs as a script's background job (SIGINT ignored) or in a
        terminal would wait out the hub's interrupt_timeout instead of stopping.
        """
        signal.signal(signal.SIGINT, self.serverapp._signal_stop)
