"""The agents service: the hub-side owner of the store, run by JupyterHub as a managed service."""
