"""``python -m agents_extension.server --help-all`` lists the user-server extension's settings, each with its
environment variable and default. (In a person's server the extension is loaded by jupyter_server, which the
hub starts: agents_extension/user_server.py.)"""

from .extension import AgentsExtension

AgentsExtension.launch_instance()
