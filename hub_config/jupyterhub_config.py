# The one JupyterHub configuration of oh-my-agent, for both modes.
# Everything is chosen by environment variables: see hub_config/settings.py
# and the README's settings table.
from hub_config.platform import configure

configure(get_config())  # noqa: F821 (get_config is provided by JupyterHub)
