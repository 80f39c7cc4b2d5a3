"""oh-my-agent's hub configuration on Zero to JupyterHub.

z2jh's jupyterhub_config.py configures the hub for the cluster, then runs the
.py files of /usr/local/etc/jupyterhub/jupyterhub_config.d, where the chart
mounts this one; ``c`` is z2jh's configuration object. hub_config (installed in
the hub image) adds the platform: Google sign-in, the beta gate, the agents
service and KubeSpawner set up for GKE Autopilot, from the settings the chart
mounts in SETTINGS_DIR.
"""

from hub_config.kubernetes import configure_on_z2jh

SETTINGS_DIR = "/usr/local/etc/jupyterhub/oh-my-agent"

configure_on_z2jh(c, SETTINGS_DIR)  # noqa: F821 (c is defined by z2jh's jupyterhub_config.py)
