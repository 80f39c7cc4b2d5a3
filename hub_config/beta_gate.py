"""Only approved people (members of the beta group) and admins get a server.

This runs in the hub before every spawn, whichever route asked for it (the
home page, /hub/spawn, the REST API with the person's own token), so hiding a
button is never the only thing that stops an unapproved person.
"""

from __future__ import annotations

from tornado import web


def may_start_server(user, beta_group: str) -> bool:
    """The one rule, for the gate and for the pages that offer a server or the beta application."""
    return user is not None and (bool(user.admin) or any(group.name == beta_group for group in user.groups))


class BetaRefused(web.HTTPError):
    """A spawn refused because the person is not approved for the beta.

    JupyterHub shows a failed spawn as "Failed to start your server ... contact
    admin" (its reason "error" replaces the message); ``jupyterhub_message`` is
    what it shows instead, and ``beta_refusal`` tells the hub's error page
    (hub_config/templates/error.html) to show where to apply."""

    beta_refusal = True

    def __init__(self, apply_url: str) -> None:
        message = (f"Your account is not approved for the beta yet, so no server can be started. "
                   f"Apply (or see your application) at {apply_url}")
        super().__init__(403, message)
        self.jupyterhub_message = message


def beta_gate(beta_group: str, apply_url: str):
    """A Spawner.pre_spawn_hook refusing people outside ``beta_group``."""

    def pre_spawn_hook(spawner) -> None:
        if may_start_server(spawner.user, beta_group):
            return
        spawner.log.info("Refused a server to %s: not approved for the beta", spawner.user.name)
        raise BetaRefused(apply_url)

    return pre_spawn_hook
