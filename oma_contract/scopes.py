"""The JupyterHub scopes the platform's components agree on."""

# The scope that makes a credential an admin's in the agents service. Only JupyterHub's admin
# role holds it; the service's OAuth client may ask for it (hub_config/platform.py), so admins'
# browser sign-ins carry it, and their personal tokens inherit it, but a user server's token
# (role "server") never does.
ADMIN_SCOPE = "admin-ui"
